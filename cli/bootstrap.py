"""Turn command-line options into a ready AgentDeps: config, model id, approval mode, tools.

Every user mistake here becomes a UserError with one line naming the fix and exit code 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cli import exit_codes


class UserError(Exception):
    def __init__(self, message: str, code: int = exit_codes.USAGE):
        super().__init__(message)
        self.code = code


@dataclass
class RunOptions:
    prompt: str | None = None
    model: str | None = None
    max_iterations: int | None = None
    max_budget_usd: float | None = None
    stream: bool = True
    output_format: str = "text"
    approval: str | None = None
    workspace: str | None = None
    resume: str | None = None
    continue_last: bool = False
    config: str | None = None
    approve: list[str] = field(default_factory=list)
    reject: list[str] = field(default_factory=list)
    tools: str | None = None  # a tool profile (tools/profiles.py); None: the config's tool_profile


def check_resume_id(options: RunOptions) -> None:
    """`--resume "$ID"` with ID unset must not quietly start a new session."""
    if options.resume is not None and not options.resume.strip():
        raise UserError(
            "--resume got an empty session id (an unset variable?): pass one from `ml-intern sessions list`"
        )


def check_sandbox(settings) -> str | None:
    """Refuse to start when the config requires bubblewrap and it does not work here (one line naming the
    fix); otherwise the warning to show once when `auto` falls back to unconfined commands, or None."""
    from tools.sandbox.local import SandboxUnavailable, fallback_warning, for_settings

    try:
        for_settings(settings)
    except SandboxUnavailable as e:
        raise UserError(str(e)) from None
    return fallback_warning(settings)


def build_deps(options: RunOptions, interactive: bool, model_id: str | None = None):
    from configs.loader import ConfigError, load_config

    try:  # before the heavier imports below: a config mistake is reported at once
        settings = load_config(options.config)
    except ConfigError as e:
        raise UserError(str(e)) from None
    warning = check_sandbox(settings)
    if warning and not interactive:  # the chat shows it itself, before its prompt
        import sys

        print(f"ml-intern: warning: {warning}", file=sys.stderr)
    from core import credentials
    from models.errors import MissingCredentials, ModelConfigError
    from models.factory import KEYED_PROVIDERS, check_model_id
    from nodes.context import AgentDeps
    from tools.registry import builtin_tools

    if options.max_iterations is not None:
        if options.max_iterations < 1:
            raise UserError("--max-iterations must be at least 1")
        settings.max_iterations = options.max_iterations
    if options.max_budget_usd is not None:
        if not options.max_budget_usd > 0:
            raise UserError("--max-budget-usd must be more than 0 (dollars), e.g. --max-budget-usd 5")
        settings.budget.max_usd = options.max_budget_usd
    explicit = options.model or model_id
    model_id = explicit or settings.model_name
    try:
        check_model_id(model_id)
    except MissingCredentials as e:
        if explicit or any(credentials.get(var) for var in KEYED_PROVIDERS.values()):
            raise UserError(str(e)) from None  # a key for another provider: pick its model, don't go local
        model_id = local_model_or_fail(str(e))
    except ModelConfigError as e:
        raise UserError(str(e)) from None
    workspace = Path(options.workspace or ".").expanduser().resolve()
    if not workspace.is_dir():
        raise UserError(f"workspace folder not found: {workspace} (pass an existing folder to --workspace)")
    mode = options.approval or settings.approval.mode or ("ask" if interactive else "yolo")
    return AgentDeps(
        settings=settings,
        model_id=model_id,
        tools=profiled_tools(builtin_tools(settings), options.tools or settings.tool_profile, model_id),
        workspace=workspace,
        approval_mode=mode,
        interactive=interactive,
        stream=options.stream,
    )


def profiled_tools(registry, spec: str, model_id: str):
    """The tools of the profile `spec` (tools/profiles.py) for the model's window; a profile other than full
    is named on stderr, so a user knows why a tool is missing."""
    import sys

    from models.factory import known_context_window
    from tools.profiles import UnknownTools, apply, choose

    window = known_context_window(model_id) if (spec or "auto").strip().lower() == "auto" else None
    try:
        profile = choose(spec, window, registry.names)
    except UnknownTools as e:
        raise UserError(str(e)) from None
    if profile.name != "full":
        print(f"ml-intern: {profile.describe(window)}", file=sys.stderr)
    return apply(registry, profile)


class NoProvider(UserError):
    """No --model, no key for the configured model and no local server: the first-run case."""


def local_model_or_fail(missing: str) -> str:
    """No provider configured: use a local OpenAI-compatible server if one answers, else say what to set."""
    import sys

    from models.autodetect import detect_sync, use

    server = detect_sync()
    if server is None:
        raise NoProvider(
            f"{missing}. No local model server answered either (Ollama, llama.cpp, vLLM, LM Studio). "
            "Set ANTHROPIC_API_KEY, OPENAI_API_KEY or HF_TOKEN, start a local server, or try "
            "--model replay:FILE"
        )
    model_id = use(server)
    print(
        f"ml-intern: no provider key set; using the local {server.provider} server at {server.base_url} "
        f"(model {model_id}; pick another with --model)",
        file=sys.stderr,
    )
    return model_id


def parse_decisions(approve: list[str], reject: list[str]) -> dict[str, dict] | None:
    """--approve all|ID and --reject ID[=feedback] -> the approval node's decisions."""
    if not approve and not reject:
        return None
    decisions: dict[str, dict] = {}
    for item in approve:
        decisions["*" if item == "all" else item] = {"action": "approve"}
    for item in reject:
        call_id, _, feedback = item.partition("=")
        decisions[call_id] = {"action": "reject", "feedback": feedback}
    return decisions
