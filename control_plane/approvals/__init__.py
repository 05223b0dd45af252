"""Approvals domain: requests for sensitive actions (Partner Central writes, Marketplace change sets), decided by
an approver who is not the requester, expiring, and executed at most once (``gate.DbApprovalGate``)."""
