"""Key resolution order and the key file's permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from apiedit import keys
from apiedit.errors import ConfigurationError
from apiedit.types import ProviderInfo

INFO = ProviderInfo(id="acme", label="Acme", key_env_vars=("ACME_KEY", "ACME_TOKEN"),
                    default_base_url="https://api.acme.invalid/v1")


@pytest.fixture(autouse=True)
def clean_env(apiedit_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("ACME_KEY", "ACME_TOKEN", "APIEDIT_ACME_BASE_URL"):
        monkeypatch.delenv(var, raising=False)


def test_key_file_is_created_with_mode_0600_in_a_private_directory() -> None:
    path = keys.store_key("acme", "file-key-123456")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


def test_key_file_stays_0600_after_rewrites() -> None:
    keys.store_key("acme", "file-key-123456")
    keys.store_base_url("acme", "https://relay.invalid/v1")
    keys.store_key("acme", "file-key-654321")
    assert stat.S_IMODE(os.stat(keys.key_file()).st_mode) == 0o600


def test_explicit_key_wins_over_env_and_file(monkeypatch: pytest.MonkeyPatch) -> None:
    keys.store_key("acme", "file-key-123456")
    monkeypatch.setenv("ACME_KEY", "env-key-123456")
    assert keys.resolve_key(INFO, "explicit-key-1") == "explicit-key-1"


def test_env_var_wins_over_file_in_declared_order(monkeypatch: pytest.MonkeyPatch) -> None:
    keys.store_key("acme", "file-key-123456")
    monkeypatch.setenv("ACME_TOKEN", "second-var-key")
    assert keys.resolve_key(INFO) == "second-var-key"
    monkeypatch.setenv("ACME_KEY", "first-var-key")
    assert keys.resolve_key(INFO) == "first-var-key"


def test_file_is_used_when_nothing_else_is_set() -> None:
    assert keys.resolve_key(INFO) is None
    keys.store_key("acme", "file-key-123456")
    assert keys.resolve_key(INFO) == "file-key-123456"
    assert keys.key_source(INFO) == "file"


def test_blank_values_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_KEY", "  ")
    assert keys.resolve_key(INFO, "") is None


def test_delete_key_removes_only_the_key() -> None:
    keys.store_key("acme", "file-key-123456")
    keys.store_base_url("acme", "https://relay.invalid/v1")
    assert keys.delete_key("acme") is True
    assert keys.resolve_key(INFO) is None
    assert keys.resolve_base_url(INFO) == "https://relay.invalid/v1"


def test_base_url_order_explicit_env_file_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert keys.resolve_base_url(INFO) == "https://api.acme.invalid/v1"
    keys.store_base_url("acme", "https://file.invalid/v1/")
    assert keys.resolve_base_url(INFO) == "https://file.invalid/v1"
    monkeypatch.setenv("APIEDIT_ACME_BASE_URL", "http://127.0.0.1:1234")
    assert keys.resolve_base_url(INFO) == "http://127.0.0.1:1234"
    assert keys.resolve_base_url(INFO, "https://explicit.invalid") == "https://explicit.invalid"


def test_bad_base_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="must start with http"):
        keys.resolve_base_url(INFO, "ftp://x")


def test_corrupt_key_file_is_a_clear_error() -> None:
    keys.key_file().parent.mkdir(parents=True, exist_ok=True)
    keys.key_file().write_text("{not json")
    with pytest.raises(ConfigurationError, match="could not be read"):
        keys.resolve_key(INFO)


def test_an_existing_open_folder_and_key_file_are_made_private_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = keys.store_key("acme", "file-key-123456")
    os.chmod(path.parent, 0o755)
    os.chmod(path, 0o644)
    assert keys.resolve_key(INFO) == "file-key-123456"  # a read checks and fixes
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("644" in m and str(path) in m for m in warned), warned
    assert any("755" in m for m in warned), warned
    assert not any("file-key-123456" in m for m in warned)


def test_keys_are_not_written_into_a_world_writable_folder() -> None:
    path = keys.store_key("acme", "file-key-123456")
    os.chmod(path.parent, 0o777)
    with pytest.raises(ConfigurationError, match="chmod 700"):
        keys.store_key("acme", "file-key-654321")
    os.chmod(path.parent, 0o700)
    assert keys.resolve_key(INFO) == "file-key-123456"


@pytest.mark.parametrize("bad", ["abc\ndef1234", "abc\u200bdef1234", "abc\u00a0def1234",
                                 "abc\u4e2ddef1234", "abc\x00def1234"])
def test_a_key_with_a_character_http_cannot_carry_is_refused_by_position(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="position 7") as caught:
        keys.store_key("acme", "sk-" + bad)
    assert "sk-" + bad not in repr(caught.value.args) and bad not in str(caught.value)
    assert not keys.key_file().exists()
