"""Before the chat opens: make sure the chosen model can be reached.

Nothing configured at all (no key, no local server URL, no --model) -> one screen that says what to set
for which model family, then a choice: the keyless example, paste a key (saved in the user's .env), or a
local server; anything else exits 2. A huggingface/... model without a token -> offer to paste one
(saved with huggingface_hub's login); an empty line skips to that screen. Anything else missing -> the
usual one-line error naming the variable.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from core import credentials
from models.errors import MissingCredentials, ModelConfigError
from models.factory import KEYED_PROVIDERS, LOCAL_SERVERS, check_model_id

FAMILIES = {  # provider -> (who, example model)
    "anthropic": ("Anthropic", "anthropic/claude-sonnet-4-5"),
    "openai": ("OpenAI", "openai/gpt-5"),
    "huggingface": ("Hugging Face router", "huggingface/<org>/<model>"),
}


def stored_hf_token() -> str | None:
    try:
        from huggingface_hub import get_token

        return get_token()
    except Exception:
        return None


def configured_providers() -> list[str]:
    """The variables (or the stored HF login) that point at some provider."""
    found = [var for var in KEYED_PROVIDERS.values() if credentials.get(var)]
    if credentials.get("HUGGING_FACE_HUB_TOKEN") and "HF_TOKEN" not in found:
        found.append("HF_TOKEN")
    found += [var for var, _ in LOCAL_SERVERS.values() if os.environ.get(var)]
    if "HF_TOKEN" not in found and stored_hf_token():
        found.append("huggingface_hub login")
    return found


async def local_model_instead(model_id: str, console: Console) -> str:
    """No key for the configured model and none for any provider: use a local server if one answers."""
    try:
        check_model_id(model_id)
        return model_id
    except MissingCredentials:
        pass
    except ModelConfigError:
        return model_id  # ensure_model explains it
    if any(credentials.get(var) for var in KEYED_PROVIDERS.values()):
        return model_id  # another provider is set up: ensure_model says which model to pick
    from models.autodetect import detect, use

    server = await detect()
    if server is None:
        return model_id
    local = use(server)
    console.print(
        Text(
            f"no provider key set; using the local {server.provider} server at {server.base_url}: "
            f"{local} (switch with /model)",
            style="dim",
        )
    )
    return local


def first_run_screen(console: Console, config_hint: str) -> None:
    """What to set for each model family. Short lines, each name and URL whole: it must read at 60 columns."""
    body = Text("No model provider is configured. Any one of these works:\n\n", style="")
    body.append("A key for a hosted model\n", style="bold")
    for provider, var in KEYED_PROVIDERS.items():
        who, example = FAMILIES.get(provider, (provider, f"{provider}/<model>"))
        body.append(f"  {who}: ", style="")
        body.append(f"export {var}=...\n", style="cyan")
        body.append(f"    then --model {example}\n", style="dim")
    body.append("\nA local OpenAI-compatible server (no key)\n", style="bold")
    for provider, (var, default) in LOCAL_SERVERS.items():
        body.append(f"  {provider}/<model>: ", style="")
        body.append(f"{var}\n", style="cyan")
        body.append(f"    default {default}\n", style="dim")
    body.append("\nNo key at all\n", style="bold")
    body.append("  ml-intern example tiny-classifier", style="cyan")
    body.append(" (a recorded session)\n  or --model replay:FILE.jsonl (tests, demos)\n")
    body.append(
        "\nKeys can also go in ~/.config/ml-intern/.env (a .env in this folder is never read). The default "
        f"model is model_name in {config_hint}; a token saved by `hf auth login` is found too.",
        style="dim",
    )
    console.print(Panel(body, title="ml-intern: set up a model provider", title_align="left", border_style="yellow"))


NEXT_STEPS = (
    "What next?  1 run the keyless example now · 2 paste an API key · 3 use a local model server · Enter quits › "
)


async def next_step(console: Console, ask: Callable[..., Awaitable[str]], model_id: str) -> str | int:
    """After the set-up screen: the model id to open the chat with, or the exit code."""
    try:
        choice = (await ask(NEXT_STEPS)).strip()
    except (KeyboardInterrupt, EOFError):
        return 2
    if choice == "1":
        from cli.example_cmd import run_example

        console.print(Text("running `ml-intern example tiny-classifier` (no key needed)…", style="dim"))
        return await asyncio.to_thread(run_example, "tiny-classifier", None)
    if choice == "2":
        return await _paste_key(console, ask, model_id)
    if choice == "3":
        from models.autodetect import START_COMMANDS, detect, use

        server = await detect()
        if server is not None:
            local = use(server)
            console.print(Text(f"using the local {server.provider} server at {server.base_url}: {local}", "dim"))
            return local
        console.print(Text("no local model server answers on this machine. Start one, then run ml-intern again:"))
        for provider, (var, default) in LOCAL_SERVERS.items():
            console.print(Text(f"  {provider}: {START_COMMANDS.get(provider, '')}  ({var}, default {default})"))
        return 2
    return 2


KEY_PREFIXES = (("sk-ant-", "anthropic"), ("hf_", "huggingface"), ("sk-", "openai"))


async def _paste_key(console: Console, ask: Callable[..., Awaitable[str]], model_id: str) -> str | int:
    """A key pasted here is saved in the user's .env (0600) and used now; its family picks the model."""
    try:
        key = (await ask("Paste the key (sk-ant-…, sk-…, hf_…; empty line to quit): ", password=True)).strip()
    except (KeyboardInterrupt, EOFError):
        return 2
    if not key:
        return 2
    provider = next((p for prefix, p in KEY_PREFIXES if key.startswith(prefix)), None)
    if provider is None:
        console.print(Text("✗ not a key ml-intern knows (Anthropic sk-ant-…, OpenAI sk-…, Hugging Face hf_…)", "red"))
        return 2
    var = KEYED_PROVIDERS[provider]
    path = save_key(var, key)
    credentials.hold(var, key)
    console.print(Text(f"✓ {var} saved in {path}", style="green"))
    if model_id.partition("/")[0] == provider:
        return model_id
    return FAMILIES[provider][1] if "<" not in FAMILIES[provider][1] else model_id


def save_key(var: str, value: str) -> str:
    """Add (or replace) VAR=value in the user's .env, readable by the user alone."""
    from configs.environment import user_env_path
    from core.paths import private_dir, private_file

    path = user_env_path()
    private_dir(path.parent)
    private_file(path)
    lines = [line for line in path.read_text().splitlines() if not line.startswith(f"{var}=")]
    path.write_text("\n".join([*lines, f"{var}={value}"]) + "\n")
    return str(path).replace(str(Path.home()), "~", 1)


async def _paste_hf_token(console: Console, ask: Callable[..., Awaitable[str]]) -> bool:
    """Offer to paste a Hugging Face token; True once one is saved and valid."""
    console.print(
        Text("This model runs on the Hugging Face router and needs a token (https://huggingface.co/settings/tokens).")
    )
    while True:
        try:
            token = (await ask("Paste a Hugging Face token (empty line to skip): ", password=True)).strip()
        except (KeyboardInterrupt, EOFError):
            return False
        if not token:
            return False
        try:
            await asyncio.to_thread(_login, token)
        except Exception as e:  # invalid token, Hub unreachable...
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            if _network_failure(e):
                endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
                message = (
                    f"✗ could not reach {endpoint} to check the token (network: {reason[:120]}); "
                    "check the connection or HF_ENDPOINT, then paste it again (or an empty line to skip)"
                )
            else:
                message = f"✗ the token was not accepted: {reason[:200]} (paste another, or an empty line to skip)"
            console.print(Text(message, style="red"))
            continue
        console.print(Text("✓ token saved (huggingface_hub login)", style="green"))
        return True


def _network_failure(error: BaseException) -> bool:
    """The Hub could not be reached (offline, refused, DNS, timeout), as opposed to a token it refused."""
    seen: BaseException | None = error
    for _ in range(8):
        if seen is None:
            return False
        name = type(seen).__name__
        if isinstance(seen, (ConnectionError, TimeoutError)) or name in (
            "ConnectError",
            "ConnectTimeout",
            "ReadTimeout",
            "ConnectionError",
            "OfflineModeIsEnabled",
        ):
            return True
        if getattr(getattr(seen, "response", None), "status_code", None) in (401, 403):
            return False
        seen = seen.__cause__ or seen.__context__
    return False


def _login(token: str) -> None:
    from huggingface_hub import login

    login(token=token, add_to_git_credential=False)


async def ensure_model(
    model_id: str, explicit: bool, console: Console, ask: Callable[..., Awaitable[str]], config_hint: str
) -> str | int:
    """The model id to open the chat with (`model_id`, or one set up here), or the exit code after telling
    the user what to do.

    explicit: the user chose the model (--model, or the model of a resumed session).
    """
    try:
        check_model_id(model_id)
        return model_id
    except ModelConfigError as e:
        error: Any = e
    provider = model_id.partition("/")[0]
    if provider == "huggingface":
        if await _paste_hf_token(console, ask):
            try:
                check_model_id(model_id)
                return model_id
            except ModelConfigError as e:
                error = e
        first_run_screen(console, config_hint)
        return await _checked(await next_step(console, ask, model_id), console)
    if not explicit:
        found = configured_providers()
        if not found:
            first_run_screen(console, config_hint)
            return await _checked(await next_step(console, ask, model_id), console)
        console.print(Text(f"ml-intern: {error}", style="red"))
        console.print(Text(f"(set: {', '.join(found)} — pick a matching model with --model)", style="dim"))
        return 2
    console.print(Text(f"ml-intern: {error}", style="red"))
    return 2


async def _checked(chosen: str | int, console: Console) -> str | int:
    if isinstance(chosen, int):
        return chosen
    try:
        check_model_id(chosen)
    except ModelConfigError as e:
        console.print(Text(f"ml-intern: {e}", style="red"))
        return 2
    return chosen
