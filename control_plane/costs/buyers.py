"""``DbBuyerDirectory``: the Marketplace ``BuyerDirectory`` (tenant <-> buyer links) in the control-plane database."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from control_plane.audit.service import SYSTEM, Actor
from control_plane.audit.service import record as audit_record
from control_plane.costs.models import MarketplaceBuyer
from control_plane.db import Database, DbScope, utcnow
from lakehouse.marketplace.interfaces import Buyer, BuyerAlreadyLinked


def identity_key(
    product_code: str,
    customer_aws_account_id: str | None,
    license_arn: str | None,
    customer_identifier: str | None,
) -> str:
    """The buyer identity Marketplace meters by, as one key (unique across tenants)."""
    text = json.dumps([product_code, customer_aws_account_id, license_arn, customer_identifier])
    return hashlib.sha256(text.encode()).hexdigest()


def _buyer(row: MarketplaceBuyer) -> Buyer:
    return Buyer(
        tenant_id=row.tenant_id,
        product_code=row.product_code,
        customer_aws_account_id=row.customer_aws_account_id,
        license_arn=row.license_arn,
        customer_identifier=row.customer_identifier,
        agreement_id=row.agreement_id,
        currency_code=row.currency_code,
        rate_card=dict(row.rate_card),
        linked_at=row.linked_at,
    )


class DbBuyerDirectory:
    """Buyer links; by default in the platform scope (metering bills across tenants).

    ``actor`` and ``request_id`` go into the audit entry of a new link: the API passes its caller and request
    id; jobs without a caller (metering) are ``system``.
    """

    def __init__(
        self,
        db: Database,
        scope: DbScope | None = None,
        *,
        actor: Actor = SYSTEM,
        request_id: str | None = None,
    ) -> None:
        self.db = db
        self.scope = scope or DbScope.for_platform()
        self.actor = actor
        self.request_id = request_id

    def buyer_for(self, tenant_id: str) -> Buyer | None:
        with self.db.session(self.scope) as session:
            row = session.execute(
                select(MarketplaceBuyer)
                .where(MarketplaceBuyer.tenant_id == tenant_id)
                .order_by(MarketplaceBuyer.linked_at.desc())
                .limit(1)
            ).scalar_one_or_none()
            return _buyer(row) if row is not None else None

    def find(
        self,
        product_code: str,
        customer_aws_account_id: str | None,
        license_arn: str | None,
        customer_identifier: str | None,
    ) -> Buyer | None:
        with self.db.session(self.scope) as session:
            row = session.get(
                MarketplaceBuyer,
                identity_key(product_code, customer_aws_account_id, license_arn, customer_identifier),
            )
            return _buyer(row) if row is not None else None

    def link(self, buyer: Buyer) -> Buyer:
        """Store the link (the same buyer and tenant again returns it; another tenant raises BuyerAlreadyLinked)."""
        key = identity_key(*buyer.identity)
        who = buyer.customer_aws_account_id or buyer.customer_identifier
        taken = BuyerAlreadyLinked(
            f"Marketplace buyer {who} of product {buyer.product_code} is already linked to "
            "another tenant; nothing was changed"
        )
        with self.db.session(self.scope, write=True) as session:
            existing = session.get(MarketplaceBuyer, key)
            if existing is not None:
                if existing.tenant_id != buyer.tenant_id:
                    raise taken
                return _buyer(existing)
            row = MarketplaceBuyer(
                identity_key=key,
                tenant_id=buyer.tenant_id,
                product_code=buyer.product_code,
                customer_aws_account_id=buyer.customer_aws_account_id,
                license_arn=buyer.license_arn,
                customer_identifier=buyer.customer_identifier,
                agreement_id=buyer.agreement_id,
                currency_code=buyer.currency_code,
                rate_card=dict(buyer.rate_card),
                linked_at=(buyer.linked_at or utcnow()).astimezone(UTC)
                if isinstance(buyer.linked_at, datetime)
                else utcnow(),
            )
            session.add(row)
            try:
                session.flush()
            except IntegrityError:  # linked meanwhile, or to a tenant this scope cannot see
                session.rollback()
                raise taken from None
            audit_record(
                session,
                actor=self.actor,
                action="marketplace.buyer_link",
                tenant_id=buyer.tenant_id,
                resource=f"tenant/{buyer.tenant_id}/marketplace-buyer/{key[:16]}",
                reason=f"ResolveCustomer: product {buyer.product_code}",
                request_id=self.request_id,
                after={
                    "product_code": buyer.product_code,
                    "account": buyer.customer_aws_account_id,
                    "license_arn": buyer.license_arn,
                    "agreement_id": buyer.agreement_id,
                },
            )
            session.commit()
            return _buyer(row)
