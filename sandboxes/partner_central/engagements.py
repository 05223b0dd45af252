"""The rest of the Selling API in the sandbox: engagements, contexts (leads), members, invitations sent, tasks,
resource snapshots and snapshot jobs, customer accounts, bulk jobs, search, tags and selling-system settings.

``SellingOperations`` is mixed into ``SandboxState``: each ``op_<Operation>`` runs under the state's lock with the
caller's account and catalog and returns the response body (validated against the output shape by the tests).
What AWS documents is kept: ClientTokens make creates idempotent, ``UpdateEngagementContext`` needs the current
``EngagementLastModifiedAt`` (``ConflictException`` otherwise), an engagement has at most 5 contexts and 10 members,
a resource has at most 200 tags, one opportunity belongs to at most one engagement. Bulk jobs read their CSV from
the sandbox's own file store (``put_file``; ``s3://`` URIs), since nothing here reaches S3.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandboxes._http import ApiError
from sandboxes.partner_central import data as D

if TYPE_CHECKING:
    from sandboxes.partner_central.state import CatalogData, TenantAccount

MAX_CONTEXTS = 5
MAX_MEMBERS = 10
MAX_TAGS = 200
SNAPSHOT_TEMPLATE = "OpportunitySummaryView"
BULK_COLUMNS = ("RequestId", "Operation", "Identifier", "LastModifiedDate", "Payload")


def _conflict(message: str) -> ApiError:
    return ApiError("ConflictException", message, 409)


def _quota(message: str) -> ApiError:
    return ApiError("ServiceQuotaExceededException", message, 402)


@dataclass
class EngagementData:
    """What the sandbox keeps per catalog beyond opportunities (created lazily on ``CatalogData``)."""

    contexts_seq: dict[str, int] = field(default_factory=dict)
    members: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    associations: dict[str, str] = field(default_factory=dict)  # opportunity id -> engagement id
    snapshots: dict[tuple[str, str, str], list[dict[str, Any]]] = field(default_factory=dict)
    snapshot_jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    customer_accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    bulk_jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    bulk_results: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    account_jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    invitation_tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    opportunity_tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    prospecting_tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


def converted_leads(leads: int) -> int:
    """How many of ``leads`` seeded leads ``seed_engagements`` converts to opportunities (every sixth, from 0)."""
    return len(range(0, leads, 6))


def _extra(cat: CatalogData) -> EngagementData:
    extra = getattr(cat, "_extra", None)
    if extra is None:
        extra = EngagementData()
        cat._extra = extra  # type: ignore[attr-defined]
    return extra


class SellingOperations:
    """``op_*`` handlers of the Selling API beyond opportunities, solutions and invitations received."""

    # provided by SandboxState
    stamp: Any
    rng: Any
    tenants: dict[str, TenantAccount]
    files: dict[str, bytes]
    _page: Any
    _opportunity: Any
    _invitation: Any
    _decide: Any
    _submit: Any
    op_CreateOpportunity: Any
    op_UpdateOpportunity: Any

    # ------------------------------------------------------------------------------------------- helpers

    def _rid(self, n: int) -> str:
        return "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))

    @staticmethod
    def _arn(account: TenantAccount, cat: CatalogData, kind: str, ident: str) -> str:
        return f"arn:aws:partnercentral:us-east-1:{account.account_id}:catalog/{cat.name}/{kind}/{ident}"

    def _idempotent(self, cat: CatalogData, operation: str, params: dict[str, Any]) -> Any:
        token = params.get("ClientToken")
        return cat.client_tokens.get((operation, token)) if token else None

    def _remember(self, cat: CatalogData, operation: str, params: dict[str, Any], result: Any) -> Any:
        if params.get("ClientToken"):
            cat.client_tokens[(operation, params["ClientToken"])] = result
        return result

    def _engagement(self, cat: CatalogData, ident: str) -> dict[str, Any]:
        eng = cat.engagements.get(ident) or next(
            (e for e in cat.engagements.values() if e["Arn"] == ident), None
        )
        if eng is None:
            raise ApiError(
                "ResourceNotFoundException", f"Engagement {ident} was not found in catalog {cat.name}", 404
            )
        return eng

    def _touch_engagement(self, account: TenantAccount, eng: dict[str, Any]) -> str:
        eng["ModifiedAt"] = D.format_ts(self.stamp())
        eng["ModifiedBy"] = account.account_id
        eng["ContextTypes"] = sorted({c["Type"] for c in eng.get("Contexts") or []})
        return str(eng["ModifiedAt"])

    def new_engagement(
        self,
        account: TenantAccount,
        cat: CatalogData,
        title: str,
        description: str | None,
        contexts: list[dict[str, Any]],
        created_by: str | None = None,
    ) -> dict[str, Any]:
        """A fresh engagement with its contexts numbered 1..n and the creator as its first member."""
        if len(contexts) > MAX_CONTEXTS:
            raise _quota(f"An engagement holds at most {MAX_CONTEXTS} contexts")
        now = D.format_ts(self.stamp())
        eng_id = "eng-" + self._rid(14)
        numbered = [
            {"Id": str(i + 1), "Type": c["Type"], "Payload": copy.deepcopy(c.get("Payload") or {})}
            for i, c in enumerate(contexts)
        ]
        eng: dict[str, Any] = {
            "Arn": f"arn:aws:partnercentral:us-east-1::catalog/{cat.name}/engagement/{eng_id}",
            "Id": eng_id,
            "Title": title[:40],
            "Description": description,
            "CreatedAt": now,
            "CreatedBy": created_by or account.account_id,
            "MemberCount": 1,
            "ModifiedAt": now,
            "ModifiedBy": created_by or account.account_id,
            "Contexts": numbered,
            "ContextTypes": sorted({c["Type"] for c in numbered}),
        }
        cat.engagements[eng_id] = eng
        extra = _extra(cat)
        extra.contexts_seq[eng_id] = len(numbered)
        extra.members[eng_id] = [
            {
                "CompanyName": "AWS" if created_by == "aws" else account.tenant_id.title(),
                "AccountId": eng["CreatedBy"],
            }
        ]
        return eng

    # ------------------------------------------------------------------------------------------- engagements

    def op_CreateEngagement(self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]) -> Any:
        done = self._idempotent(cat, "CreateEngagement", params)
        if done is not None:
            return done
        eng = self.new_engagement(
            account,
            cat,
            params.get("Title") or "Engagement",
            params.get("Description"),
            params.get("Contexts") or [],
        )
        return self._remember(
            cat,
            "CreateEngagement",
            params,
            {"Id": eng["Id"], "Arn": eng["Arn"], "ModifiedAt": eng["ModifiedAt"]},
        )

    def op_GetEngagement(self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]) -> Any:
        eng = self._engagement(cat, params["Identifier"])
        keys = (
            "Id",
            "Arn",
            "Title",
            "Description",
            "CreatedAt",
            "CreatedBy",
            "MemberCount",
            "ModifiedAt",
            "ModifiedBy",
        )
        return {**{k: eng.get(k) for k in keys}, "Contexts": eng.get("Contexts") or []}

    def op_CreateEngagementContext(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        done = self._idempotent(cat, "CreateEngagementContext", params)
        if done is not None:
            return done
        eng = self._engagement(cat, params["EngagementIdentifier"])
        contexts = eng.setdefault("Contexts", [])
        if len(contexts) >= MAX_CONTEXTS:
            raise _quota(f"Engagement {eng['Id']} already has {MAX_CONTEXTS} contexts, the maximum")
        extra = _extra(cat)
        extra.contexts_seq[eng["Id"]] = extra.contexts_seq.get(eng["Id"], len(contexts)) + 1
        ctx_id = str(extra.contexts_seq[eng["Id"]])
        contexts.append({"Id": ctx_id, "Type": params["Type"], "Payload": copy.deepcopy(params["Payload"])})
        modified = self._touch_engagement(account, eng)
        result = {
            "EngagementId": eng["Id"],
            "EngagementArn": eng["Arn"],
            "EngagementLastModifiedAt": modified,
            "ContextId": ctx_id,
        }
        return self._remember(cat, "CreateEngagementContext", params, result)

    def op_UpdateEngagementContext(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        eng = self._engagement(cat, params["EngagementIdentifier"])
        if D.parse_ts(params["EngagementLastModifiedAt"]) != D.parse_ts(eng["ModifiedAt"]):
            raise _conflict(
                f"Engagement {eng['Id']} was modified at {eng['ModifiedAt']}, after the EngagementLastModifiedAt "
                "in the request"
            )
        ctx = next((c for c in eng.get("Contexts") or [] if c["Id"] == params["ContextIdentifier"]), None)
        if ctx is None:
            raise ApiError(
                "ResourceNotFoundException",
                f"Context {params['ContextIdentifier']} was not found in engagement {eng['Id']}",
                404,
            )
        if ctx["Type"] != params["Type"]:
            raise ApiError(
                "ValidationException",
                f"Context {ctx['Id']} is of type {ctx['Type']}, not {params['Type']}",
                400,
                Reason="BUSINESS_VALIDATION_FAILED",
                ErrorList=[{"FieldName": "Type", "Message": "type mismatch", "Code": "INVALID_VALUE"}],
            )
        merged = copy.deepcopy(ctx.get("Payload") or {})
        for kind, body in params["Payload"].items():
            body = copy.deepcopy(body)
            interaction = body.pop("Interaction", None) if kind == "Lead" else None
            merged[kind] = {**(merged.get(kind) or {}), **body}
            if interaction is not None:  # UpdateLeadContext adds one interaction to the lead's (at most 10)
                merged[kind]["Interactions"] = [*(merged[kind].get("Interactions") or []), interaction][-10:]
        ctx["Payload"] = merged
        modified = self._touch_engagement(account, eng)
        return {
            "EngagementId": eng["Id"],
            "EngagementArn": eng["Arn"],
            "EngagementLastModifiedAt": modified,
            "ContextId": ctx["Id"],
        }

    def op_ListEngagementMembers(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        eng = self._engagement(cat, params["Identifier"])
        members = _extra(cat).members.get(eng["Id"]) or []
        triples = [(m.get("AccountId") or "", str(i), m) for i, m in enumerate(members)]
        page, token = self._page(triples, params, f"mem:{eng['Id']}", False)
        return {"EngagementMemberList": page, "NextToken": token}

    def op_ListEngagementResourceAssociations(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        rows = []
        for opp_id, eng_id in _extra(cat).associations.items():
            eng = cat.engagements.get(eng_id) or {}
            if params.get("EngagementIdentifier") not in (None, eng_id):
                continue
            if params.get("ResourceIdentifier") not in (None, opp_id):
                continue
            if params.get("CreatedBy") not in (None, eng.get("CreatedBy")):
                continue
            summary = {
                "Catalog": cat.name,
                "EngagementId": eng_id,
                "ResourceType": "Opportunity",
                "ResourceId": opp_id,
                "CreatedBy": eng.get("CreatedBy"),
            }
            rows.append((eng_id, opp_id, summary))
        page, token = self._page(rows, params, "assoc", False)
        return {"EngagementResourceAssociationSummaries": page, "NextToken": token}

    def op_SearchEngagements(self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]) -> Any:
        keyword = (params.get("Keyword") or "").lower()
        keys = (
            "Id",
            "Arn",
            "Title",
            "Description",
            "CreatedAt",
            "CreatedBy",
            "MemberCount",
            "ModifiedAt",
            "ModifiedBy",
        )
        rows = [
            (e["CreatedAt"], e["Id"], {**{k: e.get(k) for k in keys}, "Contexts": e.get("Contexts") or []})
            for e in cat.engagements.values()
            if not keyword or keyword in (e.get("Title") or "").lower()
        ]
        page, token = self._page(rows, params, "search-eng", True)
        return {"EngagementSearchSummaries": page, "NextToken": token}

    def op_ListEngagementGroups(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        return {
            "EngagementGroupSummaries": [],
            "NextToken": None,
        }  # groups are AWS-curated; none in the sandbox

    def op_CreateEngagementInvitation(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        done = self._idempotent(cat, "CreateEngagementInvitation", params)
        if done is not None:
            return done
        eng = self._engagement(cat, params["EngagementIdentifier"])
        members = _extra(cat).members.setdefault(eng["Id"], [])
        if len(members) >= MAX_MEMBERS:
            raise _quota(f"Engagement {eng['Id']} already has {MAX_MEMBERS} members, the maximum")
        inv_id = "engi-" + self._rid(13)
        arn = f"arn:aws:partnercentral::{account.account_id}:{cat.name}/engagement-invitation/{inv_id}"
        return self._remember(cat, "CreateEngagementInvitation", params, {"Id": inv_id, "Arn": arn})

    # ------------------------------------------------------------------------------------------- opportunities

    def op_AssignOpportunity(self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]) -> None:
        entry = self._opportunity(cat, params["Identifier"])
        record = copy.deepcopy(entry.record)
        assignee = params["Assignee"]
        record["OpportunityTeam"] = [
            {
                "Email": assignee["Email"],
                "FirstName": assignee["FirstName"],
                "LastName": assignee["LastName"],
                "BusinessTitle": assignee["BusinessTitle"],
                "Phone": assignee.get("Phone"),
            }
        ]
        entry.record = record
        cat.bump(entry, self.stamp())

    def op_DisassociateOpportunity(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> None:
        entry = self._opportunity(cat, params["OpportunityIdentifier"])
        kind, ident = params["RelatedEntityType"], params["RelatedEntityIdentifier"]
        record = copy.deepcopy(entry.record)
        related = record.get("RelatedEntityIdentifiers") or {}
        values = list(related.get(kind) or [])
        if ident not in values:
            raise ApiError(
                "ResourceNotFoundException",
                f"{kind} {ident} is not associated with opportunity {entry.id}",
                404,
            )
        values.remove(ident)
        related[kind] = values
        record["RelatedEntityIdentifiers"] = related
        entry.record = record
        cat.bump(entry, self.stamp())

    def op_SearchOpportunities(self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]) -> Any:
        keyword = (params.get("Keyword") or "").lower()
        rows = []
        for entry in cat.opportunities.values():
            record = entry.record
            company = ((record.get("Customer") or {}).get("Account") or {}).get("CompanyName") or ""
            title = (record.get("Project") or {}).get("Title") or ""
            if keyword and keyword not in company.lower() and keyword not in title.lower():
                continue
            life = record.get("LifeCycle") or {}
            summary = {
                "Id": entry.id,
                "LastModifiedDate": record["LastModifiedDate"],
                "CreatedDate": record["CreatedDate"],
                "OpportunityType": record.get("OpportunityType"),
                "PartnerOpportunityIdentifier": record.get("PartnerOpportunityIdentifier"),
                "LifeCycle": {
                    "Stage": life.get("Stage"),
                    "ReviewStatus": life.get("ReviewStatus"),
                    "TargetCloseDate": life.get("TargetCloseDate"),
                },
                "Customer": {"Account": {"CompanyName": company}} if company else None,
            }
            rows.append((entry.lmd_us, entry.id, summary))
        page, token = self._page(rows, params, "search-opp", True)
        return {"OpportunitySearchSummaries": page, "NextToken": token}

    # ------------------------------------------------------------------------------------------- tasks

    def _task(self, account: TenantAccount, cat: CatalogData, kind: str, n: int = 13) -> dict[str, Any]:
        task_id = "task-" + self._rid(n)
        return {
            "TaskId": task_id,
            "TaskArn": self._arn(account, cat, kind, task_id),
            "StartTime": D.format_ts(self.stamp()),
        }

    def op_StartEngagementByAcceptingInvitationTask(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        done = self._idempotent(cat, "StartEngagementByAcceptingInvitationTask", params)
        if done is not None:
            return done
        inv = self._invitation(cat, params["Identifier"])
        task = self._task(account, cat, "engagement-by-accepting-invitation-task")
        task["EngagementInvitationId"] = inv["Id"]
        before = set(cat.opportunities)
        try:
            self._decide(cat, inv["Id"], "ACCEPTED")
            payload = (inv.get("Payload") or {}).get("OpportunityInvitation")
            if payload:
                self._create_from_invitation(account, cat, inv)  # type: ignore[attr-defined]
        except ApiError as exc:
            task.update(TaskStatus="FAILED", ReasonCode="InvitationValidationFailed", Message=exc.message)
        else:
            created = sorted(set(cat.opportunities) - before)
            task.update(TaskStatus="COMPLETE", ResourceSnapshotJobId="job-" + self._rid(13))
            if created:
                task["OpportunityId"] = created[0]
                _extra(cat).associations[created[0]] = inv["EngagementId"]
            lead = (inv.get("Payload") or {}).get("LeadInvitation")
            eng = cat.engagements.get(inv["EngagementId"])
            if lead and eng is not None:  # accepting a lead invitation makes the partner a member
                members = _extra(cat).members.setdefault(eng["Id"], [])
                members.append({"CompanyName": account.tenant_id.title(), "AccountId": account.account_id})
                eng["MemberCount"] = len(members)
        _extra(cat).invitation_tasks[task["TaskId"]] = task
        return self._remember(cat, "StartEngagementByAcceptingInvitationTask", params, task)

    def op_ListEngagementByAcceptingInvitationTasks(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        return self._list_tasks(
            _extra(cat).invitation_tasks,
            params,
            {
                "OpportunityIdentifier": "OpportunityId",
                "EngagementInvitationIdentifier": "EngagementInvitationId",
            },
            "inv-task",
        )

    def _list_tasks(
        self, tasks: dict[str, dict[str, Any]], params: dict[str, Any], filters: dict[str, str], kind: str
    ) -> dict[str, Any]:
        rows = []
        for task in tasks.values():
            wanted = params.get("TaskIdentifier")
            if wanted and task["TaskId"] not in wanted and task["TaskArn"] not in wanted:
                continue
            if params.get("TaskStatus") and task.get("TaskStatus") not in params["TaskStatus"]:
                continue
            if any(params.get(p) and task.get(f) not in params[p] for p, f in filters.items()):
                continue
            rows.append((D.parse_ts(task["StartTime"]), task["TaskId"], task))
        sort = params.get("Sort") or {"SortOrder": "DESCENDING"}
        page, token = self._page(rows, params, kind, sort["SortOrder"] == "DESCENDING")
        return {"TaskSummaries": page, "NextToken": token}

    def op_StartOpportunityFromEngagementTask(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        done = self._idempotent(cat, "StartOpportunityFromEngagementTask", params)
        if done is not None:
            return done
        eng = self._engagement(cat, params["Identifier"])
        task = self._task(account, cat, "opportunity-from-engagement-task")
        task.update(EngagementId=eng["Id"], ContextId=params["ContextIdentifier"])
        ctx = next((c for c in eng.get("Contexts") or [] if c["Id"] == params["ContextIdentifier"]), None)
        if ctx is None or ctx["Type"] not in ("Lead", "CustomerProject"):
            task.update(
                TaskStatus="FAILED",
                ReasonCode="ContextNotFound",
                Message=f"Engagement {eng['Id']} has no Lead or CustomerProject context {params['ContextIdentifier']}",
            )
        elif any(e == eng["Id"] for e in _extra(cat).associations.values()):
            task.update(
                TaskStatus="FAILED",
                ReasonCode="EngagementConflict",
                Message=f"Engagement {eng['Id']} already has an opportunity",
            )
        else:
            opp_id = self._opportunity_from_context(account, cat, eng, ctx)
            _extra(cat).associations[opp_id] = eng["Id"]
            task.update(
                TaskStatus="COMPLETE", OpportunityId=opp_id, ResourceSnapshotJobId="job-" + self._rid(13)
            )
        _extra(cat).opportunity_tasks[task["TaskId"]] = task
        return self._remember(cat, "StartOpportunityFromEngagementTask", params, task)

    def _opportunity_from_context(
        self, account: TenantAccount, cat: CatalogData, eng: dict[str, Any], ctx: dict[str, Any]
    ) -> str:
        """Create the partner's opportunity from a lead or customer-project context (lead conversion)."""
        payload = ctx.get("Payload") or {}
        if ctx["Type"] == "Lead":
            lead = payload.get("Lead") or {}
            customer = lead.get("Customer") or {}
            interaction = (lead.get("Interactions") or [{}])[0]
            company = customer.get("CompanyName") or "Unknown customer"
            problem = interaction.get("BusinessProblem") or f"{company} asked AWS for help (converted lead)."
            title = interaction.get("Usecase") or f"{company} lead"
            country = (customer.get("Address") or {}).get("CountryCode") or "US"
        else:
            project = payload.get("CustomerProject") or {}
            customer = project.get("Customer") or {}
            company = customer.get("CompanyName") or "Unknown customer"
            details = project.get("Project") or {}
            problem = details.get("BusinessProblem") or f"{company} customer project."
            title = details.get("Title") or company
            country = customer.get("CountryCode") or "US"
        result = self.op_CreateOpportunity(
            account,
            cat,
            {
                "Catalog": cat.name,
                "ClientToken": f"from-{eng['Id']}-{ctx['Id']}",
                "Customer": {"Account": {"CompanyName": company, "Address": {"CountryCode": country}}},
                "Project": {"Title": title[:255], "CustomerBusinessProblem": problem[:2000]},
                "Origin": "AWS Referral",
            },
        )
        return str(result["Id"])

    def op_ListOpportunityFromEngagementTasks(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        return self._list_tasks(
            _extra(cat).opportunity_tasks,
            params,
            {
                "OpportunityIdentifier": "OpportunityId",
                "EngagementIdentifier": "EngagementId",
                "ContextIdentifier": "ContextId",
            },
            "opp-task",
        )

    def op_StartProspectingFromEngagementTask(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        done = self._idempotent(cat, "StartProspectingFromEngagementTask", params)
        if done is not None:
            return done
        task = self._task(account, cat, "prospecting-task", 14)
        results = []
        for ident in params["Identifiers"]:
            eng = cat.engagements.get(ident)
            if eng is None:
                results.append({"EngagementIdentifier": ident, "Status": "FAILED", "ReasonCode": "NotFound"})
                continue
            contexts = eng.setdefault("Contexts", [])
            if len(contexts) >= MAX_CONTEXTS:
                results.append(
                    {"EngagementIdentifier": ident, "Status": "FAILED", "ReasonCode": "ContextLimit"}
                )
                continue
            extra = _extra(cat)
            extra.contexts_seq[ident] = extra.contexts_seq.get(ident, len(contexts)) + 1
            company = eng.get("Title") or ident
            contexts.append(
                {
                    "Id": str(extra.contexts_seq[ident]),
                    "Type": "ProspectingResult",
                    "Payload": {
                        "ProspectingResult": {
                            "Aws": {
                                "Customer": {"AccountName": company, "Segment": "Mid-market"},
                                "Insights": {"MarketplaceEngagementScore": "High"},
                                "TaskId": task["TaskId"],
                                "TaskArn": task["TaskArn"],
                                "TaskName": params["TaskName"],
                            }
                        }
                    },
                }
            )
            self._touch_engagement(account, eng)
            results.append(
                {
                    "EngagementIdentifier": ident,
                    "EngagementContextId": "ctx-" + self._rid(14),
                    "Status": "COMPLETED",
                }
            )
        task.update(
            TaskName=params["TaskName"],
            Identifiers=list(params["Identifiers"]),
            TaskStatus="COMPLETED",
            EndTime=task["StartTime"],
            Engagements=results,
        )
        _extra(cat).prospecting_tasks[task["TaskId"]] = task
        out = {
            k: task[k] for k in ("Identifiers", "TaskName", "StartTime", "TaskId", "TaskArn", "TaskStatus")
        }
        return self._remember(cat, "StartProspectingFromEngagementTask", params, out)

    def op_GetProspectingFromEngagementTask(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        task = _extra(cat).prospecting_tasks.get(params["TaskIdentifier"])
        if task is None:
            raise ApiError("ResourceNotFoundException", f"Task {params['TaskIdentifier']} was not found", 404)
        keys = ("TaskId", "TaskArn", "TaskName", "StartTime", "EndTime", "Engagements")
        return {k: task[k] for k in keys}

    def op_ListProspectingFromEngagementTasks(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        rows = []
        for task in _extra(cat).prospecting_tasks.values():
            if params.get("TaskIdentifier") and task["TaskId"] not in params["TaskIdentifier"]:
                continue
            if params.get("TaskName") and task["TaskName"] not in params["TaskName"]:
                continue
            failed = sum(e["Status"] == "FAILED" for e in task["Engagements"])
            summary = {
                "TaskId": task["TaskId"],
                "TaskArn": task["TaskArn"],
                "TaskName": task["TaskName"],
                "StartTime": task["StartTime"],
                "EndTime": task["EndTime"],
                "TotalEngagementCount": len(task["Engagements"]),
                "CompletedEngagementCount": len(task["Engagements"]) - failed,
                "FailedEngagementCount": failed,
            }
            rows.append((D.parse_ts(task["StartTime"]), task["TaskId"], summary))
        page, token = self._page(rows, params, "prosp", True)
        return {"TaskSummaries": page, "NextToken": token}

    # ------------------------------------------------------------------------------------------- snapshots

    def _snapshot_payload(self, cat: CatalogData, opp_id: str) -> dict[str, Any]:
        record = self._opportunity(cat, opp_id).record
        life = record.get("LifeCycle") or {}
        return {
            "OpportunitySummary": {
                "OpportunityType": record.get("OpportunityType"),
                "Lifecycle": {
                    "ReviewStatus": life.get("ReviewStatus"),
                    "Stage": life.get("Stage"),
                    "TargetCloseDate": life.get("TargetCloseDate"),
                    "NextSteps": life.get("NextSteps"),
                },
                "Project": {
                    "ExpectedCustomerSpend": (record.get("Project") or {}).get("ExpectedCustomerSpend") or [],
                    "CustomerUseCase": (record.get("Project") or {}).get("CustomerUseCase"),
                },
            }
        }

    def op_CreateResourceSnapshot(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        done = self._idempotent(cat, "CreateResourceSnapshot", params)
        if done is not None:
            return done
        eng = self._engagement(cat, params["EngagementIdentifier"])
        opp_id = params["ResourceIdentifier"]
        key = (eng["Id"], opp_id, params["ResourceSnapshotTemplateIdentifier"])
        revisions = _extra(cat).snapshots.setdefault(key, [])
        revision = len(revisions) + 1
        arn = self._arn(account, cat, "resource-snapshot", f"{eng['Id']}/{opp_id}/{revision}")
        revisions.append(
            {
                "Catalog": cat.name,
                "Arn": arn,
                "CreatedBy": account.account_id,
                "CreatedAt": D.format_ts(self.stamp()),
                "EngagementId": eng["Id"],
                "ResourceType": "Opportunity",
                "ResourceId": opp_id,
                "ResourceSnapshotTemplateName": key[2],
                "Revision": revision,
                "Payload": self._snapshot_payload(cat, opp_id),
            }
        )
        _extra(cat).associations.setdefault(opp_id, eng["Id"])
        return self._remember(cat, "CreateResourceSnapshot", params, {"Arn": arn, "Revision": revision})

    def op_GetResourceSnapshot(self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]) -> Any:
        key = (
            params["EngagementIdentifier"],
            params["ResourceIdentifier"],
            params["ResourceSnapshotTemplateIdentifier"],
        )
        revisions = _extra(cat).snapshots.get(key) or []
        wanted = params.get("Revision")
        found = (
            revisions[-1]
            if revisions and wanted is None
            else next((r for r in revisions if r["Revision"] == wanted), None)
        )
        if found is None:
            raise ApiError("ResourceNotFoundException", f"No resource snapshot {key} revision {wanted}", 404)
        return found

    def op_ListResourceSnapshots(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        rows = []
        for (eng_id, opp_id, template), revisions in _extra(cat).snapshots.items():
            if eng_id != params["EngagementIdentifier"]:
                continue
            if params.get("ResourceIdentifier") not in (None, opp_id):
                continue
            if params.get("ResourceSnapshotTemplateIdentifier") not in (None, template):
                continue
            for r in revisions:
                summary = {k: r[k] for k in ("Arn", "Revision", "ResourceType", "ResourceId", "CreatedBy")}
                summary["ResourceSnapshotTemplateName"] = template
                rows.append((f"{opp_id}/{r['Revision']:06d}", r["Arn"], summary))
        page, token = self._page(rows, params, "snap", False)
        return {"ResourceSnapshotSummaries": page, "NextToken": token}

    def _job(self, cat: CatalogData, ident: str) -> dict[str, Any]:
        job = _extra(cat).snapshot_jobs.get(ident) or next(
            (j for j in _extra(cat).snapshot_jobs.values() if j["Arn"] == ident), None
        )
        if job is None:
            raise ApiError("ResourceNotFoundException", f"Resource snapshot job {ident} was not found", 404)
        return job

    def op_CreateResourceSnapshotJob(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        done = self._idempotent(cat, "CreateResourceSnapshotJob", params)
        if done is not None:
            return done
        eng = self._engagement(cat, params["EngagementIdentifier"])
        opp = self._opportunity(cat, params["ResourceIdentifier"])
        job_id = "job-" + self._rid(13)
        job = {
            "Catalog": cat.name,
            "Id": job_id,
            "Arn": self._arn(account, cat, "resource-snapshot-job", job_id),
            "EngagementId": eng["Id"],
            "ResourceType": "Opportunity",
            "ResourceId": opp.id,
            "ResourceArn": opp.record.get("Arn"),
            "ResourceSnapshotTemplateName": params["ResourceSnapshotTemplateIdentifier"],
            "CreatedAt": D.format_ts(self.stamp()),
            "Status": "Stopped",
        }
        _extra(cat).snapshot_jobs[job_id] = job
        self._tag(job["Arn"], params.get("Tags") or [])
        return self._remember(cat, "CreateResourceSnapshotJob", params, {"Id": job_id, "Arn": job["Arn"]})

    def op_GetResourceSnapshotJob(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        return self._job(cat, params["ResourceSnapshotJobIdentifier"])

    def op_ListResourceSnapshotJobs(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        rows = [
            (j["CreatedAt"], j["Id"], {k: j[k] for k in ("Id", "Arn", "EngagementId", "Status")})
            for j in _extra(cat).snapshot_jobs.values()
            if params.get("EngagementIdentifier") in (None, j["EngagementId"])
            and params.get("Status") in (None, j["Status"])
        ]
        sort = params.get("Sort") or {}
        page, token = self._page(rows, params, "jobs", sort.get("SortOrder") == "DESCENDING")
        return {"ResourceSnapshotJobSummaries": page, "NextToken": token}

    def op_StartResourceSnapshotJob(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> None:
        job = self._job(cat, params["ResourceSnapshotJobIdentifier"])
        job["Status"] = "Running"
        self.op_CreateResourceSnapshot(
            account,
            cat,
            {
                "EngagementIdentifier": job["EngagementId"],
                "ResourceIdentifier": job["ResourceId"],
                "ResourceSnapshotTemplateIdentifier": job["ResourceSnapshotTemplateName"],
            },
        )
        job["LastSuccessfulExecutionDate"] = D.format_ts(self.stamp())

    def op_StopResourceSnapshotJob(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> None:
        self._job(cat, params["ResourceSnapshotJobIdentifier"])["Status"] = "Stopped"

    def op_DeleteResourceSnapshotJob(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> None:
        job = self._job(cat, params["ResourceSnapshotJobIdentifier"])
        if job["Status"] == "Running":
            raise _conflict(f"Resource snapshot job {job['Id']} is Running; stop it before deleting it")
        del _extra(cat).snapshot_jobs[job["Id"]]

    # ------------------------------------------------------------------------------------------- customer accounts

    def _customer(self, cat: CatalogData, ident: str) -> dict[str, Any]:
        accounts = _extra(cat).customer_accounts
        found = accounts.get(ident) or next((a for a in accounts.values() if a["Arn"] == ident), None)
        if found is None:
            raise ApiError("ResourceNotFoundException", f"Customer account {ident} was not found", 404)
        return found

    def new_customer_account(
        self, account: TenantAccount, cat: CatalogData, data: dict[str, Any], partner_id: str | None = None
    ) -> dict[str, Any]:
        """Store a customer account; AWS enriches it at once when it has a website (ENRICHED), else PENDING."""
        name = (data.get("CompanyName") or "").strip().lower()
        for existing in _extra(cat).customer_accounts.values():
            if name and existing["Account"].get("CompanyName", "").strip().lower() == name:
                raise _conflict(f"A customer account for {data.get('CompanyName')} exists: {existing['Arn']}")
        now = D.format_ts(self.stamp())
        acc_id = "cust-acc-" + self._rid(13)
        enriched = bool(data.get("WebsiteUrl"))
        record: dict[str, Any] = {
            "Arn": self._arn(account, cat, "customer-account", acc_id),
            "Id": acc_id,
            "Catalog": cat.name,
            "EnrichmentStatus": "ENRICHED" if enriched else "PENDING",
            "PartnerAccountIdentifier": partner_id,
            "CreatedDate": now,
            "LastModifiedDate": now,
            "Account": copy.deepcopy(data),
        }
        _extra(cat).customer_accounts[acc_id] = record
        return record

    def op_CreateCustomerAccount(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        done = self._idempotent(cat, "CreateCustomerAccount", params)
        if done is not None:
            return done
        record = self.new_customer_account(
            account, cat, params["Account"], params.get("PartnerAccountIdentifier")
        )
        self._tag(record["Arn"], list(params.get("Tags") or []))
        result = {
            "Arn": record["Arn"],
            "Id": record["Id"],
            "Status": record["EnrichmentStatus"],
            "Catalog": cat.name,
            "PartnerAccountIdentifier": record["PartnerAccountIdentifier"],
            "CreatedDate": record["CreatedDate"],
        }
        return self._remember(cat, "CreateCustomerAccount", params, result)

    def op_GetCustomerAccount(self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]) -> Any:
        record = self._customer(cat, params["Identifier"])
        tags = self._tags_of(record["Arn"])
        return {**record, "Tags": tags} if tags else dict(record)

    def op_UpdateCustomerAccount(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        record = self._customer(cat, params["Identifier"])
        if D.parse_ts(params["LastModifiedDate"]) != D.parse_ts(record["LastModifiedDate"]):
            raise _conflict(
                f"Customer account {record['Id']} was modified at {record['LastModifiedDate']}, after the "
                "LastModifiedDate in the request"
            )
        record["Account"] = copy.deepcopy(params["Account"])
        if "PartnerAccountIdentifier" in params:
            record["PartnerAccountIdentifier"] = params["PartnerAccountIdentifier"]
        record["LastModifiedDate"] = D.format_ts(self.stamp())
        keys = ("Arn", "Id", "Catalog", "PartnerAccountIdentifier", "CreatedDate", "LastModifiedDate")
        return {**{k: record[k] for k in keys}, "Status": record["EnrichmentStatus"]}

    def op_DeleteCustomerAccount(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> None:
        record = self._customer(cat, params["Identifier"])
        del _extra(cat).customer_accounts[record["Id"]]

    def op_SearchCustomerAccounts(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        rows = []
        for record in _extra(cat).customer_accounts.values():
            summary = {
                "Arn": record["Arn"],
                "Id": record["Id"],
                "Catalog": cat.name,
                "EnrichmentStatus": record["EnrichmentStatus"],
                "PartnerAccountIdentifier": record["PartnerAccountIdentifier"],
                "CreatedDate": record["CreatedDate"],
                "LastModifiedDate": record["LastModifiedDate"],
                "CustomerAccount": {"CompanyName": record["Account"].get("CompanyName")},
            }
            rows.append((D.parse_ts(record["LastModifiedDate"]), record["Id"], summary))
        sort = params.get("Sort") or {"SortOrder": "DESCENDING"}
        page, token = self._page(rows, params, "cust", sort["SortOrder"] == "DESCENDING")
        return {"CustomerAccountSummaries": page, "NextToken": token}

    def op_GetCustomerAccountStatistics(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        return {"TotalCount": len(_extra(cat).customer_accounts)}

    # ------------------------------------------------------------------------------------------- bulk jobs

    def put_file(self, uri: str, content: bytes) -> str:
        """Store a bulk-job input file the sandbox reads for ``s3://`` URIs (it has no S3 of its own)."""
        self.files[uri] = content
        return uri

    def _read_bulk_file(self, uri: str) -> list[dict[str, str]]:
        content = self.files.get(uri)
        if content is None:
            raise ApiError(
                "ValidationException",
                f"The file {uri} could not be read",
                400,
                Reason="BUSINESS_VALIDATION_FAILED",
                ErrorList=[{"FieldName": "FileURI", "Message": "file not found", "Code": "INVALID_VALUE"}],
            )
        return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))

    def op_StartOpportunityBulkJob(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        done = self._idempotent(cat, "StartOpportunityBulkJob", params)
        if done is not None:
            return done
        rows = self._read_bulk_file(params["FileURI"])
        job_id = "bulkjob-" + self._rid(13)
        results = []
        operations = set()
        for i, row in enumerate(rows, start=1):
            request_id = row.get("RequestId") or str(i)
            operation = row.get("Operation") or "CREATE"
            operations.add(operation)
            try:
                body = json.loads(row.get("Payload") or "{}")
                if not isinstance(body, dict):
                    raise ValueError("Payload is not a JSON object")  # noqa: TRY004 - a bad record, reported per row
                if operation == "CREATE":
                    out = self.op_CreateOpportunity(
                        account, cat, {**body, "Catalog": cat.name, "ClientToken": f"{job_id}-{request_id}"}
                    )
                elif operation == "UPDATE":
                    out = self.op_UpdateOpportunity(
                        account,
                        cat,
                        {
                            **body,
                            "Catalog": cat.name,
                            "Identifier": row.get("Identifier") or "",
                            "LastModifiedDate": row.get("LastModifiedDate") or "",
                        },
                    )
                else:
                    raise ValueError(f"unknown Operation {operation!r}")
                results.append(
                    {"RequestId": request_id, "Status": "SUCCEEDED", "ResourceIdentifier": out["Id"]}
                )
            except ApiError as exc:
                results.append(
                    {
                        "RequestId": request_id,
                        "Status": "FAILED",
                        "ErrorCode": exc.code,
                        "ErrorMessage": exc.message,
                    }
                )
            except (ValueError, KeyError) as exc:
                results.append(
                    {
                        "RequestId": request_id,
                        "Status": "FAILED",
                        "ErrorCode": "InvalidRecord",
                        "ErrorMessage": str(exc),
                    }
                )
        failed = sum(r["Status"] == "FAILED" for r in results)
        now = D.format_ts(self.stamp())
        _extra(cat).bulk_jobs[job_id] = {
            "JobId": job_id,
            "Status": "COMPLETED",
            "TotalRecords": len(rows),
            "ProcessedRecords": len(rows),
            "SuccessCount": len(rows) - failed,
            "FailureCount": failed,
            "CreatedAt": now,
            "StartedAt": now,
            "CompletedAt": now,
            "FileName": params["FileURI"].rsplit("/", 1)[-1][:255],
            "OperationType": "BULK_UPDATE" if operations == {"UPDATE"} else "BULK_CREATE",
        }
        _extra(cat).bulk_results[job_id] = results
        return self._remember(cat, "StartOpportunityBulkJob", params, {"JobId": job_id})

    def _bulk_job(self, cat: CatalogData, job_id: str) -> dict[str, Any]:
        job = _extra(cat).bulk_jobs.get(job_id) or _extra(cat).account_jobs.get(job_id)
        if job is None:
            raise ApiError("ResourceNotFoundException", f"Bulk job {job_id} was not found", 404)
        return job

    def op_ListOpportunityBulkJobs(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        rows = [
            (D.parse_ts(j["CreatedAt"]), j["JobId"], j)
            for j in _extra(cat).bulk_jobs.values()
            if params.get("JobId") in (None, j["JobId"]) and params.get("Status") in (None, j["Status"])
        ]
        page, token = self._page(rows, params, "bulk", True)
        return {"OpportunityBulkJobSummaries": page, "NextToken": token}

    def _results_page(self, cat: CatalogData, job_id: str, params: dict[str, Any]) -> dict[str, Any]:
        self._bulk_job(cat, job_id)
        results = _extra(cat).bulk_results.get(job_id) or []
        rows = [
            (i, r["RequestId"], r)
            for i, r in enumerate(results)
            if params.get("Status") in (None, r["Status"])
        ]
        page, token = self._page(rows, params, f"res:{job_id}", False)
        return {"Results": page, "NextToken": token}

    def op_ListOpportunityBulkJobResults(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        return self._results_page(cat, params["JobId"], params)

    def _report(self, cat: CatalogData, job_id: str, report_type: str) -> dict[str, Any]:
        results = _extra(cat).bulk_results.get(job_id) or []
        wanted = [r for r in results if report_type == "ALL_RECORDS" or r["Status"] == "FAILED"]
        buffer = io.StringIO()
        writer = csv.DictWriter(
            buffer, fieldnames=["RequestId", "Status", "ResourceIdentifier", "ErrorCode", "ErrorMessage"]
        )
        writer.writeheader()
        writer.writerows(wanted)
        uri = f"s3://partner-central-sandbox-reports/{cat.name}/{job_id}/{report_type.lower()}.csv"
        self.put_file(uri, buffer.getvalue().encode())
        return {
            "ReportStatus": "AVAILABLE",
            "ReportType": report_type,
            "Url": uri,
            "ExpiresAt": D.format_ts(self.stamp() + 3_600_000_000),
        }

    def op_GetOpportunityBulkJobReportUrl(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        self._bulk_job(cat, params["JobId"])
        report = self._report(cat, params["JobId"], params.get("ReportType") or "FAILED_RECORDS")
        return {**report, "ReportFormat": params["ReportFormat"]}

    def op_StartCustomerAccountBulkJob(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        done = self._idempotent(cat, "StartCustomerAccountBulkJob", params)
        if done is not None:
            return done
        rows = self._read_bulk_file(params["FileUri"])
        job_id = "bulkjob-" + self._rid(13)
        results = []
        for i, row in enumerate(rows, start=1):
            request_id = row.get("RequestId") or str(i)
            try:
                data = json.loads(row.get("Payload") or "{}")
                if not isinstance(data, dict) or not data.get("CompanyName"):
                    raise ValueError("Payload needs a CompanyName")
                record = self.new_customer_account(account, cat, data)
                results.append(
                    {"RequestId": request_id, "Status": "SUCCEEDED", "ResourceIdentifier": record["Id"]}
                )
            except ApiError as exc:
                results.append(
                    {
                        "RequestId": request_id,
                        "Status": "FAILED",
                        "ErrorCode": exc.code,
                        "ErrorMessage": exc.message,
                    }
                )
            except ValueError as exc:
                results.append(
                    {
                        "RequestId": request_id,
                        "Status": "FAILED",
                        "ErrorCode": "InvalidRecord",
                        "ErrorMessage": str(exc),
                    }
                )
        failed = sum(r["Status"] == "FAILED" for r in results)
        now = D.format_ts(self.stamp())
        job = {
            "Arn": self._arn(account, cat, "customer-account-bulk-job", job_id),
            "Id": job_id,
            "Status": "COMPLETED",
            "FileName": params["FileUri"].rsplit("/", 1)[-1],
            "TotalRecords": len(rows),
            "ProcessedRecords": len(rows),
            "SuccessCount": len(rows) - failed,
            "FailureCount": failed,
            "DeletedCount": 0,
            "CreatedAt": now,
            "CompletedAt": now,
        }
        _extra(cat).account_jobs[job_id] = job
        _extra(cat).bulk_results[job_id] = results
        out = {k: job[k] for k in ("Arn", "Id", "CreatedAt")}
        return self._remember(cat, "StartCustomerAccountBulkJob", params, {**out, "Status": "SUBMITTED"})

    def op_GetCustomerAccountBulkJob(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        ident = params["Identifier"].rsplit("/", 1)[-1]
        job = _extra(cat).account_jobs.get(ident)
        if job is None:
            raise ApiError("ResourceNotFoundException", f"Bulk job {ident} was not found", 404)
        return job

    def op_ListCustomerAccountBulkJobs(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        wanted = params.get("Filter") or {}
        rows = [
            (D.parse_ts(j["CreatedAt"]), j["Id"], j)
            for j in _extra(cat).account_jobs.values()
            if wanted.get("Identifier") in (None, j["Id"], j["Arn"])
            and wanted.get("Status") in (None, j["Status"])
        ]
        page, token = self._page(rows, params, "acc-bulk", True)
        return {"items": page, "NextToken": token}

    def op_ListCustomerAccountBulkJobResults(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        return self._results_page(cat, params["Identifier"].rsplit("/", 1)[-1], params)

    def op_GetCustomerAccountBulkJobReportUrl(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        ident = params["Identifier"].rsplit("/", 1)[-1]
        self._bulk_job(cat, ident)
        return self._report(cat, ident, params.get("ReportType") or "FAILED_RECORDS")

    # ------------------------------------------------------------------------------------------- tags, settings

    tags: dict[str, dict[str, str]]

    def _tag(self, arn: str, tags: list[dict[str, str]]) -> None:
        current = self.tags.setdefault(arn, {})
        merged = {**current, **{t["Key"]: t["Value"] for t in tags}}
        if len(merged) > MAX_TAGS:
            raise _quota(f"A resource has at most {MAX_TAGS} tags")
        self.tags[arn] = merged

    def _tags_of(self, arn: str) -> list[dict[str, str]]:
        return [{"Key": k, "Value": v} for k, v in sorted((self.tags.get(arn) or {}).items())]

    def _owns(self, account: TenantAccount, arn: str) -> None:
        """Tags live on resources of the caller's account: any other ARN is not found, as in AWS."""
        if f":{account.account_id}:" not in arn and not any(
            arn == e["Arn"] for c in account.catalogs.values() for e in c.engagements.values()
        ):
            raise ApiError("ResourceNotFoundException", f"Resource {arn} was not found", 404)

    def op_TagResource(self, account: TenantAccount, cat: CatalogData | None, params: dict[str, Any]) -> None:
        self._owns(account, params["ResourceArn"])
        self._tag(params["ResourceArn"], params["Tags"])

    def op_UntagResource(
        self, account: TenantAccount, cat: CatalogData | None, params: dict[str, Any]
    ) -> None:
        self._owns(account, params["ResourceArn"])
        current = self.tags.get(params["ResourceArn"]) or {}
        for key in params["TagKeys"]:
            current.pop(key, None)

    def op_ListTagsForResource(
        self, account: TenantAccount, cat: CatalogData | None, params: dict[str, Any]
    ) -> Any:
        self._owns(account, params["ResourceArn"])
        return {"Tags": self._tags_of(params["ResourceArn"])}

    def op_GetSellingSystemSettings(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        return {"Catalog": cat.name, "ResourceSnapshotJobRoleArn": _extra(cat).settings.get("role")}

    def op_PutSellingSystemSettings(
        self, account: TenantAccount, cat: CatalogData, params: dict[str, Any]
    ) -> Any:
        role = params.get("ResourceSnapshotJobRoleIdentifier")
        if role is not None and not role.startswith("arn:"):
            role = f"arn:aws:iam::{account.account_id}:role/{role}"
        _extra(cat).settings["role"] = role
        return {"Catalog": cat.name, "ResourceSnapshotJobRoleArn": role}

    # ------------------------------------------------------------------------------------------- seeding

    def _lead_invitation(
        self, account: TenantAccount, cat: CatalogData, eng: dict[str, Any], company: str, i: int
    ) -> dict[str, Any]:
        """AWS's invitation to a lead engagement (PayloadType LeadInvitation), as the partner receives it."""
        inv_id = "engi-" + self._rid(13)
        invited = D.parse_ts(eng["CreatedAt"])
        record = {
            "Arn": f"arn:aws:partnercentral:us-east-1::catalog/{cat.name}/engagement-invitation/{inv_id}",
            "PayloadType": "LeadInvitation",
            "Id": inv_id,
            "EngagementId": eng["Id"],
            "EngagementTitle": eng["Title"],
            "Status": "PENDING",
            "InvitationDate": D.format_ts(invited),
            "ExpirationDate": D.format_ts(invited + 15 * 86_400 * 1_000_000),
            "SenderAwsAccountId": "aws",
            "SenderCompanyName": "AWS",
            "Receiver": {"Account": {"AwsAccountId": account.account_id, "Alias": None}},
            "Catalog": cat.name,
            "RejectionReason": None,
            "Payload": {
                "LeadInvitation": {
                    "Customer": {
                        "CompanyName": company,
                        "Industry": "Software and Internet",
                        "CountryCode": "US",
                        "MarketSegment": "Mid-market",
                    },
                    "Interaction": {
                        "SourceType": "Event",
                        "SourceId": f"src-{i}",
                        "SourceName": "re:Invent",
                        "Usecase": "Migration",
                        "ContactBusinessTitle": "CTO",
                    },
                }
            },
            "InvitationMessage": "AWS has a lead for you.",
            "EngagementDescription": eng.get("Description"),
            "ExistingMembers": [{"CompanyName": "AWS", "WebsiteUrl": "aws.amazon.com"}],
        }
        cat.invitations[inv_id] = record
        return record

    def seed_engagements(self, account: TenantAccount, cat: CatalogData, leads: int, accounts: int) -> None:
        """Leads (AWS-created engagements with a Lead context: odd ones still a pending LeadInvitation, every sixth
        one converted to an opportunity) and customer accounts."""
        rng = self.rng
        for i in range(leads):
            company = f"{D.company_name(rng)} {i}"
            eng = self.new_engagement(
                account,
                cat,
                f"{company} lead",
                "Lead referred by AWS",
                [
                    {
                        "Type": "Lead",
                        "Payload": {
                            "Lead": {
                                "QualificationStatus": rng.choice(
                                    ("Qualified", "Unqualified", "In progress")
                                ),
                                "Customer": {
                                    "CompanyName": company,
                                    "Industry": rng.choice(("Software and Internet", "Financial Services")),
                                    "Address": {"CountryCode": "US", "City": "Seattle"},
                                    "MarketSegment": rng.choice(("Enterprise", "SMB", "Mid-market")),
                                },
                                "Interactions": [
                                    {
                                        "SourceType": rng.choice(("Event", "Website", "Marketplace")),
                                        "SourceId": f"src-{i}",
                                        "SourceName": rng.choice(
                                            ("re:Invent", "aws.amazon.com", "Marketplace")
                                        ),
                                        "Usecase": "Migration",
                                        "CustomerAction": "Requested a call",
                                        "BusinessProblem": f"{company} wants to move its data platform to AWS.",
                                        "Contact": {
                                            "BusinessTitle": "CTO",
                                            "Email": f"cto{i}@example.com",
                                            "FirstName": "Alex",
                                            "LastName": f"Doe{i}",
                                        },
                                    }
                                ],
                            }
                        },
                    }
                ],
                created_by="aws",
            )
            if i % 2 == 1:  # AWS invites the partner to this lead: a LeadInvitation, still pending
                self._lead_invitation(account, cat, eng, company, i)
                continue
            _extra(cat).members[eng["Id"]].append(
                {"CompanyName": account.tenant_id.title(), "AccountId": account.account_id}
            )
            eng["MemberCount"] = 2
            if i % 6 == 0:  # every sixth lead was converted into an opportunity (``converted_leads``)
                self.op_StartOpportunityFromEngagementTask(
                    account,
                    cat,
                    {"Identifier": eng["Id"], "ContextIdentifier": "1", "ClientToken": f"seed-{eng['Id']}"},
                )
        for _ in range(accounts):
            company = D.company_name(rng)
            try:
                self.new_customer_account(
                    account,
                    cat,
                    {"CompanyName": company, "WebsiteUrl": f"www.{company.lower().replace(' ', '')}.com"}
                    if rng.random() < 0.7
                    else {"CompanyName": company},
                )
            except ApiError:
                continue  # the same generated name twice: AWS refuses duplicates too
