"""What a shell command is, for the approval policy: destructive or not, and the prefix a user may allow.

A destructive command (recursive or forced deletes, history rewrites, disk formatting...) is asked about
even in yolo mode and is never covered by an "always allow" answer. The check reads the words of each
simple command (after ; && || | and inside bash -c, past sudo/xargs/env...): a pattern list, not a shell
parser, so it catches the usual forms, not every way to delete a file (`python -c "shutil.rmtree(...)"`).

"Always allow this prefix" only holds for one simple command: a command that chains, pipes, substitutes
or redirects could hide anything after an allowed prefix (`git status; rm -rf ~`), so it is asked again.
"""

from __future__ import annotations

import re
import shlex

# Each pattern matches one simple command's words joined by spaces; the value says why it is destructive.
_DESTRUCTIVE: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^rm( \S+)* (-[a-zA-Z]*[rR][a-zA-Z]*|--recursive)( |$)"), "deletes files recursively"),
    (re.compile(r"^(shred|wipefs|mkfs(\.\w+)?|fdisk|sfdisk|parted)\b"), "destroys data on a disk or file"),
    (re.compile(r"^dd( \S+)* of="), "writes raw data over a file or device"),
    (re.compile(r"^find( \S+)* (-delete|-exec rm)\b"), "deletes the files it finds"),
    (re.compile(r"^git( \S+)* reset( \S+)* --hard\b"), "discards uncommitted changes (git reset --hard)"),
    (re.compile(r"^git( \S+)* clean( \S+)* -[a-zA-Z]*f"), "deletes untracked files (git clean -f)"),
    (re.compile(r"^git( \S+)* push( \S+)* (-f|--force|--force-with-lease|--delete)\b"), "rewrites a remote's history"),
    (re.compile(r"^git( \S+)* (checkout|restore)( \S+)* (--|\.)( |$)"), "discards changes to working files"),
    (re.compile(r"^git( \S+)* branch( \S+)* -D\b"), "deletes a branch that may not be merged"),
    (re.compile(r"^chmod( \S+)* -[a-zA-Z]*R"), "changes permissions recursively"),
    (re.compile(r"^chown( \S+)* -[a-zA-Z]*R"), "changes owners recursively"),
    (re.compile(r"^truncate\b"), "cuts files short"),
    (re.compile(r"^(hf|huggingface-cli) (repo delete|delete)\b"), "deletes a Hub repository"),
]
_WRAPPERS = {"sudo", "xargs", "nohup", "time", "env", "nice", "command", "exec", "timeout"}
# Programs whose second word is a subcommand: "always allow" covers `git status`, not every git command.
_SUBCOMMANDS = {
    "git",
    "uv",
    "pip",
    "pip3",
    "npm",
    "pnpm",
    "yarn",
    "cargo",
    "docker",
    "hf",
    "huggingface-cli",
    "conda",
    "make",
    "go",
    "kubectl",
    "poetry",
    "gh",
}
_CHAINING = re.compile(r"[;&|`\n<>]|\$\(")
_SPLIT = re.compile(r"\|\||&&|[;|&\n]|\$\(|`")


def simple_commands(command: str) -> list[list[str]]:
    """The words of each simple command in `command` (split at ; && || | & and substitutions)."""
    out: list[list[str]] = []
    for piece in _SPLIT.split(command):
        try:
            words = shlex.split(piece, comments=True)
        except ValueError:  # an unclosed quote: judge the raw words
            words = piece.split()
        while words and re.fullmatch(r"\w+=\S*", words[0]):  # VAR=value before the command
            words = words[1:]
        words = [w.rsplit("/", 1)[-1] if i == 0 else w for i, w in enumerate(words)]  # /bin/rm -> rm
        if words:
            out.append(words)
    return out


def destructive_reason(command: str) -> str | None:
    """Why `command` may destroy work that cannot be recovered, or None."""
    for words in simple_commands(command):
        if words[0] in ("bash", "sh", "zsh") and "-c" in words:  # bash -c '...': judge what it runs
            inner = words[words.index("-c") + 1 :]
            reason = destructive_reason(" ".join(inner)) if inner else None
            if reason:
                return reason
        while len(words) > 1 and words[0] in _WRAPPERS:  # sudo rm -rf: judge rm -rf
            words = words[1:]
            while len(words) > 1 and (words[0][:1] in "-0123456789" or "=" in words[0]):
                words = words[1:]
        joined = " ".join(words)
        for pattern, reason in _DESTRUCTIVE:
            if pattern.search(joined):
                return f"{reason}: {joined[:80]}"
    return None


def suggested_prefix(command: str) -> str | None:
    """The prefix an "always allow" answer would cover: the program and its subcommand (`git status`,
    `uv run`, `python`), or None when the command is not one simple command."""
    if _CHAINING.search(command):
        return None
    words = simple_commands(command)
    if len(words) != 1:
        return None
    first = words[0]
    if first[0] in _WRAPPERS or first[0] in ("bash", "sh", "zsh", "eval"):
        return None  # "always allow sudo" would allow anything
    if first[0] in _SUBCOMMANDS and len(first) > 1 and re.fullmatch(r"[a-z][a-z0-9_-]*", first[1]):
        return f"{first[0]} {first[1]}"
    return first[0]


def matches_prefix(command: str, prefix: str) -> bool:
    """Does an allowed prefix cover `command`? Only a single simple command, starting with the prefix's words."""
    if _CHAINING.search(command) or destructive_reason(command):
        return False
    words = simple_commands(command)
    wanted = prefix.split()
    return len(words) == 1 and words[0][: len(wanted)] == wanted
