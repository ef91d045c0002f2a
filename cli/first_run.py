"""Before the chat opens: make sure the chosen model can be reached.

Nothing configured at all (no key, no local server URL, no --model) -> one screen that says what to set
for which model family, then exit 2. A huggingface/... model without a token -> offer to paste one
(saved with huggingface_hub's login); an empty line skips to that screen. Anything else missing -> the
usual one-line error naming the variable.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
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
    keys = Table.grid(padding=(0, 2))
    keys.add_column(style="bold")
    keys.add_column()
    keys.add_column(style="cyan")
    for provider, var in KEYED_PROVIDERS.items():
        who, example = FAMILIES.get(provider, (provider, f"{provider}/<model>"))
        keys.add_row(who, example, f"export {var}=...")
    local = Table.grid(padding=(0, 2))
    local.add_column(style="bold")
    local.add_column(style="cyan")
    local.add_column(style="dim")
    for provider, (var, default) in LOCAL_SERVERS.items():
        local.add_row(f"{provider}/<model>", f"{var}", f"default {default}")
    body = Group(
        Text("No model provider is configured. Set the key of the family you want, then run ml-intern again:\n"),
        keys,
        Text(
            "\nOr use a local OpenAI-compatible server (no key needed), e.g. "
            "ml-intern --model ollama/llama3.1 ; set <NAME>_BASE_URL if it is not on the default port:\n"
        ),
        local,
        Text("\nOr play a scripted conversation (tests, demos): ml-intern --model replay:FILE.jsonl"),
        Text(
            "\nKeys can also go in ~/.config/ml-intern/.env (or a file named with --env-file; a .env in this "
            f"folder is never read). The default model is model_name in {config_hint}; "
            "a Hugging Face token saved by `hf auth login` is found too.",
            style="dim",
        ),
    )
    console.print(
        Panel(body, title="ml-intern: set up a model provider", title_align="left", border_style="yellow", expand=False)
    )


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
            console.print(
                Text(
                    f"✗ the token was not accepted: {reason[:200]} (paste another, or an empty line to skip)",
                    style="red",
                )
            )
            continue
        console.print(Text("✓ token saved (huggingface_hub login)", style="green"))
        return True


def _login(token: str) -> None:
    from huggingface_hub import login

    login(token=token, add_to_git_credential=False)


async def ensure_model(
    model_id: str, explicit: bool, console: Console, ask: Callable[..., Awaitable[str]], config_hint: str
) -> int | None:
    """None when `model_id` is usable; otherwise the exit code, after telling the user what to do.

    explicit: the user chose the model (--model, or the model of a resumed session).
    """
    try:
        check_model_id(model_id)
        return None
    except ModelConfigError as e:
        error: Any = e
    provider = model_id.partition("/")[0]
    if provider == "huggingface":
        if await _paste_hf_token(console, ask):
            try:
                check_model_id(model_id)
                return None
            except ModelConfigError as e:
                error = e
        first_run_screen(console, config_hint)
        return 2
    if not explicit:
        found = configured_providers()
        if not found:
            first_run_screen(console, config_hint)
            return 2
        console.print(Text(f"ml-intern: {error}", style="red"))
        console.print(Text(f"(set: {', '.join(found)} — pick a matching model with --model)", style="dim"))
        return 2
    console.print(Text(f"ml-intern: {error}", style="red"))
    return 2
