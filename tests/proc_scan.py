"""Look for key values in other processes' /proc/<pid>/environ and /proc/<pid>/cmdline, as a hostile
child of the agent would: every ancestor of this process, then every other process it may read.

`python proc_scan.py NEEDLES OUT` writes a JSON report to OUT; the MCP scanner imports `scan`. The
values come hex-encoded in the NEEDLES file, so the scanner's own command line and environment never
hold them (it would find itself).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rfind(")") + 2 :].split()[1])


def ancestors() -> list[int]:
    chain, pid = [], os.getpid()
    while pid > 1:
        try:
            pid = _parent(pid)
        except OSError:
            break
        chain.append(pid)
    return chain


def scan(needles_file: str) -> dict:
    needles = [bytes.fromhex(h) for h in json.loads(Path(needles_file).read_text())]
    up = ancestors()
    others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in up and int(p) != os.getpid()]
    report: dict = {"pid": os.getpid(), "ancestors": up, "read": [], "denied": [], "found": []}
    for pid in up + others:
        for part in ("environ", "cmdline"):
            try:
                data = Path(f"/proc/{pid}/{part}").read_bytes()
            except PermissionError:
                report["denied"].append(pid)
                continue
            except OSError:  # gone meanwhile
                continue
            if part == "environ":
                report["read"].append(pid)
            report["found"] += [[pid, part, i] for i, n in enumerate(needles) if n in data]
    return report


if __name__ == "__main__":
    Path(sys.argv[2]).write_text(json.dumps(scan(sys.argv[1])))
    print("scanned")
