"""The suite is hermetic: a model server running on this machine's usual ports cannot change a result.

conftest's autouse fixture sets ML_INTERN_PROBE_DEFAULT_PORTS=0 and unsets the <NAME>_BASE_URL variables,
so auto-detection only sees the servers a test starts and names itself."""

from __future__ import annotations

from models.autodetect import candidates
from models.factory import LOCAL_SERVERS


def test_tests_never_probe_the_usual_ports():
    assert candidates() == []


def test_the_usual_ports_are_probed_outside_the_tests(monkeypatch):
    monkeypatch.delenv("ML_INTERN_PROBE_DEFAULT_PORTS")
    assert candidates() == [(provider, default) for provider, (_, default) in LOCAL_SERVERS.items()]


def test_a_server_named_by_its_variable_is_probed(monkeypatch):
    monkeypatch.setenv("LLAMACPP_BASE_URL", "http://127.0.0.1:9999/v1/")
    assert candidates() == [("llamacpp", "http://127.0.0.1:9999/v1")]
