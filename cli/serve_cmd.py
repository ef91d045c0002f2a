"""`ml-intern serve`: check the options and the config, then hand over to web.serve."""

from __future__ import annotations

from cli.bootstrap import UserError, check_sandbox


def run_serve(host: str, port: int, model: str | None, config: str | None, allow_remote: bool) -> int:
    import sys

    from configs.loader import ConfigError, load_config
    from core.paths import ml_intern_home
    from models.errors import MissingCredentials, ModelConfigError
    from models.factory import check_model_id
    from web.app import AppOptions
    from web.identity import oauth_configured
    from web.serve import ServeError, check_bind, serve

    oauth = oauth_configured()
    try:
        warning = check_bind(host, oauth, allow_remote)
    except ServeError as e:
        raise UserError(str(e)) from None
    try:
        settings = load_config(config, web=True)
    except ConfigError as e:
        raise UserError(str(e)) from None
    model_id = model or settings.model_name
    try:
        check_model_id(model_id)
    except MissingCredentials as e:
        if not (oauth and model_id.startswith("huggingface/")):  # with sign-in: each user's own token
            raise UserError(str(e)) from None
    except ModelConfigError as e:
        raise UserError(str(e)) from None
    sandbox_warning = check_sandbox(settings)
    # Several signed-in users on one server: unconfined commands could read each other's files (and the
    # sessions database), so bash and jobs are off unless the config chose unconfined commands on purpose.
    local_commands = not (oauth and sandbox_warning)
    if not local_commands:
        sandbox_warning = (
            f"{sandbox_warning}. With several users signed in that is unsafe: bash and jobs are off (Hub, Jobs "
            'and the Space sandbox still work); "sandbox": {"backend": "local"} turns them on unconfined'
        )
    for line in (warning, sandbox_warning):
        if line:
            print(f"ml-intern: warning: {line}", file=sys.stderr)
    options = AppOptions(
        settings, model_id, ml_intern_home(), oauth=oauth, allow_remote=allow_remote, local_commands=local_commands
    )
    return serve(options, host, port)
