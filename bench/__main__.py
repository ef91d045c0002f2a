"""Run the benchmark suite: `uv run python -m bench` (full, ~3-5 min on 2 cores, writes the results
into bench/README.md) or `uv run python -m bench --quick` (< 60 s, the CI gates; exits 1 when a gate is broken).

Prints one markdown table per benchmark (median and min-max over repeated runs) and saves the raw
samples as JSON (bench/results/latest.json by default).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from pathlib import Path

from bench.harness import ROOT
from bench.machine import describe
from bench.report import results_markdown, write_readme
from bench.stats import Check, Section

BENCHMARKS = ["startup", "steps", "storage", "history", "parallel", "compaction", "sandbox"]
OPTIONAL = ["snapshots", "original"]  # run only when named in --only (slow, or need the original checked out)
MODULES = {"original": "compare_original"}  # a benchmark's module, when not named for it


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats (< 60 s); used by CI")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(BENCHMARKS + OPTIONAL)}")
    parser.add_argument(
        "--json",
        type=Path,
        default=ROOT / "bench" / "results" / "latest.json",
        help="where to save the raw results (default: bench/results/latest.json)",
    )
    readme = parser.add_mutually_exclusive_group()
    readme.add_argument(
        "--readme",
        dest="readme",
        action="store_true",
        default=None,
        help="write the results into bench/README.md (default for a full run of every benchmark)",
    )
    readme.add_argument("--no-readme", dest="readme", action="store_false", help="leave bench/README.md alone")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()] or list(BENCHMARKS)
    unknown = [name for name in args.only if name not in BENCHMARKS + OPTIONAL]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}: use {', '.join(BENCHMARKS + OPTIONAL)}")
    if args.readme is None:
        args.readme = not args.quick and args.only == BENCHMARKS
    return args


def run_one(name: str, quick: bool) -> Section:
    started = time.perf_counter()
    try:
        section = importlib.import_module(f"bench.{MODULES.get(name, name)}").run(quick)
    except Exception as exc:  # one broken benchmark must not hide the others' numbers
        traceback.print_exc()
        section = Section(f"{name} (failed)", notes=[f"The benchmark failed: {type(exc).__name__}: {exc}"])
        section.checks.append(Check(f"{name} benchmark ran", 1, 1, f"{type(exc).__name__}: {exc}"))
    section.seconds = time.perf_counter() - started
    return section


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    machine = describe()
    started = time.perf_counter()
    sections = []
    for name in args.only:
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        sections.append(run_one(name, args.quick))
        print(f"bench: {name} done in {sections[-1].seconds:.1f} s", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    results = results_markdown(sections, machine, args.quick, seconds)
    print(results)

    args.json.parent.mkdir(parents=True, exist_ok=True)
    failed = [c for s in sections for c in s.checks if not c.passed]
    args.json.write_text(
        json.dumps(
            {
                "machine": machine,
                "quick": args.quick,
                "seconds": seconds,
                "passed": not failed,
                "sections": [s.to_dict() for s in sections],
            },
            indent=1,
        )
    )
    if args.readme:
        write_readme(ROOT / "bench" / "README.md", results)
        print("bench: results written to bench/README.md", file=sys.stderr)
    for check in failed:
        print(
            f"bench: GATE BROKEN: {check.name} = {check.value:.2f} (limit {check.limit:g}): {check.why}",
            file=sys.stderr,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
