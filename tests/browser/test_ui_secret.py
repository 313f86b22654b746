"""The web UI's own file: the login secret, generated once and kept private."""

from __future__ import annotations

from ui.storage import auth_secret


def test_auth_secret_is_generated_once(tmp_path, monkeypatch):
    monkeypatch.delenv("CHAINLIT_AUTH_SECRET", raising=False)
    first = auth_secret(tmp_path)
    assert len(first) >= 32 and auth_secret(tmp_path) == first
    assert (tmp_path / "chainlit_auth_secret").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("CHAINLIT_AUTH_SECRET", "from-env")
    assert auth_secret(tmp_path) == "from-env"
