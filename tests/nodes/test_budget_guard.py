"""The session's dollar budget: a model call or a paid job that would cross it pauses the turn, a raised
budget resumes it; an unpriced model is shown as unknown, never as $0."""

from __future__ import annotations

import pytest
from helpers import call, collect, of_type, open_agent

from core.budget import Spend, spend_of

pytest_plugins = ["hf_fake_server"]  # the hf_env fixture

# $10 per million tokens both ways: a call with 50,000 tokens in and 1,000 out costs $0.51
PRICED = {"replay:*": {"input_per_mtok": 10, "output_per_mtok": 10}}
BIG = {"input_tokens": 50_000, "output_tokens": 1_000}


async def test_a_model_call_that_would_cross_the_budget_waits_and_a_raised_budget_resumes_it(replay, workspace):
    model = replay(
        [
            {"tool_calls": [call("plan_tool", {"todos": []}, "p1")], "usage": BIG},
            {"content": "done", "usage": BIG},
        ]
    )
    settings = {"budget": {"max_usd": 0.75, "model_prices": PRICED}}
    async with open_agent(model, workspace, settings=settings) as agent:
        session = await agent.new_session()
        events = await collect(session.run("go"))
        # the first call ($0.51) fits; the second would bring it to ~$1.02 > $0.75: asked before it is made
        waiting = of_type(events, "budget_required")[0]
        assert waiting.max_budget_usd == 0.75 and waiting.spent_usd == pytest.approx(0.51)
        assert waiting.estimate_usd > 0.24 and "crosses the session's budget of $0.75" in waiting.message
        assert of_type(events, "turn_complete")[0].status == "budget"
        assert len([e for e in events if e.type == "assistant_message"]) == 1  # the second call was not made

        events = await collect(session.run(None))  # run again under the same budget: still waiting
        assert of_type(events, "turn_complete")[0].status == "budget"

        agent.deps.settings.budget.max_usd = 2.0  # what --max-budget-usd 2 (or the chat's answer) does
        events = await collect(session.run(None))
        done = of_type(events, "turn_complete")[0]
        assert (done.status, done.final_response) == ("done", "done")
        usage = (await session.state()).values["usage"]
        assert spend_of(usage).total_usd == pytest.approx(1.02) and usage["calls"] == 2


async def test_a_new_prompt_while_waiting_at_the_budget_stops_that_turn(replay, workspace):
    model = replay(
        [
            {"tool_calls": [call("plan_tool", {"todos": []}, "p1")], "usage": BIG},
            {"content": "never sent", "usage": BIG},
        ]
    )
    settings = {"budget": {"max_usd": 0.6, "model_prices": PRICED}}
    async with open_agent(model, workspace, settings=settings) as agent:
        session = await agent.new_session()
        assert of_type(await collect(session.run("go")), "turn_complete")[0].status == "budget"
        events = await collect(session.run("something else"))
        # the waiting turn is stopped (no model call), the new one waits at the budget again
        assert of_type(events, "turn_complete")[-1].status == "budget"
        assert any(e.type == "error" and e.kind == "budget" for e in events)


async def test_a_paid_job_whose_price_times_timeout_crosses_the_budget_waits_then_runs(replay, workspace, hf_env):
    hf_env.hub.next_job_ids.append("job-budget")
    job = {"operation": "run", "script": "print(1)", "flavor": "a10g-large", "timeout": "2h"}  # $1.50/h x 2 h
    model = replay([{"tool_calls": [call("hf_jobs", job, "j1")]}, {"content": "submitted"}])
    settings = {"endpoints": {"hf_endpoint": hf_env.hub.url}, "budget": {"max_usd": 1.0}}
    async with open_agent(model, workspace, settings=settings) as agent:
        session = await agent.new_session()
        events = await collect(session.run("train"))
        waiting = of_type(events, "budget_required")[0]
        assert waiting.estimate_usd == pytest.approx(3.0) and "hf_jobs on paid hardware" in waiting.message
        assert of_type(events, "turn_complete")[0].status == "budget"
        assert hf_env.hub.job_specs == {}  # nothing submitted

        agent.deps.settings.budget.max_usd = 5.0
        events = await collect(session.run(None))
        # within budget now; paid hardware still asks for approval (yolo never approves it alone)
        assert of_type(events, "turn_complete")[0].status == "approval_pending"
        (question,) = [i.value for i in (await session.state()).interrupts]
        assert question["kind"] == "approval" and "error" not in question  # the budget answer is not taken for it
        events = await collect(session.run(None, decisions={"*": {"action": "approve"}}))
        assert of_type(events, "turn_complete")[0].final_response == "submitted"
        assert hf_env.hub.job_specs["job-budget"]["flavor"] == "a10g-large"
        spend = spend_of((await session.state()).values["usage"])
        assert spend.jobs_usd == pytest.approx(3.0)  # reserved at its most: price x timeout


async def test_stopping_at_the_budget_rejects_the_paid_job_and_ends_the_turn(replay, workspace, hf_env):
    job = {"operation": "run", "script": "print(1)", "flavor": "a10g-large", "timeout": "2h"}
    model = replay([{"tool_calls": [call("hf_jobs", job, "j1")]}, {"content": "not reached"}])
    settings = {"endpoints": {"hf_endpoint": hf_env.hub.url}, "budget": {"max_usd": 1.0}}
    async with open_agent(model, workspace, settings=settings) as agent:
        session = await agent.new_session()
        await collect(session.run("train"))
        events = await collect(session.run(None, doom_answer="no"))  # the chat's "no"
        assert of_type(events, "turn_complete")[0].status == "budget"
        result = next(m for m in await session.messages() if m.type == "tool")
        assert result.status == "error" and "budget" in str(result.content)
        assert hf_env.hub.job_specs == {}


async def test_an_unpriced_model_is_counted_as_unknown_not_free(replay, workspace):
    from nodes.budget_guard import usage_cost

    async with open_agent(replay([{"content": "hi"}]), workspace) as agent:
        deps = agent.deps
        assert usage_cost(deps, 100, 10) == {"cost_usd": 0.0}  # replay (like a local server) is free
        handle = deps.model_handle()
        handle.litellm_model = "huggingface/some-org/not-in-any-price-table"  # litellm itself would say $0
        assert usage_cost(deps, 100, 10) == {"cost_usd": 0.0, "unpriced_calls": 1}
        handle.litellm_model = "anthropic/claude-sonnet-4-5"  # in litellm's table: $3 / $15 per million
        assert usage_cost(deps, 100_000, 0) == {"cost_usd": pytest.approx(0.3)}
        deps.settings.budget.model_prices = {"replay:*": _price(2, 4)}  # the config's price wins
        assert usage_cost(deps, 1_000_000, 1_000_000) == {"cost_usd": pytest.approx(6.0)}
    assert Spend(0.5, 0.0, 2).describe(5) == "$0.5000 of $5.00 + 2 model calls at unknown price"


def _price(input_per_mtok: float, output_per_mtok: float):
    from configs.schema import ModelPrice

    return ModelPrice(input_per_mtok=input_per_mtok, output_per_mtok=output_per_mtok)


async def test_the_research_sub_agent_spends_only_what_is_left_of_the_budget(replay, workspace):
    model = replay(
        [
            {"tool_calls": [call("research", {"question": "what lr?"}, "q1")], "usage": BIG},  # $0.51
            {"content": "never reached: the sub-agent's call would cross the budget"},
        ]
    )
    settings = {"budget": {"max_usd": 0.52, "model_prices": PRICED}}
    async with open_agent(model, workspace, settings=settings) as agent:
        session = await agent.new_session()
        events = await collect(session.run("go"))
        stopped = [e for e in events if e.type == "error" and e.agent == "research"]
        assert stopped and stopped[0].kind == "budget"
        assert not [e for e in events if e.type == "assistant_message" and e.agent == "research"]
        assert of_type(events, "turn_complete")[0].status == "budget"  # the main agent waits at the budget too
