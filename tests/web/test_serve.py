"""Where `ml-intern serve` may listen: loopback without sign-in, anywhere with it, elsewhere only when asked."""

from __future__ import annotations

import pytest

from web.serve import ServeError, check_bind


def test_without_sign_in_only_loopback_unless_allowed_and_then_with_a_warning():
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.5"):
        assert check_bind(host, oauth=False, allow_remote=False) is None
    with pytest.raises(ServeError, match="--allow-remote"):
        check_bind("0.0.0.0", oauth=False, allow_remote=False)
    warning = check_bind("0.0.0.0", oauth=False, allow_remote=True)
    assert warning is not None and "WITHOUT sign-in" in warning
    assert check_bind("0.0.0.0", oauth=True, allow_remote=False) is None
