"""Catalog API state: entities (SaaS products, offers, resale authorizations) and change sets.

Rules enforced (from the StartChangeSet documentation and the seller guide):
- a change set holds 1-20 changes; the same change type can't target the same entity twice in one change set;
- while a change set runs, every existing entity it targets is locked: another StartChangeSet touching one of
  them fails with ``ResourceInUseException`` until the first one is SUCCEEDED, FAILED or CANCELLED;
- status moves PREPARING -> APPLYING -> SUCCEEDED, or PREPARING -> FAILED (with each failing change's
  ``ErrorDetailList``) or PREPARING -> CANCELLED (``CancelChangeSet`` only while PREPARING);
- ``Intent=VALIDATE`` runs every check and changes nothing; ``APPLY`` commits all changes or none;
- a repeated ``ClientRequestToken`` with the same request returns the original change set (idempotent); with a
  different request it is refused;
- changes may reference entities created earlier in the same change set as ``$ChangeName.Entity.Identifier``.
Change-level checks (dimension keys, units and types, rate cards naming existing metered dimensions, releasing an
offer only with pricing and legal terms, ...) are the sandbox's reading of the seller guide; see docs/marketplace.md.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sandboxes._http import ApiError
from sandboxes.marketplace.state import (
    MARKETPLACE_CATALOG,
    REGION,
    iso_z,
    page_token,
    read_page_token,
)

if TYPE_CHECKING:
    from sandboxes.marketplace.state import SandboxState

ENTITY_TYPES = {"SaaSProduct": "1.0", "Offer": "1.0", "ResaleAuthorization": "1.0"}
DIMENSION_TYPES = ("Metered", "Entitled", "ExternallyMetered")
DIMENSION_UNITS = ("Units", "Hrs", "Requests", "Users", "Hosts", "GB", "MB", "TB", "Gbps", "Mbps", "Tiers")
PRICING_MODELS = ("Usage", "Contract", "Free", "Byol")
LEGAL_DOCUMENT_TYPES = ("StandardEula", "CustomEula", "StandardDsa", "CustomDsa", "EnterpriseEula")
_DIMENSION_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_PRICE = re.compile(r"^(0|[1-9][0-9]{0,9})(\.[0-9]{1,6})?$")
_ACCOUNT = re.compile(r"^[0-9]{12}$")
_REF = re.compile(r"^\$([A-Za-z]+)\.Entity\.Identifier$")
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


def _validation(message: str, field_name: str | None = None) -> ApiError:
    fields = (
        [{"Reason": "FieldValidationFailed", "Field": field_name, "Message": message}] if field_name else []
    )
    return ApiError(
        "ValidationException", message, 422, **({"ValidationExceptionFieldList": fields} if fields else {})
    )


@dataclass
class Entity:
    """One catalog entity and its current details document."""

    entity_id: str
    entity_type: str
    owner: str
    details: dict[str, Any]
    last_modified: datetime
    visibility: str | None = None
    product_code: str | None = None
    legacy_metering: bool = False
    revision: int = 1

    @property
    def arn(self) -> str:
        return f"arn:aws:aws-marketplace:{REGION}:{self.owner}:{MARKETPLACE_CATALOG}/{self.entity_type}/{self.entity_id}"

    @property
    def name(self) -> str | None:
        if self.entity_type == "SaaSProduct":
            return (self.details.get("Description") or {}).get("ProductTitle")
        return self.details.get("Name")


@dataclass
class ChangeSet:
    """A started change set; ``outcome`` is computed at start and committed when it succeeds."""

    change_set_id: str
    owner: str
    name: str | None
    intent: str
    changes: list[dict[str, Any]]
    token: str | None
    digest: str
    start_time: datetime
    started_mono: float
    locked: list[str]
    errors: dict[int, list[dict[str, str]]]
    working: dict[str, Entity]
    resolved: list[str | None]
    status: str = "PREPARING"
    seen: set[str] = field(default_factory=set)
    end_time: datetime | None = None
    failure_code: str | None = None
    failure_description: str | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:aws-marketplace:{REGION}:{self.owner}:{MARKETPLACE_CATALOG}/ChangeSet/{self.change_set_id}"


class Catalog:
    """Entities and change sets of every seller."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.entities: dict[str, Entity] = {}
        self.change_sets: dict[str, ChangeSet] = {}
        self.locks: dict[str, str] = {}  # entity id -> change set id
        self.tokens: dict[tuple[str, str], str] = {}  # (owner, token) -> change set id
        self.preparing_s = 0.05
        self.applying_s = 0.05
        # tests of the status sequence: a status is held until a DescribeChangeSet has reported it once
        self.hold_until_seen = False

    def entity(self, entity_id: str) -> Entity | None:
        return self.entities.get(entity_id.split("@", 1)[0])

    # ------------------------------------------------------------------------------------------- reads

    def _owned(self, owner: str, entity_id: str) -> Entity | None:
        entity = self.entity(entity_id)
        return entity if entity is not None and entity.owner == owner else None

    @staticmethod
    def _check_catalog(params: dict[str, Any]) -> None:
        if params.get("Catalog") != MARKETPLACE_CATALOG:
            raise ApiError(
                "ResourceNotFoundException", f"Catalog {params.get('Catalog')!r} was not found", 404
            )

    def list_entities(self, owner: str, params: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(params)
        entity_type = params["EntityType"]
        if entity_type not in ENTITY_TYPES:
            raise _validation(f"Entity type {entity_type} is not supported", "EntityType")
        if params.get("OwnershipType", "SELF") == "SHARED":
            return {"EntitySummaryList": []}
        wanted_ids: set[str] | None = None
        wanted_products: set[str] | None = None
        after: str | None = None
        for item in params.get("FilterList") or []:
            if item.get("Name") == "EntityId":
                wanted_ids = set(item.get("ValueList") or [])
            else:
                raise _validation(f"Filter {item.get('Name')} is not supported", "FilterList")
        typed = params.get("EntityTypeFilters") or {}
        for key, filters in typed.items():
            if key != f"{entity_type}Filters":
                raise _validation(f"{key} does not apply to entity type {entity_type}", "EntityTypeFilters")
            for name, spec in filters.items():
                if name == "EntityId":
                    wanted_ids = set(spec.get("ValueList") or [])
                elif name == "ProductId":
                    wanted_products = set(spec.get("ValueList") or [])
                elif name == "LastModifiedDate":
                    after = (spec.get("DateRange") or {}).get("AfterValue")
                else:
                    raise _validation(
                        f"Filter {key}.{name} is not supported by the sandbox", "EntityTypeFilters"
                    )
        rows = sorted(
            (
                e
                for e in self.entities.values()
                if e.owner == owner
                and e.entity_type == entity_type
                and (wanted_ids is None or e.entity_id in wanted_ids)
                and (wanted_products is None or e.details.get("ProductId") in wanted_products)
                and (after is None or iso_z(e.last_modified) >= after)
            ),
            key=lambda e: (e.last_modified, e.entity_id),
        )
        salt = json.dumps(
            [owner, entity_type, sorted(wanted_ids or []), sorted(wanted_products or []), after]
        )
        offset = read_page_token(params.get("NextToken"), salt, lambda m: _validation(m, "NextToken"))
        size = params.get("MaxResults") or 20
        page = rows[offset : offset + size]
        out: dict[str, Any] = {"EntitySummaryList": [self._summary(e) for e in page]}
        if offset + size < len(rows):
            out["NextToken"] = page_token(offset + size, salt)
        return out

    def _summary(self, e: Entity) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "EntityType": e.entity_type,
            "EntityId": e.entity_id,
            "EntityArn": e.arn,
            "LastModifiedDate": iso_z(e.last_modified),
        }
        if e.name:
            summary["Name"] = e.name
        if e.entity_type == "SaaSProduct":
            summary["Visibility"] = e.visibility or "Draft"
            summary["SaaSProductSummary"] = {
                k: v for k, v in {"ProductTitle": e.name, "Visibility": e.visibility or "Draft"}.items() if v
            }
        elif e.entity_type == "Offer":
            d = e.details
            summary["OfferSummary"] = {
                k: v
                for k, v in {
                    "Name": d.get("Name"),
                    "ProductId": d.get("ProductId"),
                    "State": d.get("State"),
                    "ReleaseDate": d.get("ReleaseDate"),
                    "AvailabilityEndDate": d.get("AvailabilityEndDate"),
                    "Targeting": ["BuyerAccounts"]
                    if (d.get("Targeting") or {}).get("BuyerAccounts")
                    else ["None"],
                }.items()
                if v
            }
        elif e.entity_type == "ResaleAuthorization":
            d = e.details
            summary["ResaleAuthorizationSummary"] = {
                k: v
                for k, v in {
                    "Name": d.get("Name"),
                    "ProductId": d.get("ProductId"),
                    "ProductName": d.get("ProductName"),
                    "ManufacturerAccountId": e.owner,
                    "ResellerAccountID": d.get("ResellerAccountId"),
                    "Status": d.get("Status"),
                    "CreatedDate": d.get("CreatedDate"),
                    "AvailabilityEndDate": d.get("AvailabilityEndDate"),
                }.items()
                if v
            }
        return summary

    def _detail(self, e: Entity) -> dict[str, Any]:
        return {
            "EntityType": e.entity_type,
            "EntityArn": e.arn,
            "EntityIdentifier": f"{e.entity_id}@{e.revision}",
            "LastModifiedDate": iso_z(e.last_modified),
            "DetailsDocument": copy.deepcopy(e.details),
        }

    def batch_describe(self, owner: str, params: dict[str, Any]) -> dict[str, Any]:
        details: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for request in params["EntityRequestList"]:
            entity_id = request["EntityId"]
            entity = self._owned(owner, entity_id) if request.get("Catalog") == MARKETPLACE_CATALOG else None
            if entity is None:
                errors[entity_id] = {
                    "ErrorCode": "ResourceNotFoundException",
                    "ErrorMessage": f"Entity {entity_id} was not found in catalog {request.get('Catalog')}",
                }
            else:
                details[entity_id] = self._detail(entity)
        return {"EntityDetails": details, "Errors": errors}

    def describe_entity(self, owner: str, params: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(params)
        entity = self._owned(owner, params["EntityId"])
        if entity is None:
            raise ApiError("ResourceNotFoundException", f"Entity {params['EntityId']} was not found", 404)
        detail = self._detail(entity)
        text = json.dumps(entity.details, separators=(",", ":"))
        out = {
            "EntityType": detail["EntityType"],
            "EntityIdentifier": detail["EntityIdentifier"],
            "EntityArn": entity.arn,
            "LastModifiedDate": detail["LastModifiedDate"],
            "DetailsDocument": detail["DetailsDocument"],
        }
        if len(text) <= 16384:
            out["Details"] = text
        return out

    # ------------------------------------------------------------------------------------------- change sets

    def start(self, owner: str, params: dict[str, Any]) -> dict[str, Any]:
        """StartChangeSet: synchronous checks, locks, and the evaluated outcome; the status then moves on."""
        self._check_catalog(params)
        self.refresh()
        changes = params["ChangeSet"]
        intent = params.get("Intent", "APPLY")
        digest = hashlib.sha256(
            json.dumps(
                {k: v for k, v in params.items() if k != "ClientRequestToken"}, sort_keys=True, default=str
            ).encode()
        ).hexdigest()
        token = params.get("ClientRequestToken")
        if token is not None:
            existing = self.tokens.get((owner, token))
            if existing is not None:
                cs = self.change_sets[existing]
                if cs.digest != digest:
                    raise _validation(
                        f"ClientRequestToken {token} was already used with a different request",
                        "ClientRequestToken",
                    )
                return {"ChangeSetId": cs.change_set_id, "ChangeSetArn": cs.arn}
        parsed: list[dict[str, Any]] = []
        names: set[str] = set()
        targets: set[tuple[str, str]] = set()
        locked: list[str] = []
        for i, change in enumerate(changes):
            has_text, has_doc = "Details" in change, "DetailsDocument" in change
            if has_text == has_doc:
                raise _validation(
                    "Each change must set exactly one of Details and DetailsDocument",
                    f"ChangeSet[{i}].Details",
                )
            if has_text:
                try:
                    details = json.loads(change["Details"])
                except ValueError:
                    raise _validation("Details is not valid JSON", f"ChangeSet[{i}].Details") from None
            else:
                details = change["DetailsDocument"]
            if not isinstance(details, dict):
                raise _validation("Details must be a JSON object", f"ChangeSet[{i}].Details")
            type_name, _, version = change["Entity"]["Type"].partition("@")
            if type_name not in ENTITY_TYPES or version != ENTITY_TYPES[type_name]:
                raise _validation(
                    f"Entity type {change['Entity']['Type']} is not supported", f"ChangeSet[{i}].Entity.Type"
                )
            name = change.get("ChangeName")
            if name:
                if name in names:
                    raise _validation(
                        f"ChangeName {name} is used more than once", f"ChangeSet[{i}].ChangeName"
                    )
                names.add(name)
            identifier = change["Entity"].get("Identifier")
            if identifier and not _REF.match(identifier):
                entity = self._owned(owner, identifier)
                if entity is None or entity.entity_type != type_name:
                    raise ApiError(
                        "ResourceNotFoundException",
                        f"Entity {identifier} of type {type_name} was not found",
                        404,
                    )
                holder = self.locks.get(entity.entity_id)
                if holder is not None:
                    raise ApiError(
                        "ResourceInUseException",
                        f"Entity {entity.entity_id} is locked by change set {holder}; retry after it "
                        "completes",
                        423,
                    )
                if entity.entity_id not in locked:
                    locked.append(entity.entity_id)
            target_key = (change["ChangeType"], identifier or f"new:{i}")
            if identifier and target_key in targets:
                raise _validation(
                    f"Change type {change['ChangeType']} targets {identifier} more than once",
                    f"ChangeSet[{i}].ChangeType",
                )
            targets.add(target_key)
            parsed.append(
                {
                    "type": type_name,
                    "change_type": change["ChangeType"],
                    "identifier": identifier,
                    "name": name,
                    "details": details,
                }
            )
        errors, working, resolved = self._evaluate(owner, parsed)
        ids = self.state.ids
        cs = ChangeSet(
            change_set_id=ids.change_set_id(),
            owner=owner,
            name=params.get("ChangeSetName"),
            intent=intent,
            changes=copy.deepcopy(changes),
            token=token,
            digest=digest,
            start_time=self.state.clock.now(),
            started_mono=time.monotonic(),
            locked=locked,
            errors=errors,
            working=working,
            resolved=resolved,
        )
        self.change_sets[cs.change_set_id] = cs
        for entity_id in locked:
            self.locks[entity_id] = cs.change_set_id
        if token is not None:
            self.tokens[(owner, token)] = cs.change_set_id
        return {"ChangeSetId": cs.change_set_id, "ChangeSetArn": cs.arn}

    def describe_change_set(self, owner: str, params: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(params)
        self.refresh()
        cs = self.change_sets.get(params["ChangeSetId"])
        if cs is None or cs.owner != owner:
            raise ApiError(
                "ResourceNotFoundException", f"Change set {params['ChangeSetId']} was not found", 404
            )
        summaries = []
        for i, change in enumerate(cs.changes):
            entity = {"Type": change["Entity"]["Type"]}
            if cs.resolved[i]:
                entity["Identifier"] = cs.resolved[i]
            summary: dict[str, Any] = {"ChangeType": change["ChangeType"], "Entity": entity}
            if "DetailsDocument" in change:
                summary["DetailsDocument"] = change["DetailsDocument"]
            else:
                summary["Details"] = change["Details"]
            if change.get("ChangeName"):
                summary["ChangeName"] = change["ChangeName"]
            if cs.status == "FAILED" and i in cs.errors:
                summary["ErrorDetailList"] = cs.errors[i]
            summaries.append(summary)
        cs.seen.add(cs.status)
        out: dict[str, Any] = {
            "ChangeSetId": cs.change_set_id,
            "ChangeSetArn": cs.arn,
            "Intent": cs.intent,
            "StartTime": iso_z(cs.start_time),
            "Status": cs.status,
            "ChangeSet": summaries,
        }
        if cs.name:
            out["ChangeSetName"] = cs.name
        if cs.end_time is not None:
            out["EndTime"] = iso_z(cs.end_time)
        if cs.failure_code:
            out["FailureCode"] = cs.failure_code
            out["FailureDescription"] = cs.failure_description
        return out

    def list_change_sets(self, owner: str, params: dict[str, Any]) -> dict[str, Any]:
        """ListChangeSets filtered by ChangeSetName, Status or EntityId (newest first)."""
        self._check_catalog(params)
        self.refresh()
        rows = [cs for cs in self.change_sets.values() if cs.owner == owner]
        for spec in params.get("FilterList") or []:
            name, values = spec.get("Name"), set(spec.get("ValueList") or [])
            if name == "ChangeSetName":
                rows = [cs for cs in rows if cs.name in values]
            elif name == "Status":
                rows = [cs for cs in rows if cs.status in values]
            elif name == "EntityId":
                rows = [cs for cs in rows if values & {r for r in cs.resolved if r}]
            else:
                raise _validation(f"Filter {name} is not supported by the sandbox", "FilterList")
        rows.sort(key=lambda cs: (cs.start_time, cs.change_set_id), reverse=True)
        salt = json.dumps([owner, params.get("FilterList")], sort_keys=True)
        offset = read_page_token(params.get("NextToken"), salt, lambda m: _validation(m, "NextToken"))
        size = params.get("MaxResults") or 20
        items = []
        for cs in rows[offset : offset + size]:
            item: dict[str, Any] = {
                "ChangeSetId": cs.change_set_id,
                "ChangeSetArn": cs.arn,
                "Status": cs.status,
                "StartTime": iso_z(cs.start_time),
                "EntityIdList": [r for r in dict.fromkeys(cs.resolved) if r],
            }
            if cs.name:
                item["ChangeSetName"] = cs.name
            if cs.end_time is not None:
                item["EndTime"] = iso_z(cs.end_time)
            if cs.failure_code:
                item["FailureCode"] = cs.failure_code
            items.append(item)
        out: dict[str, Any] = {"ChangeSetSummaryList": items}
        if offset + size < len(rows):
            out["NextToken"] = page_token(offset + size, salt)
        return out

    def cancel(self, owner: str, params: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(params)
        self.refresh()
        cs = self.change_sets.get(params["ChangeSetId"])
        if cs is None or cs.owner != owner:
            raise ApiError(
                "ResourceNotFoundException", f"Change set {params['ChangeSetId']} was not found", 404
            )
        if cs.status != "PREPARING":
            raise ApiError(
                "ResourceInUseException",
                f"Change set {cs.change_set_id} is {cs.status} and can no longer be cancelled",
                423,
            )
        self._finish(cs, "CANCELLED")
        return {"ChangeSetId": cs.change_set_id, "ChangeSetArn": cs.arn}

    def refresh(self) -> None:
        """Move every running change set along by elapsed time (PREPARING -> APPLYING -> terminal)."""
        now = time.monotonic()
        for cs in self.change_sets.values():
            if cs.status in TERMINAL:
                continue
            elapsed = now - cs.started_mono
            if elapsed < self.preparing_s or (self.hold_until_seen and cs.status not in cs.seen):
                continue
            if cs.errors:
                cs.failure_code = "CLIENT_ERROR"
                count = sum(len(v) for v in cs.errors.values())
                cs.failure_description = (
                    f"The change set has {count} error(s); see ErrorDetailList of each change"
                )
                self._finish(cs, "FAILED")
            elif cs.status == "PREPARING" or elapsed < self.preparing_s + self.applying_s:
                cs.status = "APPLYING"
            else:
                if cs.intent == "APPLY":
                    self._commit(cs)
                self._finish(cs, "SUCCEEDED")

    def _finish(self, cs: ChangeSet, status: str) -> None:
        cs.status = status
        cs.end_time = self.state.clock.now()
        for entity_id in cs.locked:
            if self.locks.get(entity_id) == cs.change_set_id:
                del self.locks[entity_id]

    def _commit(self, cs: ChangeSet) -> None:
        now = self.state.clock.now()
        for entity_id, entity in cs.working.items():
            previous = self.entities.get(entity_id)
            if (
                previous is not None
                and previous.details == entity.details
                and previous.visibility == entity.visibility
            ):
                continue  # only read by the change set (e.g. the product an offer points at)
            entity.last_modified = now
            entity.revision = (previous.revision + 1) if previous is not None else 1
            self.entities[entity_id] = entity

    def apply_now(self, owner: str, changes: list[dict[str, Any]]) -> dict[str, str]:
        """Apply changes immediately (seeding); returns ChangeName -> created entity id. Raises on any error."""
        parsed = [
            {
                "type": c["Entity"]["Type"].split("@")[0],
                "change_type": c["ChangeType"],
                "identifier": c["Entity"].get("Identifier"),
                "name": c.get("ChangeName"),
                "details": c.get("DetailsDocument") or json.loads(c.get("Details") or "{}"),
            }
            for c in changes
        ]
        errors, working, resolved = self._evaluate(owner, parsed)
        if errors:
            raise ValueError(f"seed change set is invalid: {errors}")
        now = self.state.clock.now()
        for entity_id, entity in working.items():
            entity.last_modified = now
            self.entities[entity_id] = entity
        return {p["name"]: r for p, r in zip(parsed, resolved, strict=True) if p["name"] and r}

    # ------------------------------------------------------------------------------------------- evaluation

    def _evaluate(
        self, owner: str, parsed: list[dict[str, Any]]
    ) -> tuple[dict[int, list[dict[str, str]]], dict[str, Entity], list[str | None]]:
        """Run every change against copies of the entities; returns (errors by change index, entities, ids)."""
        working: dict[str, Entity] = {}
        created: dict[str, str] = {}
        errors: dict[int, list[dict[str, str]]] = {}
        resolved: list[str | None] = []

        def get(entity_id: str) -> Entity | None:
            if entity_id in working:
                return working[entity_id]
            entity = self._owned(owner, entity_id)
            if entity is None:
                return None
            working[entity.entity_id] = copy.deepcopy(entity)
            return working[entity.entity_id]

        def resolve(value: Any) -> Any:
            if isinstance(value, str):
                match = _REF.match(value)
                if match:
                    return created.get(match.group(1), value)
                return value
            if isinstance(value, list):
                return [resolve(v) for v in value]
            if isinstance(value, dict):
                return {k: resolve(v) for k, v in value.items()}
            return value

        for i, change in enumerate(parsed):
            problems: list[tuple[str, str]] = []
            details = resolve(change["details"])
            identifier = change["identifier"]
            handler = _HANDLERS.get((change["type"], change["change_type"]))
            target: Entity | None = None
            if handler is None:
                problems.append(
                    (
                        "INVALID_CHANGE_TYPE",
                        (
                            f"Change type {change['change_type']} is not supported for "
                            f"entity type {change['type']}"
                        ),
                    )
                )
            elif change["change_type"].startswith("Create"):
                if identifier:
                    problems.append(
                        ("INVALID_INPUT", f"{change['change_type']} must not name an entity identifier")
                    )
                else:
                    target = self._new_entity(owner, change["type"])
                    working[target.entity_id] = target
                    if change["name"]:
                        created[change["name"]] = target.entity_id
            else:
                ident = resolve(identifier) if identifier else None
                if not ident or _REF.match(ident):
                    problems.append(
                        (
                            "INVALID_INPUT",
                            (
                                f"Entity identifier {identifier!r} does not name an entity "
                                "created earlier in this change set"
                            ),
                        )
                    )
                else:
                    target = get(ident)
                    if target is None:
                        problems.append(("ENTITY_NOT_FOUND", f"Entity {ident} was not found"))
            if handler is not None and target is not None:
                problems.extend(handler(self, owner, target, details, get))
            resolved.append(target.entity_id if target is not None else None)
            if problems:
                errors[i] = [{"ErrorCode": code, "ErrorMessage": msg[:2048]} for code, msg in problems]
        return errors, working, resolved

    def _new_entity(self, owner: str, entity_type: str) -> Entity:
        ids = self.state.ids
        now = self.state.clock.now()
        if entity_type == "SaaSProduct":
            code = ids.product_code()
            return Entity(
                ids.product_id(),
                entity_type,
                owner,
                {
                    "Description": {"ProductCode": code, "Visibility": "Draft"},
                    "Dimensions": [],
                    "DeliveryOptions": [],
                    "Targeting": {},
                },
                now,
                visibility="Draft",
                product_code=code,
            )
        if entity_type == "Offer":
            return Entity(ids.offer_id(), entity_type, owner, {"State": "Draft", "Terms": []}, now)
        return Entity(ids.resale_id(), entity_type, owner, {"Status": "Draft"}, now)


# ----------------------------------------------------------------------------------------------- change types

Problems = list[tuple[str, str]]
Getter = Callable[[str], Entity | None]


def _unknown_keys(details: dict[str, Any], allowed: set[str]) -> Problems:
    extra = sorted(set(details) - allowed)
    return [("INVALID_INPUT", f"Unknown field(s) {extra}; allowed: {sorted(allowed)}")] if extra else []


def _https(url: Any) -> bool:
    return isinstance(url, str) and url.startswith("https://") and len(url) <= 2048 and " " not in url


def _create_product(cat: Catalog, owner: str, e: Entity, d: dict[str, Any], get: Getter) -> Problems:
    problems = _unknown_keys(d, {"ProductTitle"})
    if "ProductTitle" in d:
        problems += _title(d["ProductTitle"])
        e.details["Description"]["ProductTitle"] = d["ProductTitle"]
    return problems


def _title(title: Any) -> Problems:
    if not isinstance(title, str) or not 1 <= len(title) <= 72:
        return [("INVALID_INPUT", "ProductTitle must be 1-72 characters")]
    return []


_INFO_FIELDS = {
    "ProductTitle",
    "ShortDescription",
    "LongDescription",
    "Sku",
    "LogoUrl",
    "VideoUrls",
    "Highlights",
    "AdditionalResources",
    "SupportDescription",
    "Categories",
    "SearchKeywords",
}


def _update_product_info(cat: Catalog, owner: str, e: Entity, d: dict[str, Any], get: Getter) -> Problems:
    problems = _unknown_keys(d, _INFO_FIELDS)
    if "ProductTitle" in d:
        problems += _title(d["ProductTitle"])
    for key, limit in (("ShortDescription", 1000), ("LongDescription", 5000), ("SupportDescription", 2000)):
        if key in d and (not isinstance(d[key], str) or not 1 <= len(d[key]) <= limit):
            problems.append(("INVALID_INPUT", f"{key} must be 1-{limit} characters"))
    if "LogoUrl" in d and not _https(d["LogoUrl"]):
        problems.append(("INVALID_INPUT", "LogoUrl must be an https URL"))
    if "Categories" in d and (not isinstance(d["Categories"], list) or not 1 <= len(d["Categories"]) <= 3):
        problems.append(("INVALID_INPUT", "Categories must list 1-3 categories"))
    if "Highlights" in d and (not isinstance(d["Highlights"], list) or len(d["Highlights"]) > 3):
        problems.append(("INVALID_INPUT", "Highlights may list at most 3 entries"))
    if not problems:
        e.details["Description"].update(
            {k: v for k, v in d.items() if k not in ("AdditionalResources", "SupportDescription")}
        )
        if "SupportDescription" in d:
            e.details["SupportInformation"] = {"Description": d["SupportDescription"]}
    return problems


def _add_dimensions(cat: Catalog, owner: str, e: Entity, d: dict[str, Any], get: Getter) -> Problems:
    problems = _unknown_keys(d, {"Dimensions"})
    dims = d.get("Dimensions")
    if not isinstance(dims, list) or not dims:
        return [*problems, ("INVALID_INPUT", "Dimensions must be a non-empty list")]
    existing = {x["Key"] for x in e.details["Dimensions"]}
    seen: set[str] = set()
    accepted = []
    for n, dim in enumerate(dims):
        where = f"Dimensions[{n}]"
        if not isinstance(dim, dict):
            problems.append(("INVALID_INPUT", f"{where} must be an object"))
            continue
        extra = sorted(set(dim) - {"Key", "Name", "Description", "Types", "Unit"})
        if extra:
            problems.append(("INVALID_INPUT", f"{where} has unknown field(s) {extra}"))
        key = dim.get("Key")
        if not isinstance(key, str) or not _DIMENSION_KEY.match(key):
            problems.append(
                (
                    "INVALID_DIMENSION_KEY",
                    f"{where}.Key {key!r} must be 1-100 characters of letters, digits, '_', '.' or '-'",
                )
            )
        elif key in existing or key in seen:
            problems.append(("DUPLICATE_DIMENSION_KEY", f"{where}.Key {key!r} already exists on the product"))
        else:
            seen.add(key)
        name = dim.get("Name")
        if not isinstance(name, str) or not 1 <= len(name) <= 150:
            problems.append(("INVALID_INPUT", f"{where}.Name must be 1-150 characters"))
        if "Description" in dim and (
            not isinstance(dim["Description"], str) or len(dim["Description"]) > 250
        ):
            problems.append(("INVALID_INPUT", f"{where}.Description must be at most 250 characters"))
        types = dim.get("Types")
        if not isinstance(types, list) or not types or any(t not in DIMENSION_TYPES for t in types):
            problems.append(
                (
                    "INVALID_DIMENSION_TYPE",
                    f"{where}.Types must be a non-empty subset of {list(DIMENSION_TYPES)}, got {types!r}",
                )
            )
        if dim.get("Unit") not in DIMENSION_UNITS:
            problems.append(
                (
                    "INVALID_DIMENSION_UNIT",
                    f"{where}.Unit {dim.get('Unit')!r} must be one of {list(DIMENSION_UNITS)}",
                )
            )
        accepted.append({k: dim[k] for k in ("Key", "Name", "Description", "Unit", "Types") if k in dim})
    if not problems:
        e.details["Dimensions"].extend(accepted)
    return problems


def _add_delivery_options(cat: Catalog, owner: str, e: Entity, d: dict[str, Any], get: Getter) -> Problems:
    problems = _unknown_keys(d, {"DeliveryOptions"})
    options = d.get("DeliveryOptions")
    if not isinstance(options, list) or not options:
        return [*problems, ("INVALID_INPUT", "DeliveryOptions must be a non-empty list")]
    added = []
    for n, option in enumerate(options):
        url = (((option or {}).get("Details") or {}).get("SaaSUrlDeliveryOptionDetails") or {}).get(
            "FulfillmentUrl"
        )
        if not _https(url):
            problems.append(
                (
                    "INVALID_INPUT",
                    (
                        f"DeliveryOptions[{n}].Details.SaaSUrlDeliveryOptionDetails."
                        "FulfillmentUrl must be an https URL"
                    ),
                )
            )
        else:
            added.append(
                {
                    "Id": f"do-{cat.state.ids.token(13)}",
                    "Type": "SaaSUrl",
                    "Details": {"SaaSUrlDeliveryOptionDetails": {"FulfillmentUrl": url}},
                }
            )
    if not problems:
        e.details["DeliveryOptions"].extend(added)
    return problems


def _update_targeting(cat: Catalog, owner: str, e: Entity, d: dict[str, Any], get: Getter) -> Problems:
    problems = _unknown_keys(d, {"PositiveTargeting"})
    accounts = (d.get("PositiveTargeting") or {}).get("BuyerAccounts")
    if not isinstance(accounts, list) or any(
        not isinstance(a, str) or not _ACCOUNT.match(a) for a in accounts
    ):
        problems.append(
            ("INVALID_INPUT", "PositiveTargeting.BuyerAccounts must list 12-digit AWS account ids")
        )
    if not problems:
        e.details["Targeting"] = {"PositiveTargeting": {"BuyerAccounts": list(accounts or ())}}
        if e.entity_type == "Offer":
            e.details["Targeting"]["BuyerAccounts"] = list(accounts or ())
    return problems


def _release_product(cat: Catalog, owner: str, e: Entity, d: dict[str, Any], get: Getter) -> Problems:
    problems = _unknown_keys(d, set())
    if not e.details["Description"].get("ProductTitle"):
        problems.append(("INVALID_STATE", "The product needs a title before release"))
    if not e.details["Dimensions"]:
        problems.append(("INVALID_STATE", "The product needs at least one dimension before release"))
    if not e.details["DeliveryOptions"]:
        problems.append(
            ("INVALID_STATE", "The product needs a delivery option (fulfillment URL) before release")
        )
    if not problems:
        e.visibility = "Limited"
        e.details["Description"]["Visibility"] = "Limited"
    return problems


def _create_offer(cat: Catalog, owner: str, e: Entity, d: dict[str, Any], get: Getter) -> Problems:
    problems = _unknown_keys(d, {"ProductId"})
    product_id = d.get("ProductId")
    product = get(product_id) if isinstance(product_id, str) else None
    if product is None or product.entity_type != "SaaSProduct":
        problems.append(
            ("ENTITY_NOT_FOUND", f"ProductId {product_id!r} does not name one of your SaaS products")
        )
    else:
        e.details["ProductId"] = product.entity_id
    return problems


def _update_offer_info(cat: Catalog, owner: str, e: Entity, d: dict[str, Any], get: Getter) -> Problems:
    problems = _unknown_keys(d, {"Name", "Description"})
    if "Name" in d and (not isinstance(d["Name"], str) or not 1 <= len(d["Name"]) <= 150):
        problems.append(("INVALID_INPUT", "Name must be 1-150 characters"))
    if "Description" in d and (not isinstance(d["Description"], str) or len(d["Description"]) > 255):
        problems.append(("INVALID_INPUT", "Description must be at most 255 characters"))
    if not problems:
        e.details.update(d)
    return problems


def _replace_terms(e: Entity, kind: str, terms: list[dict[str, Any]]) -> None:
    e.details["Terms"] = [t for t in e.details["Terms"] if t.get("Type") not in kind.split("|")] + terms


def _update_pricing(cat: Catalog, owner: str, e: Entity, d: dict[str, Any], get: Getter) -> Problems:
    problems = _unknown_keys(d, {"PricingModel", "Terms"})
    if d.get("PricingModel") not in PRICING_MODELS:
        problems.append(("INVALID_INPUT", f"PricingModel must be one of {list(PRICING_MODELS)}"))
    product = get(e.details.get("ProductId", "")) if e.details.get("ProductId") else None
    if product is None:
        return [*problems, ("INVALID_STATE", "The offer is not attached to a product")]
    metered = {x["Key"] for x in product.details["Dimensions"] if "Metered" in x.get("Types", [])}
    terms = d.get("Terms")
    if not isinstance(terms, list) or not terms:
        return [*problems, ("INVALID_INPUT", "Terms must be a non-empty list")]
    priced: set[str] = set()
    for n, term in enumerate(terms):
        if term.get("Type") != "UsageBasedPricingTerm":
            problems.append(
                (
                    "INVALID_INPUT",
                    (
                        f"Terms[{n}].Type {term.get('Type')!r} is not supported by the "
                        "sandbox (use UsageBasedPricingTerm)"
                    ),
                )
            )
            continue
        if term.get("CurrencyCode") != "USD":
            problems.append(("INVALID_INPUT", f"Terms[{n}].CurrencyCode must be USD"))
        for c, card in enumerate(term.get("RateCards") or [{}]):
            for r, item in enumerate(card.get("RateCard") or []):
                key = item.get("DimensionKey")
                where = f"Terms[{n}].RateCards[{c}].RateCard[{r}]"
                if key not in metered:
                    problems.append(
                        (
                            "INCOMPATIBLE_DIMENSION",
                            (
                                f"{where}.DimensionKey {key!r} is not a metered "
                                f"dimension of product {product.entity_id}"
                            ),
                        )
                    )
                else:
                    priced.add(key)
                if not isinstance(item.get("Price"), str) or not _PRICE.match(item["Price"]):
                    problems.append(
                        (
                            "INVALID_PRICE",
                            (
                                f"{where}.Price {item.get('Price')!r} must be a non-negative "
                                "decimal string with at most 6 decimals"
                            ),
                        )
                    )
    missing = sorted(metered - priced)
    if missing and d.get("PricingModel") == "Usage":
        problems.append(("MISSING_PRICE", f"Metered dimension(s) {missing} have no price"))
    if not problems:
        e.details["PricingModel"] = d["PricingModel"]
        _replace_terms(e, "UsageBasedPricingTerm", copy.deepcopy(terms))
    return problems


def _update_legal(cat: Catalog, owner: str, e: Entity, d: dict[str, Any], get: Getter) -> Problems:
    problems = _unknown_keys(d, {"Terms"})
    terms = d.get("Terms")
    if not isinstance(terms, list) or len(terms) != 1 or terms[0].get("Type") != "LegalTerm":
        return [*problems, ("INVALID_INPUT", "Terms must hold exactly one LegalTerm")]
    docs = terms[0].get("Documents")
    if not isinstance(docs, list) or not docs:
        problems.append(("INVALID_INPUT", "LegalTerm.Documents must be a non-empty list"))
    else:
        for n, doc in enumerate(docs):
            if doc.get("Type") not in LEGAL_DOCUMENT_TYPES:
                problems.append(
                    ("INVALID_INPUT", f"Documents[{n}].Type must be one of {list(LEGAL_DOCUMENT_TYPES)}")
                )
            if str(doc.get("Type", "")).startswith("Custom") and not _https(doc.get("Url")):
                problems.append(("INVALID_INPUT", f"Documents[{n}] is custom and needs an https Url"))
    if not problems:
        _replace_terms(e, "LegalTerm", copy.deepcopy(terms))
    return problems


def _update_support(cat: Catalog, owner: str, e: Entity, d: dict[str, Any], get: Getter) -> Problems:
    problems = _unknown_keys(d, {"Terms"})
    terms = d.get("Terms")
    if not isinstance(terms, list) or len(terms) != 1 or terms[0].get("Type") != "SupportTerm":
        return [*problems, ("INVALID_INPUT", "Terms must hold exactly one SupportTerm")]
    policy = terms[0].get("RefundPolicy")
    if not isinstance(policy, str) or not 1 <= len(policy) <= 4096:
        problems.append(("INVALID_INPUT", "SupportTerm.RefundPolicy must be 1-4096 characters"))
    if not problems:
        _replace_terms(e, "SupportTerm", copy.deepcopy(terms))
    return problems


def _update_availability(cat: Catalog, owner: str, e: Entity, d: dict[str, Any], get: Getter) -> Problems:
    problems = _unknown_keys(d, {"AvailabilityEndDate"})
    value = d.get("AvailabilityEndDate")
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
        problems.append(("INVALID_INPUT", "AvailabilityEndDate must be a date (YYYY-MM-DD)"))
    else:
        e.details["AvailabilityEndDate"] = f"{value}T23:59:59Z"
    return problems


def _release_offer(cat: Catalog, owner: str, e: Entity, d: dict[str, Any], get: Getter) -> Problems:
    problems = _unknown_keys(d, set())
    kinds = {t.get("Type") for t in e.details["Terms"]}
    if "UsageBasedPricingTerm" not in kinds:
        problems.append(("INVALID_STATE", "The offer needs pricing terms before release"))
    if "LegalTerm" not in kinds:
        problems.append(("INVALID_STATE", "The offer needs legal terms before release"))
    if e.details.get("State") == "Released":
        problems.append(("INVALID_STATE", "The offer is already released"))
    if not problems:
        e.details["State"] = "Released"
        e.details["ReleaseDate"] = iso_z(cat.state.clock.now())
    return problems


_HANDLERS: dict[tuple[str, str], Callable[..., Problems]] = {
    ("SaaSProduct", "CreateProduct"): _create_product,
    ("SaaSProduct", "UpdateInformation"): _update_product_info,
    ("SaaSProduct", "AddDimensions"): _add_dimensions,
    ("SaaSProduct", "AddDeliveryOptions"): _add_delivery_options,
    ("SaaSProduct", "UpdateTargeting"): _update_targeting,
    ("SaaSProduct", "ReleaseProduct"): _release_product,
    ("Offer", "CreateOffer"): _create_offer,
    ("Offer", "UpdateInformation"): _update_offer_info,
    ("Offer", "UpdatePricingTerms"): _update_pricing,
    ("Offer", "UpdateLegalTerms"): _update_legal,
    ("Offer", "UpdateSupportTerms"): _update_support,
    ("Offer", "UpdateAvailability"): _update_availability,
    ("Offer", "UpdateTargeting"): _update_targeting,
    ("Offer", "ReleaseOffer"): _release_offer,
}


@dataclass
class ResaleSeed:
    """A resale authorization the sandbox seeds for a seller's product."""

    product_id: str
    reseller_account_id: str
    name: str = "Channel partner authorization"
    extra: dict[str, Any] = field(default_factory=dict)


def seed_resale_authorization(cat: Catalog, owner: str, seed: ResaleSeed) -> str:
    """Insert an active resale authorization (there is no change type to create one from the seller side here)."""
    product = cat.entity(seed.product_id)
    entity = cat._new_entity(owner, "ResaleAuthorization")
    entity.details.update(
        {
            "Name": seed.name,
            "ProductId": seed.product_id,
            "ProductName": product.name if product else None,
            "ResellerAccountId": seed.reseller_account_id,
            "Status": "Active",
            "CreatedDate": iso_z(cat.state.clock.now()),
            **seed.extra,
        }
    )
    entity.details = {k: v for k, v in entity.details.items() if v is not None}
    cat.entities[entity.entity_id] = entity
    return entity.entity_id
