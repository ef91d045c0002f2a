"""bubblewrap: the command line that confines one command, and whether bubblewrap works on this machine.

What a sandboxed command sees (the README's "Where commands run" says the same for users):
- the whole file system read-only (programs, libraries, Python installs, the project's own .venv; the agent's
  own Python stays visible even where it lives under /tmp or ~/.cache, which the sandbox replaces);
- read-write: the workspace, `workspace.allowed_paths`, and the shared caches of Hugging Face (hub, datasets,
  xet), pip, uv and torch, so a model or a wheel is downloaded once for the user and the agent alike;
- its own /tmp (a folder of the session on disk, not the host's /tmp) and its own ~/.cache (a tmpfs: other
  tools' caches work but do not persist);
- hidden: ml-intern's own home, config and .env, the HF token file, and the usual credential stores
  (~/.ssh, ~/.aws, ~/.netrc, docker's socket...): read-only is not enough for a file that holds a key;
- a new PID namespace (only its own processes in /proc: not the agent, not the user's shell), new IPC and
  UTS namespaces, no capabilities (as root, bwrap keeps them unless told: with them a command could remount
  / read-write), /proc/sys and other writable kernel knobs read-only;
- `--die-with-parent`: killed with its parent (the agent for bash and MCP servers, the job runner for a job);
  when the sandbox's PID 1 dies the kernel kills everything left in it, a double-forked daemon included;
- the network unless `sandbox.network` is false (`--unshare-net`: only a loopback of its own).
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from configs.environment import loaded_env_file, user_config_dir
from core.paths import ml_intern_home

_PROBE_TIMEOUT_S = 10.0
# Kernel interfaces root could write through a fresh /proc (the hostname, sysctls, sysrq).
_PROC_READ_ONLY = ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs")
_HOME_SECRETS = (
    ".ssh", ".aws", ".azure", ".config/gcloud", ".kube", ".docker", ".gnupg", ".config/gh", ".kaggle",
    ".huggingface", ".netrc", ".git-credentials", ".pypirc", ".config/hub", ".local/share/uv/credentials",
)  # fmt: skip
_GPU_DEVICES = ("/dev/nvidia*", "/dev/dri", "/dev/kfd")
INSTALL_FIX = (
    "install bubblewrap (Debian/Ubuntu: sudo apt install bubblewrap; Fedora: sudo dnf install bubblewrap; "
    "Arch: sudo pacman -S bubblewrap) or point sandbox.bwrap at it"
)
USERNS_FIX = (
    "allow unprivileged user namespaces: sudo sysctl -w kernel.unprivileged_userns_clone=1 (Debian), "
    "on Ubuntu 23.10+ sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (or an AppArmor profile "
    "for bwrap), in a container run it with --security-opt seccomp=unconfined --security-opt apparmor=unconfined"
)


@dataclass(frozen=True)
class Probe:
    """Whether bubblewrap works here; when it does not, why and how to fix it (one line each)."""

    ok: bool
    binary: str | None  # absolute path, when found
    detail: str
    fix: str = ""


def _userns_off() -> bool:
    for knob in ("/proc/sys/kernel/unprivileged_userns_clone", "/proc/sys/user/max_user_namespaces"):
        try:
            if Path(knob).read_text().strip() == "0":
                return True
        except OSError:
            continue
    return False


@functools.lru_cache(maxsize=8)
def probe(binary: str = "bwrap") -> Probe:
    """Run a minimal sandbox once (~10 ms) and cache the answer for this process."""
    if not sys.platform.startswith("linux"):
        return Probe(False, None, f"bubblewrap needs Linux (this is {sys.platform})", "use a Space sandbox "
                     "(sandbox_create) for confined commands, or set sandbox.backend to local to silence this")  # fmt: skip
    found = shutil.which(binary)
    if found is None:
        return Probe(False, None, f"bubblewrap not found ({binary})", INSTALL_FIX)
    argv = [found, "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--cap-drop", "ALL",
            "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--", "true"]  # fmt: skip
    try:
        done = subprocess.run(argv, env={"PATH": os.defpath}, capture_output=True, timeout=_PROBE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Probe(False, found, f"{found} could not run: {exc}", INSTALL_FIX)
    if done.returncode == 0:
        version = subprocess.run([found, "--version"], capture_output=True, text=True).stdout.strip()
        return Probe(True, found, version or found)
    said = (done.stderr.decode(errors="replace").strip().splitlines() or [f"exit code {done.returncode}"])[-1]
    lowered = said.lower()
    if _userns_off() or any(s in lowered for s in ("namespace", "uid map", "uid_map", "not permitted", "permission")):
        return Probe(False, found, f"user namespaces are not available ({said})", USERNS_FIX)
    return Probe(False, found, f"bubblewrap failed: {said}", f"check `{found} --ro-bind / / true` by hand")


def _within(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def _cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def _hf_home() -> Path:
    return Path(os.environ.get("HF_HOME") or _cache_home() / "huggingface").expanduser()


def shared_caches() -> list[Path]:
    """The download caches a command may write: the Hub's, pip's, uv's and torch's (created if missing)."""
    env, hf = os.environ.get, _hf_home()
    caches = [
        Path(env("HF_HUB_CACHE") or hf / "hub"),
        Path(env("HF_DATASETS_CACHE") or hf / "datasets"),
        Path(env("HF_XET_CACHE") or hf / "xet"),
        Path(env("PIP_CACHE_DIR") or _cache_home() / "pip"),
        Path(env("UV_CACHE_DIR") or _cache_home() / "uv"),
        Path(env("TORCH_HOME") or _cache_home() / "torch"),
    ]
    kept = []
    for cache in caches:
        cache = cache.expanduser().absolute()
        try:
            cache.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        kept.append(cache)
    return kept


def hidden_paths() -> list[Path]:
    """Places that hold keys, hidden from every sandbox (only those that exist)."""
    home = Path.home()
    hf = _hf_home()
    candidates = [
        ml_intern_home(),
        user_config_dir(),
        loaded_env_file(),
        Path(os.environ.get("HF_TOKEN_PATH") or hf / "token"),
        hf / "stored_tokens",
        *(home / name for name in _HOME_SECRETS),
        Path(f"/run/user/{os.getuid()}"),
        Path("/run/docker.sock"),
        Path("/run/podman"),
    ]
    seen, out = set(), []
    for path in candidates:
        if path is None:
            continue
        path = path.expanduser().absolute()
        if path not in seen and (path.exists() or path.is_symlink()):
            seen.add(path)
            out.append(path)
    return out


@dataclass(frozen=True)
class Layout:
    """The mounts of one kind of sandbox (a session's bash, a job, an MCP server), computed once."""

    binary: str
    writable: tuple[Path, ...]  # the workspace first, then allowed paths (existing ones)
    caches: tuple[Path, ...]
    hidden: tuple[Path, ...]
    network: bool
    devices: tuple[str, ...]
    python: tuple[Path, ...] = ()  # the agent's Python installs (sys.prefix, sys.base_prefix), read-only
    visible: tuple[Path, ...] = ()  # what the command itself needs to read (an MCP server's script), read-only

    def argv(self, cwd: Path, tmp: Path | None = None, *, die_with_parent: bool = True) -> list[str]:
        """bwrap's arguments up to and including `--`: append the command's argv.

        `tmp`: a host folder to mount as /tmp (kept between calls); None gives a private tmpfs."""
        argv = [self.binary]
        if die_with_parent:
            argv.append("--die-with-parent")
        argv += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--cap-drop", "ALL"]
        if not self.network:
            argv.append("--unshare-net")
        argv += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        for knob in _PROC_READ_ONLY:
            argv += ["--ro-bind-try", knob, knob]
        for device in self.devices:
            argv += ["--dev-bind", device, device]
        argv += ["--tmpfs", "/tmp"] if tmp is None else ["--bind", str(tmp), "/tmp"]
        cache_home = _cache_home()
        if cache_home.is_dir() and not any(_within(w, cache_home) for w in self.writable):
            argv += ["--tmpfs", str(cache_home)]
        shown: list[Path] = []
        for prefix in (*self.python, *self.visible):  # usable even from /tmp or ~/.cache, which are replaced
            if any(_within(prefix, done) for done in shown):
                continue  # already visible through its folder (binding it again fails on a symlink)
            shown.append(prefix)
            argv += ["--ro-bind-try", str(prefix), str(prefix)]
        for path in (*self.caches, *self.writable):
            argv += ["--bind", str(path), str(path)]
        workspace = self.writable[0]
        allowed = self.writable[1:]
        for path in self.hidden:
            inside = [w for w in self.writable if _within(w, path) and w != path]
            if inside and path.is_dir() and not path.is_symlink() and any(_within(cwd, w) for w in inside):
                # A workspace inside a hidden folder (the web app keeps each user's under ml-intern's home):
                # hide the folder, then mount that workspace back, so its neighbours stay hidden.
                argv += ["--tmpfs", str(path)]
                for w in inside:
                    argv += ["--bind", str(w), str(w)]
                continue
            if _within(workspace, path) or _within(cwd, path) or any(_within(path, a) for a in allowed):
                continue  # never hide the workspace, nor what the user opened on purpose
            if path.is_dir() and not path.is_symlink():
                argv += ["--tmpfs", str(path)]
            else:
                argv += ["--ro-bind", "/dev/null", str(path)]
        return [*argv, "--chdir", str(cwd), "--"]


def layout(binary: str, workspace: Path, allowed: Iterable[str] = (), *, network: bool = True) -> Layout:
    writable = [workspace.resolve()]
    for raw in allowed:
        path = Path(os.path.expanduser(raw)).resolve()
        if path.exists() and path not in writable:
            writable.append(path)
    devices = sorted({d for pattern in _GPU_DEVICES for d in glob.glob(pattern)})
    python = tuple(dict.fromkeys(Path(p).resolve() for p in (sys.prefix, sys.base_prefix)))
    return Layout(
        binary, tuple(writable), tuple(shared_caches()), tuple(hidden_paths()), network, tuple(devices), python
    )


def wrap(layout_: Layout, argv: Sequence[str], cwd: Path, tmp: Path | None = None, **kw: bool) -> list[str]:
    """`argv` run inside the sandbox, working in `cwd`."""
    return [*layout_.argv(cwd, tmp, **kw), *argv]
