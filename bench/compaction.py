"""Compaction of a ~200k-token session: how long the compaction node takes and how many tokens it frees.

Turn 1 builds the history (8 KB tool outputs, no usage in the script, so the replay model reports a
prompt size counted from the real messages) with compaction out of reach. Turn 2 reopens the session
with compaction.threshold_tokens below the current context: after its one tool call the compaction
node summarises (the replay script's next line is the deterministic summary) and the turn ends. The
node is timed with a LangChain callback on the session's run config (start to end of the node run).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.harness import ClockTool, Sandbox, answer_turn, drain, open_agent, require_done, steps_script
from bench.stats import Figure, Section

OUTPUT_BYTES = 8192
SUMMARY = (
    "The user asked for a sweep of learning rates; runs 1-100 printed their losses; "
    "the best was run 42 (loss 0.31); next: retrain run 42 for 3 epochs."
)


class NodeTimer:
    """Records how long each run of one graph node takes (a LangChain callback handler)."""

    def __init__(self, node: str):
        from langchain_core.callbacks import BaseCallbackHandler

        timer = self

        class Handler(BaseCallbackHandler):
            def on_chain_start(self, serialized, inputs, *, run_id, **kwargs: Any) -> None:
                if kwargs.get("name") == node:
                    timer.started[run_id] = time.perf_counter()

            def on_chain_end(self, outputs, *, run_id, **kwargs: Any) -> None:
                if run_id in timer.started:
                    timer.durations.append(time.perf_counter() - timer.started.pop(run_id))

            def on_chain_error(self, error, *, run_id, **kwargs: Any) -> None:
                # Command(goto=...) ends a node run through the error path in some versions
                self.on_chain_end(None, run_id=run_id)

        self.started: dict[Any, float] = {}
        self.durations: list[float] = []
        self.handler = Handler()


async def _compact_once(target_tokens: int) -> dict[str, float]:
    steps = target_tokens * 4 // OUTPUT_BYTES + 1
    clock = ClockTool(output_bytes=OUTPUT_BYTES)
    threshold = target_tokens * 3 // 4
    with Sandbox() as sandbox:
        model = sandbox.script(
            [
                *steps_script(steps, usage=None),
                *steps_script(1, usage=None, prefix="t")[:1],
                answer_turn(SUMMARY),
                answer_turn("done"),
            ]
        )
        out_of_reach = {"max_iterations": steps + 10, "compaction": {"threshold_tokens": 100 * target_tokens}}
        async with open_agent(sandbox, model, tools=[clock.tool()], settings=out_of_reach) as agent:
            session = await agent.new_session()
            require_done(await drain(session.run("sweep the learning rates")), "building the long session")
            before = len(await session.messages())
            context = (await session.state()).values.get("context_tokens", 0)
        if context < threshold:
            raise RuntimeError(f"the built session has {context} tokens, below the threshold {threshold}")
        timer = NodeTimer("compaction")
        async with open_agent(
            sandbox, model, tools=[clock.tool()], settings={"compaction": {"threshold_tokens": threshold}}
        ) as agent:
            session = await agent.load_session(session.id)
            session.config["callbacks"] = [timer.handler]
            started = time.perf_counter()
            events = await drain(session.run("and now?"))
            turn = time.perf_counter() - started
            require_done(events, "compacting turn")
            after = len(await session.messages())
    compacted = [e for e in events if e.type == "compacted"]
    if not compacted:
        raise RuntimeError(f"no compaction happened (context {context} tokens, threshold {threshold})")
    return {
        "node": max(timer.durations),
        "turn": turn,
        "old": compacted[0].old_tokens,
        "new": compacted[0].new_tokens,
        "messages_before": before,
        "messages_after": after,
    }


def run(quick: bool) -> Section:
    target = 50_000 if quick else 200_000
    repeats = 1 if quick else 3
    results = [asyncio.run(_compact_once(target)) for _ in range(repeats)]
    first = results[0]
    section = Section(
        f"Compaction (~{target // 1000}k-token session, {OUTPUT_BYTES // 1024} KB tool outputs, replayed summary)"
    )
    section.figures += [
        Figure("compaction node (summary call replayed)", [r["node"] * 1000 for r in results], "ms"),
        Figure("whole turn: one tool step + compaction + answer", [r["turn"] * 1000 for r in results], "ms"),
        Figure("context before compaction", [first["old"]], "tokens"),
        Figure("context after compaction", [first["new"]], "tokens"),
        Figure("tokens freed", [first["old"] - first["new"]], "tokens"),
    ]
    section.notes.append(
        f"Messages {first['messages_before']:,} before the compacting turn, "
        f"{first['messages_after']:,} after it (first user message, summary, recent tail)."
    )
    return section
