"""Results as markdown: one table per benchmark plus the gates, and the block of bench/README.md they live in.

The README keeps its prose; only the text between RESULTS_START and RESULTS_END is rewritten by a full
run (a Benchmarks section holding the block is appended to the end of the file when it is missing).
"""

from __future__ import annotations

from pathlib import Path

from bench.stats import Section, fmt

RESULTS_START = "<!-- bench:results:start (written by `python -m bench`; edits here are overwritten) -->"
RESULTS_END = "<!-- bench:results:end -->"
SECTION_HEADING = "## Benchmarks"


def machine_line(machine: dict[str, str]) -> str:
    return (
        f"Measured on {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, {machine['os']}; "
        f"load average {machine['load_at_start']} at the start; {machine['date']}; commit {machine['commit']}."
    )


def section_markdown(section: Section) -> str:
    lines = [
        f"### {section.title}",
        "",
        "| Measure | Median | Spread (min–max) | Runs | Budget | Status |",
        "|---|---:|---|---:|---|---|",
    ]
    for f in section.figures:
        if not f.measured:
            lines.append(f"| {f.name} | — | — | 0 | {f.budget} | {f.note or 'not measured'} |")
            continue
        spread = "—" if len(f.samples) == 1 else f"{fmt(f.low, f.unit)} – {fmt(f.high, f.unit)}"
        status = f.status + (f" ({f.note})" if f.note else "")
        lines.append(
            f"| {f.name} | {fmt(f.median, f.unit)} | {spread} | {len(f.samples)} | {f.budget} | {status.strip()} |"
        )
    lines += [""] + [f"{note}" for note in section.notes] + ([""] if section.notes else [])
    return "\n".join(lines)


def checks_markdown(sections: list[Section]) -> str:
    lines = [
        "### Gates (ratios within one run; `--quick` fails when one is broken)",
        "",
        "| Gate | Value | Limit | Pass |",
        "|---|---:|---:|---|",
    ]
    for section in sections:
        for c in section.checks:
            value = f"{c.value:.2f}" if isinstance(c.value, float) else str(c.value)
            lines.append(f"| {c.name} | {value} | < {c.limit:g} | {'yes' if c.passed else 'NO'} |")
    return "\n".join(lines)


def results_markdown(sections: list[Section], machine: dict[str, str], quick: bool, seconds: float) -> str:
    mode = "quick mode (`--quick`: small sizes, few repeats)" if quick else "full run"
    parts = [machine_line(machine) + f" {mode.capitalize()}, {seconds:.0f} s in all.", ""]
    parts += [section_markdown(s) for s in sections]
    parts.append(checks_markdown(sections))
    return "\n".join(parts).rstrip() + "\n"


def write_readme(readme: Path, results: str) -> None:
    """Replace the results block of `readme` (append a Benchmarks section holding it when missing)."""
    text = readme.read_text()
    block = f"{RESULTS_START}\n{results}{RESULTS_END}"
    if RESULTS_START in text and RESULTS_END in text:
        head, rest = text.split(RESULTS_START, 1)
        _old, tail = rest.split(RESULTS_END, 1)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + f"\n\n{SECTION_HEADING}\n\n{block}\n"
    readme.write_text(text)
