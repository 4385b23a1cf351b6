"""Keys are scoped to origins, for every built-in provider, over real HTTP.

* A provider that answers 307 to another origin: the follow-up request carries no credential.
* A base URL that arrives from a workflow (`trust_base_url=False`) and was never trusted:
  nothing at all reaches it; once trusted, it gets the key meant for it.
"""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from typing import Any

import pytest

from apiedit import keys
from apiedit.errors import ApiEditError, UntrustedBaseURLError
from apiedit.host import Host
from apiedit.testing.emulator import Emulator, RecordedRequest, Response

PROVIDERS = ["gemini", "modelscope", "openai", "openrouter", "pixelwords"]
CREDENTIAL_NAMES = {"authorization", "x-goog-api-key", "api-key", "x-api-key", "cookie",
                    "proxy-authorization"}


class Catcher(Emulator):
    """Another origin: records everything and answers every request with a 400."""

    def setup_routes(self) -> None:
        self.route("*", r"/.*", lambda r, m: Response.json(
            {"error": {"message": "caught", "code": "caught"}}, status=400))


def emulator_class(provider: str) -> type[Emulator]:
    (point,) = [p for p in entry_points(group="apiedit.emulators") if p.name == provider]
    return point.load()


def first_model(host: Host, provider: str, emulator: Emulator, key: str) -> str:
    return host.list_models(provider, base_url=emulator.base_url, api_key=key)[0].id


def credentials_in(request: RecordedRequest, key: str) -> list[str]:
    return [name for name, value in request.headers.items()
            if name.lower() in CREDENTIAL_NAMES or key in value]


@pytest.mark.parametrize("transport", ["default", "sdk"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_redirect_to_another_origin_carries_no_credential(
    provider: str, transport: str, emulator_factory, apiedit_home, sentinel_key, monkeypatch
) -> None:
    if transport == "sdk":
        if provider != "gemini":
            pytest.skip("only Gemini has a second (SDK) transport")
        pytest.importorskip("google.genai")
        monkeypatch.setenv("APIEDIT_GEMINI_TRANSPORT", "sdk")
    host = Host(env={"APIEDIT_LOAD_PLUGINS": provider})
    emulator = emulator_factory(emulator_class(provider))
    catcher = emulator_factory(Catcher)
    model = first_model(host, provider, emulator, sentinel_key)

    def redirect(request: RecordedRequest, _m: re.Match) -> Response:
        return Response(307, b"", headers={"Location": f"{catcher.base_url}{request.path}"})

    emulator.route("POST", r"/.*", redirect)  # every paid call now answers "go elsewhere"
    from apiedit.types import EditRequest

    with pytest.raises(ApiEditError):
        host.edit(provider, EditRequest(model=model, prompt="a red fox"),
                  api_key=sentinel_key, base_url=emulator.base_url)
    sent = emulator.requests_to(r"/.*", method="POST")
    assert sent and all(credentials_in(r, sentinel_key) for r in sent), "the key went to its origin"
    followed = catcher.requests_to(r"/.*")
    assert followed, "the redirect was followed"
    assert [credentials_in(r, sentinel_key) for r in followed] == [[] for _ in followed]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_workflow_base_url_that_was_never_trusted_receives_nothing(
    provider: str, emulator_factory, apiedit_home, sentinel_key, monkeypatch
) -> None:
    from apiedit.types import EditRequest

    host = Host(env={"APIEDIT_LOAD_PLUGINS": provider})
    info = host.get_provider(provider)
    for var in info.key_env_vars:
        monkeypatch.setenv(var, sentinel_key)
    thief = emulator_factory(emulator_class(provider))  # a perfect imitation of the provider
    with pytest.raises(UntrustedBaseURLError) as caught:
        host.edit(provider, EditRequest(model="any-model", prompt="a red fox"),
                  base_url=thief.base_url, trust_base_url=False)
    message = str(caught.value)
    assert thief.base_url in message and f"apiedit keys trust {provider}" in message
    assert sentinel_key not in message
    assert thief.requests_to(r"/.*") == []

    keys.trust_base_url(provider, thief.base_url + "/some/path")  # the user's own decision
    model = first_model(host, provider, thief, sentinel_key)
    result = host.edit(provider, EditRequest(model=model, prompt="a red fox"),
                       base_url=thief.base_url, trust_base_url=False)
    assert result.images
    assert any(credentials_in(r, sentinel_key) for r in thief.requests_to(r"/.*", method="POST"))


@pytest.mark.parametrize("provider", ["openai", "gemini"])
def test_a_relay_keeps_its_own_key(provider: str, emulator_factory, apiedit_home, monkeypatch) -> None:
    """The provider's key never reaches relay A, relay A's key never reaches relay B."""
    from apiedit.types import EditRequest

    host = Host(env={"APIEDIT_LOAD_PLUGINS": provider})
    provider_key, relay_key = "sk-SENTINEL-PROVIDER-KEY-1", "sk-SENTINEL-RELAY-A-KEY-2"
    for var in host.get_provider(provider).key_env_vars:
        monkeypatch.setenv(var, provider_key)
    relay_a = emulator_factory(emulator_class(provider))
    relay_b = emulator_factory(emulator_class(provider))
    keys.store_key(provider, relay_key, base_url=relay_a.base_url)
    model = first_model(host, provider, relay_a, relay_key)

    # from a workflow: relay A is trusted by its stored key, and gets that key only
    host.edit(provider, EditRequest(model=model, prompt="a fox"), base_url=relay_a.base_url,
              trust_base_url=False)
    # from the user's own code: relay B is trusted, and gets the provider's key, not A's
    host.edit(provider, EditRequest(model=model, prompt="a fox"), base_url=relay_b.base_url)

    def keys_seen(emulator: Emulator) -> set[str]:
        return {k for r in emulator.requests_to(r"/.*") for v in r.headers.values()
                for k in (provider_key, relay_key) if k in v}

    assert keys_seen(relay_a) == {relay_key}
    assert keys_seen(relay_b) == {provider_key}


def test_model_lookups_and_conversation_turns_keep_the_workflow_url_untrusted(
    emulator_factory, apiedit_home, sentinel_key, monkeypatch, tmp_path
) -> None:
    """The paths that look a model up before sending (a conversation feeding its last image)
    apply the same rule as the send itself."""
    from apiedit.conversation import Conversation, ConversationStore

    monkeypatch.setenv("OPENAI_API_KEY", sentinel_key)
    host = Host(env={"APIEDIT_LOAD_PLUGINS": "openai"})
    own, thief = emulator_factory(emulator_class("openai")), emulator_factory(emulator_class("openai"))
    with pytest.raises(UntrustedBaseURLError):
        host.get_model("openai", "gpt-image-1.5", base_url=thief.base_url, trust_base_url=False)
    store = ConversationStore(tmp_path / "conversations.sqlite3")
    chat = Conversation.open("portrait", store=store, host=host)
    chat.send("openai", model="gpt-image-1.5", prompt="a fox", base_url=own.base_url)
    with pytest.raises(UntrustedBaseURLError):
        chat.send("openai", model="gpt-image-1.5", prompt="make it red", base_url=thief.base_url,
                  trust_base_url=False)
    assert thief.requests == []
    assert len(chat.history()) == 2  # the refused turn stored nothing
    store.close()
