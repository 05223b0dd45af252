"""Agents: ask the partner advisor, ops, support or doc agent about the tenant; answers cite the rows they used."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from control_plane.client import ControlPlaneError, PermissionDenied
from dashboards.lib import ui

AGENTS = {
    "advisor": ("Partner advisor", "Which opportunities need attention and why?"),
    "ops": ("Ops agent", "Why did last night's run fail?"),
    "support": ("Support agent", "Why is my win_rate what it is?"),
    "doc": ("Doc agent", "How do approvals work?"),
}

ctx = ui.page("Agents", ":material/smart_toy:")
tenant = ctx.tenant
agent = st.selectbox("Agent", list(AGENTS), format_func=lambda a: AGENTS[a][0], key=f"a_agent_{tenant}")
question = st.text_area(
    "Question", value=AGENTS[agent][1], key=f"a_question_{tenant}_{agent}", max_chars=4000
)
st.caption(
    "Every tool call is decided by the policy and audited; changes to Partner Central only ever become approval "
    "requests; citations are checked against your tenant's rows before the answer is shown."
)

if st.button("Ask", type="primary", key="a_ask"):
    try:
        with st.spinner("Asking…"):
            answer = ui.caller_client().ask_agent(tenant, agent, question)
    except PermissionDenied as exc:
        st.error(f"Refused by policy: {exc.detail}")
    except ControlPlaneError as exc:
        st.warning(f"No answer: {exc.detail}")
    else:
        st.markdown(answer.answer.replace("\n", "  \n"))
        left, middle, right = st.columns(3)
        left.metric("Citations", len(answer.citations))
        middle.metric("Tool calls", len(answer.tool_calls))
        right.metric("Tokens", answer.input_tokens + answer.output_tokens)
        if answer.citations:
            st.subheader("Citations")
            st.dataframe(pd.DataFrame({"citation": answer.citations}), hide_index=True, width="stretch")
        if answer.removed_citations:
            st.warning("Removed (did not resolve to your rows): " + ", ".join(answer.removed_citations))
        calls = pd.DataFrame(
            [
                {"tool": c.name, "outcome": c.outcome, "reasons": "; ".join(c.reasons), "rows": len(c.refs)}
                for c in answer.tool_calls
            ],
            columns=["tool", "outcome", "reasons", "rows"],
        )
        st.subheader("Tool calls")
        st.dataframe(calls, hide_index=True, width="stretch")
        st.caption(
            f"Prompt {answer.prompt_id}@{answer.prompt_version} on {answer.model} · run {answer.run_id}"
        )

with st.expander("Prompt registry"):
    try:
        prompts = ui.caller_client().agent_prompts()
    except ControlPlaneError as exc:
        st.info(f"The prompt registry is not available: {exc.detail}")
    else:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "agent": p.agent,
                        "prompt": p.id,
                        "version": p.version,
                        "model": p.model,
                        "owner": p.owner.get("team"),
                        "approval": p.approval.get("status"),
                        "evaluation set": p.evaluation_set,
                    }
                    for p in prompts
                ]
            ),
            hide_index=True,
            width="stretch",
        )
