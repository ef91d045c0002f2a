"""What code a run ran, for the ledger: the script's hash, the workspace's git commit and uncommitted diff,
the hyperparameters on its command line, and the datasets and models its script names (with the revision
when it pins one)."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

_FLAG = re.compile(r"^--?([A-Za-z][\w.-]*)(?:=(.*))?$")
_KEY_VALUE = re.compile(r"^([A-Za-z_][\w.]*)=(.+)$")
_REPO = r"""\(\s*(?:repo_id\s*=\s*|path\s*=\s*|pretrained_model_name_or_path\s*=\s*)?["']([\w.-]+/[\w.-]+|[\w.-]+)["']([^)]*)\)"""
_DATASETS = re.compile(r"load_dataset" + _REPO)
_MODELS = re.compile(r"from_pretrained" + _REPO)
_REVISION = re.compile(r"revision\s*=\s*[\"']([^\"']+)[\"']")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def hyperparameters(argv: list[str]) -> dict[str, str]:
    """`--lr 3e-4 --epochs=3 seed=1 --fp16` -> {"lr": "3e-4", "epochs": "3", "seed": "1", "fp16": "true"}."""
    found: dict[str, str] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        flag = _FLAG.match(arg)
        if flag and not re.fullmatch(r"-?\d[\d.eE+-]*", arg):
            name, value = flag.group(1), flag.group(2)
            if value is None:
                following = argv[i + 1] if i + 1 < len(argv) else None
                is_flag = following is not None and _FLAG.match(following) and not _is_number(following)
                if following is not None and not is_flag and not _KEY_VALUE.match(following):
                    value, i = following, i + 1
                else:
                    value = "true"
            found[name] = value
        elif kv := _KEY_VALUE.match(arg):
            found[kv.group(1)] = kv.group(2)
        i += 1
    return found


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def referenced_repos(source: str) -> tuple[list[str], list[str]]:
    """(datasets, models) a script loads, as `id` or `id@revision` when it pins one."""

    def refs(pattern: re.Pattern[str]) -> list[str]:
        out = []
        for repo, rest in pattern.findall(source):
            revision = _REVISION.search(rest)
            ref = f"{repo}@{revision.group(1)}" if revision else repo
            if ref not in out:
                out.append(ref)
        return out

    return refs(_DATASETS), refs(_MODELS)


def git_state(folder: Path) -> tuple[str | None, str | None]:
    """(HEAD commit, sha256 of `git diff HEAD`) of the folder's repository; (None, None) outside one."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=folder, capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None, None
    diff = git("diff", "HEAD") or ""
    untracked = git("ls-files", "--others", "--exclude-standard") or ""
    return commit.strip(), sha256_text(diff + "\n--untracked--\n" + untracked) if (diff or untracked) else None
