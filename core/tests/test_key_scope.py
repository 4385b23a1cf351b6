"""Which key may go to which origin (apiedit.keys.resolve_endpoint), and redirects."""

from __future__ import annotations

import re

import pytest

from apiedit import keys
from apiedit.errors import ConfigurationError, UntrustedBaseURLError
from apiedit.http import session_for
from apiedit.origins import display_url, origin_of
from apiedit.redact import register_secret
from apiedit.testing.emulator import Emulator, RecordedRequest, Response
from apiedit.types import ProviderInfo

INFO = ProviderInfo(id="acme", label="Acme", key_env_vars=("ACME_API_KEY",),
                    default_base_url="https://api.acme.invalid/v1")
PROVIDER_KEY = "sk-SENTINEL-ACME-PROVIDER-1"
RELAY_KEY = "sk-SENTINEL-ACME-RELAY-2"


@pytest.fixture(autouse=True)
def home(apiedit_home, monkeypatch):
    monkeypatch.setenv("ACME_API_KEY", PROVIDER_KEY)
    monkeypatch.delenv("APIEDIT_ACME_BASE_URL", raising=False)


def test_origins_ignore_path_case_and_default_port() -> None:
    assert origin_of("HTTPS://Relay.Example/v1/x") == origin_of("https://relay.example:443/other")
    assert origin_of("http://relay.example") != origin_of("https://relay.example")
    assert origin_of("https://relay.example:8443") != origin_of("https://relay.example")
    assert origin_of("http://[::1]:9000/v1") == "http://[::1]:9000"
    with pytest.raises(ConfigurationError):
        origin_of("https://relay.example:99999")
    assert display_url("https://user:pw@relay.example/v1") == "https://relay.example/v1"


def test_the_default_and_configured_origins_get_the_provider_key(monkeypatch) -> None:
    assert keys.resolve_endpoint(INFO) == ("https://api.acme.invalid/v1", PROVIDER_KEY)
    # a workflow naming the provider's own host (another path) is fine
    assert keys.resolve_endpoint(INFO, base_url="https://api.acme.invalid/v2", trusted=False)[1] == PROVIDER_KEY
    monkeypatch.setenv("APIEDIT_ACME_BASE_URL", "https://proxy.corp.invalid/acme")
    assert keys.resolve_endpoint(INFO, base_url="https://proxy.corp.invalid/x", trusted=False) == (
        "https://proxy.corp.invalid/x", PROVIDER_KEY)


def test_an_untrusted_workflow_url_is_refused_with_its_host_and_the_fix() -> None:
    with pytest.raises(UntrustedBaseURLError) as caught:
        keys.resolve_endpoint(INFO, base_url="https://mallory:hunter2@evil.invalid:8443/v1",
                              trusted=False)
    text = str(caught.value)
    assert "https://evil.invalid:8443/v1" in text
    assert "apiedit keys trust acme https://evil.invalid:8443/v1" in text
    assert "hunter2" not in text and PROVIDER_KEY not in text


def test_the_callers_own_base_url_is_trusted() -> None:
    assert keys.resolve_endpoint(INFO, base_url="https://mine.invalid") == ("https://mine.invalid", PROVIDER_KEY)


def test_trust_and_untrust(monkeypatch) -> None:
    assert keys.trust_base_url("acme", "https://proxy.invalid/v1/") == "https://proxy.invalid:443"
    keys.trust_base_url("acme", "https://PROXY.invalid:443/other")  # same origin: one entry
    assert keys.trusted_base_urls("acme") == ["https://proxy.invalid/v1"]
    assert keys.resolve_endpoint(INFO, base_url="https://proxy.invalid/v9", trusted=False)[1] == PROVIDER_KEY
    assert keys.untrust_base_url("acme", "https://proxy.invalid") is True
    assert keys.untrust_base_url("acme", "https://proxy.invalid") is False
    with pytest.raises(UntrustedBaseURLError):
        keys.resolve_endpoint(INFO, base_url="https://proxy.invalid/v9", trusted=False)


def test_a_relay_key_goes_to_its_relay_only() -> None:
    keys.store_key("acme", RELAY_KEY, base_url="https://relay-a.invalid/v1")
    assert keys.relay_keys("acme") == ["https://relay-a.invalid/v1"]
    # the relay gets its own key, from a workflow too; never the provider's
    assert keys.resolve_endpoint(INFO, base_url="https://relay-a.invalid/v1", trusted=False)[1] == RELAY_KEY
    assert keys.resolve_endpoint(INFO, base_url="https://relay-a.invalid/v1")[1] == RELAY_KEY
    # the provider's host and another relay never get the relay's key
    assert keys.resolve_endpoint(INFO)[1] == PROVIDER_KEY
    assert keys.resolve_endpoint(INFO, base_url="https://relay-b.invalid")[1] == PROVIDER_KEY
    assert keys.delete_key("acme", base_url="https://relay-a.invalid/other") is True
    assert keys.relay_keys("acme") == []
    with pytest.raises(UntrustedBaseURLError):
        keys.resolve_endpoint(INFO, base_url="https://relay-a.invalid/v1", trusted=False)


def test_no_key_goes_to_a_url_the_user_configured_for_another_provider(monkeypatch) -> None:
    keys.store_base_url("other", "https://other.invalid")
    with pytest.raises(UntrustedBaseURLError):
        keys.resolve_endpoint(INFO, base_url="https://other.invalid", trusted=False)


class Hop(Emulator):
    """Answers /hop with a redirect to ?to=..., and records everything else."""

    def setup_routes(self) -> None:
        self.route("*", r"/hop", lambda r, m: Response(307, b"", headers={"Location": r.query["to"][0]}))
        self.route("*", r"/land", lambda r, m: Response.json({"ok": True}))


@pytest.mark.parametrize("same_origin", [True, False])
def test_every_credential_header_is_dropped_on_a_cross_origin_redirect(
    same_origin: bool, emulator_factory
) -> None:
    first, second = emulator_factory(Hop), emulator_factory(Hop)
    target = (first if same_origin else second).base_url + "/land"
    secret = "sk-SENTINEL-CUSTOM-HEADER-3"
    register_secret(secret)
    headers = {"Authorization": "Bearer " + secret, "x-goog-api-key": secret, "api-key": secret,
               "x-api-key": secret, "X-Acme-Token": "Token " + secret, "X-Harmless": "hello"}
    response = session_for("acme").post(f"{first.base_url}/hop", params={"to": target},
                                        headers=headers, json={"prompt": "fox"})
    assert response.json() == {"ok": True}
    (landed,) = (first if same_origin else second).requests_to("/land")
    carried = {k.lower() for k, v in landed.headers.items() if secret in v}
    if same_origin:
        assert carried == {"authorization", "x-goog-api-key", "api-key", "x-api-key", "x-acme-token"}
    else:
        assert carried == set()
    assert landed.headers.get("x-harmless") == "hello" and landed.json() == {"prompt": "fox"}


def test_the_cli_trusts_untrusts_and_stores_relay_keys(capsys, monkeypatch) -> None:
    import io

    from apiedit.cli import main

    assert main(["keys", "trust", "openai", "https://proxy.invalid/v1"]) == 0
    assert keys.trusted_base_urls("openai") == ["https://proxy.invalid/v1"]
    monkeypatch.setattr("sys.stdin", io.StringIO(RELAY_KEY + "\n"))
    assert main(["keys", "set", "openai", "--base-url", "https://relay-a.invalid/v1", "--stdin"]) == 0
    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert "trusted https://proxy.invalid/v1" in listing
    assert "relay https://relay-a.invalid/v1: own key set" in listing and RELAY_KEY not in listing
    assert main(["keys", "untrust", "openai", "https://proxy.invalid"]) == 0
    assert main(["keys", "remove", "openai", "--base-url", "https://relay-a.invalid"]) == 0
    assert keys.trusted_base_urls("openai") == [] and keys.relay_keys("openai") == []
