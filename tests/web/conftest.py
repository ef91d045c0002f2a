"""`web_options(model, web={...})`: the AppOptions of a local single-user app with the web defaults."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def web_options(tmp_path, isolated_home):
    from configs.loader import load_config
    from web.app import AppOptions

    def make(model_id: str, **fields: Any) -> AppOptions:
        settings = load_config(web=True)
        for key, value in fields.pop("web", {}).items():
            setattr(settings.web, key, value)
        return AppOptions(settings=settings, model_id=model_id, home=isolated_home, **fields)

    return make
