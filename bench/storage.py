"""Checkpoint storage with real tools that update the state (see bench/workload.py): the session's bytes in
the checkpoint tables after 300 and 1,000 steps, bytes per step, and the same per state channel, on SQLite
and (when a server is given) PostgreSQL.

Every step is checkpointed, so storage must grow linearly with the steps: bytes per step after 1,000 steps
about equal to bytes per step after 300, in all and in every channel. A channel stored whole in each
checkpoint (a dict that grows with the session) or snapshots of the whole history at a fixed interval add a
quadratic term, which the per-channel ratio shows even while it is still small next to the messages.
Sizes are deterministic, so each is measured once (the first run of the steps benchmark).
"""

from __future__ import annotations

from bench import accounting, workload
from bench.stats import Check, Figure, Section

BUDGETS_MB = {300: 2.0, 1000: 7.0}
LINEARITY_LIMIT = 1.5  # quick gate: bytes/step at 2N over bytes/step at N, in all and per channel
CHANNEL_SHARE = 0.02  # channels below this share of the bytes are too small to judge


def _kb(value: float) -> str:
    return f"{value / 1e3:.2f} KB"


def channel_note(label: str, run: workload.Run, small: int, large: int) -> str:
    before, after = run.channel_bytes[small], run.channel_bytes[large]
    ratios = accounting.growth(before, small, after, large)
    parts = [
        f"{name} {_kb(before.get(name, 0) / small)} → {_kb(size / large)} ({ratios[name]:.2f}x)"
        for name, size in after.most_common(6)
    ]
    return f"{label}, bytes/step by channel after {small:,} → {large:,} steps: " + ", ".join(parts) + "."


def backend_figures(section: Section, label: str, run: workload.Run, small: int, large: int) -> None:
    shown = [s for s in run.sizes if s >= small]
    for n in shown:
        total = run.thread_bytes[n]
        budget = f"< {BUDGETS_MB[n]:g} MB" if n in BUDGETS_MB else ""
        section.figures.append(
            Figure(f"{label}: session checkpoints after {n:,} steps", [total / 1e6], "MB", budget, BUDGETS_MB.get(n))
        )
        section.figures.append(Figure(f"{label}: bytes per step after {n:,} steps", [total / n / 1e3], "KB"))
        snapshots = run.extra[n].get("snapshots")
        if snapshots is not None:
            section.figures.append(
                Figure(
                    f"{label}: of which full-history snapshots",
                    [snapshots / 1e6],
                    "MB",
                    note="DeltaChannel snapshots of messages and files_read",
                )
            )
        if "file" in run.extra[n]:
            note = "sessions.sqlite + WAL"
            section.figures.append(
                Figure(f"{label}: database file after {n:,} steps", [run.extra[n]["file"] / 1e6], "MB", note=note)
            )
        if "tables" in run.extra[n]:
            note = "pg_total_relation_size"
            section.figures.append(
                Figure(f"{label}: checkpoint tables after {n:,} steps", [run.extra[n]["tables"] / 1e6], "MB", note=note)
            )
    growth = (run.thread_bytes[large] / large) / (run.thread_bytes[small] / small)
    section.figures.append(
        Figure(f"{label}: bytes/step after {large:,} / after {small:,} steps", [growth], "x", "≤ 1.1x")
    )
    section.checks.append(
        Check(
            f"{label} bytes/step at {large} / at {small} steps",
            growth,
            LINEARITY_LIMIT,
            "storage must grow linearly; a checkpoint that re-stores the history makes this ratio ~2x per doubling",
        )
    )
    if small in run.channel_bytes and large in run.channel_bytes:
        after = run.channel_bytes[large]
        ratios = accounting.growth(run.channel_bytes[small], small, after, large)
        total = sum(after.values())
        judged = {name: ratio for name, ratio in ratios.items() if after[name] >= CHANNEL_SHARE * total}
        worst = max(judged, key=judged.get)
        section.checks.append(
            Check(
                f"{label} bytes/step of the fastest-growing channel ({worst}) at {large} / at {small} steps",
                judged[worst],
                LINEARITY_LIMIT,
                "every state channel must store only its changes: one that is stored whole in each checkpoint "
                "grows ~2x per doubling of the session, even while the total still looks linear",
            )
        )
        section.notes.append(channel_note(label, run, small, large))


def run(quick: bool) -> Section:
    small, large = (40, 80) if quick else (300, 1000)
    section = Section("Checkpoint storage (real tools, ~2 KB per step)")
    for backend, url, sizes, _count in workload.backends(quick):
        backend_figures(section, backend, workload.runs(backend, sizes, 1, url)[0], small, large)
    if len(section.checks) < 4:
        section.figures.append(
            Figure(
                "PostgreSQL",
                [],
                "MB",
                note="not measured: set ML_INTERN_TEST_DATABASE_URL "
                "(`bash .ci/postgres.sh` prints it) or ML_INTERN_DATABASE_URL",
            )
        )
    return section
