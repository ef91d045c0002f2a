"""`ml-intern serve` through the real binary: a bad start is one line and exit code 2."""

from __future__ import annotations


def test_the_command_refuses_a_public_interface_without_sign_in(cli):
    result = cli("serve", "--host", "0.0.0.0", "--port", "0")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("ml-intern: refusing to serve on 0.0.0.0 without sign-in")
    assert len(result.stderr.strip().splitlines()) == 1
