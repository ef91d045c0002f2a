"""The configuration schema: pydantic models that reject unknown keys, so a typo is an error
that names the key instead of a setting silently ignored."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


ApprovalRule = Literal["allow", "ask", "deny"]


class ApprovalConfig(_Strict):
    # None: the front end decides (interactive asks, headless is yolo, as in the original).
    mode: Literal["ask", "yolo"] | None = None
    # Per-tool rules win over the mode: {"bash": "allow", "hf_repo_files": "deny"}.
    rules: dict[str, ApprovalRule] = {}
    # Risk classes that run without asking in ask mode.
    auto_approve_in_ask_mode: list[str] = ["read_only"]


class CompactionConfig(_Strict):
    threshold_ratio: float = Field(default=0.9, gt=0, le=1)
    threshold_tokens: int | None = Field(default=None, gt=0)  # overrides ratio x context window
    fallback_context_window: int = Field(default=200_000, gt=0)
    keep_recent_tokens: int = Field(default=20_000, gt=0)
    max_message_tokens: int = Field(default=40_000, gt=0)


class BashConfig(_Strict):
    default_timeout_s: float = Field(default=120, gt=0)
    max_timeout_s: float = Field(default=1800, gt=0)
    pass_secrets: bool = False  # pass the agent's API keys to commands


class WorkspaceConfig(_Strict):
    allowed_paths: list[str] = []  # extra paths outside the workspace that tools may touch


class SpaceSandboxConfig(_Strict):
    """A remote sandbox on a Hugging Face Space (created by the sandbox_create tool, deleted with the session)."""

    hardware: str = "cpu-basic"  # default flavor when sandbox_create names none
    namespace: str | None = None  # user or org that owns (and pays for) the Space; default: you
    idle_timeout_s: float = Field(default=1800, gt=0)  # deleted after this long without a call
    start_timeout_s: float = Field(default=900, gt=0)  # how long to wait for the Space to build and run


class SandboxConfig(_Strict):
    """Where the session's commands (bash, jobs, MCP stdio servers) run on this machine.

    auto: in bubblewrap when it works here, else unconfined with one warning; bubblewrap: required (a
    session refuses to start without it); local: unconfined, as your own shell."""

    backend: Literal["auto", "bubblewrap", "local"] = "auto"
    network: bool = True  # false: commands get no network at all (--unshare-net)
    bwrap: str = "bwrap"  # the bubblewrap binary: a name on PATH or a path
    space: SpaceSandboxConfig = SpaceSandboxConfig()


class RetryConfig(_Strict):
    max_retries: int = Field(default=4, ge=0)
    base_delay_s: float = Field(default=1.0, ge=0)
    max_delay_s: float = Field(default=30.0, ge=0)


class DoomLoopConfig(_Strict):
    identical_calls: int = Field(default=3, ge=2)
    max_cycle_length: int = Field(default=5, ge=2)
    stop_after_repeats: int = Field(default=5, ge=2)


class EndpointsConfig(_Strict):
    """Where the network tools send their requests. Unset, a value comes from its environment variable,
    else the public service; tests and self-hosted mirrors point them elsewhere."""

    hf_endpoint: str | None = None  # the Hub (env HF_ENDPOINT, default https://huggingface.co)
    datasets_server_url: str | None = None  # the dataset viewer API (env HF_DATASETS_SERVER)
    github_api_url: str | None = None  # the GitHub REST API (env GITHUB_API_URL)
    arxiv_html_url: str | None = None  # arXiv's HTML rendering of papers (env ARXIV_HTML_URL)
    duckduckgo_url: str | None = None  # DuckDuckGo's HTML search page (env DUCKDUCKGO_HTML_URL)
    searxng_url: str | None = None  # a SearXNG instance; set, web search uses it (env SEARXNG_URL)


class HfJobsConfig(_Strict):
    poll_s: float = Field(default=5.0, gt=0)  # how often `logs` with follow asks a running job for new lines


class WatchConfig(_Strict):
    """How a waiting session watches its job (`ml-intern watch`, tools/runs/waiting.py)."""

    poll_s: float = Field(default=2.0, gt=0)  # first wait between checks; Hugging Face Jobs back off from it
    max_poll_s: float = Field(default=300.0, gt=0)  # the longest wait between two checks
    stall_s: float = Field(default=1800.0, gt=0)  # a job with no log output for this long is reported


class ModelPrice(_Strict):
    """A model's price in USD per million tokens, for models litellm's table does not know (HF router models)."""

    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)


class BudgetConfig(_Strict):
    """One budget in dollars per session, across model calls, Hugging Face Jobs and sandboxes (core/budget.py)."""

    max_usd: float | None = Field(default=None, gt=0)  # None: no budget; --max-budget-usd overrides it
    # what the next model call is assumed to write, to estimate its cost before it is made
    output_tokens_estimate: int = Field(default=1000, ge=0)
    # model id (or glob, e.g. "huggingface/*") -> price; wins over litellm's table
    model_prices: dict[str, ModelPrice] = {}


class WebConfig(_Strict):
    """`ml-intern serve`: what one signed-in user may use, and when an idle session is let go."""

    max_sessions_per_user: int = Field(default=50, gt=0)  # stored sessions; delete one to start another
    max_running_per_user: int = Field(default=2, gt=0)  # turns running at once
    max_turns_per_user_per_day: int = Field(default=200, gt=0)  # the turn budget (a prompt or an answer is one)
    max_prompt_chars: int = Field(default=50_000, gt=0)
    max_request_bytes: int = Field(default=256_000, gt=1000)  # any request body above this is refused (413)
    idle_timeout_s: float = Field(default=900, gt=0)  # a session nobody touched for this long is let go
    models: list[str] = []  # the model picker's choices (the configured model_name is always one)


class McpServerConfig(BaseModel):
    model_config = ConfigDict(extra="allow")
    transport: Literal["stdio", "http", "streamable_http", "sse"] = "stdio"
    command: str | None = None
    args: list[str] = []
    env: dict[str, str] = {}
    url: str | None = None
    headers: dict[str, str] = {}


class AgentConfig(_Strict):
    model_name: str = "anthropic/claude-sonnet-4-5"
    max_iterations: int = Field(default=300, gt=0)
    # Tools offered: auto (core under a 16k window), full, core, core,NAME... (see tools/profiles.py)
    tool_profile: str = "auto"
    approval: ApprovalConfig = ApprovalConfig()
    compaction: CompactionConfig = CompactionConfig()
    tool_output_cap: int = Field(default=25_000, gt=100)
    tool_timeout_s: float = Field(default=600, gt=0)
    bash: BashConfig = BashConfig()
    workspace: WorkspaceConfig = WorkspaceConfig()
    sandbox: SandboxConfig = SandboxConfig()
    retries: RetryConfig = RetryConfig()
    doom_loop: DoomLoopConfig = DoomLoopConfig()
    mcpServers: dict[str, McpServerConfig] = {}
    endpoints: EndpointsConfig = EndpointsConfig()
    hf_jobs: HfJobsConfig = HfJobsConfig()
    budget: BudgetConfig = BudgetConfig()
    watch: WatchConfig = WatchConfig()
    web: WebConfig = WebConfig()
