"""The checkout's .env: what it holds and how it is read (manage.py and the WSGI application run as
processes: tests/integration/config/test_dotenv.py).
"""

import os

from config import runner
from config.dotenv import ensure_local_env, local_values, read_values


def test_local_values_keep_the_key_and_the_developers_own_lines(tmp_path):
    path = tmp_path / ".env"
    ensure_local_env(path)
    key = read_values(path)["SECRET_KEY"]
    with path.open("a") as file:
        file.write("EMAIL_URL=smtp://127.0.0.1:1025\n")

    values = local_values(path, SITE_URL="http://127.0.0.1:8001", REDIS_URL="redis://127.0.0.1:6390/0")
    values = local_values(path, REDIS_URL=None)

    assert values["SECRET_KEY"] == key
    assert values["EMAIL_URL"] == "smtp://127.0.0.1:1025"
    assert values["SITE_URL"] == "http://127.0.0.1:8001"
    assert "REDIS_URL" not in values


def test_ensure_leaves_an_existing_file_alone(tmp_path):
    path = tmp_path / ".env"
    path.write_text("SECRET_KEY=mine\n")

    ensure_local_env(path)

    assert path.read_text() == "SECRET_KEY=mine\n"


def test_make_run_writes_its_settings_to_the_env_file(tmp_path, monkeypatch):
    path = tmp_path / ".env"
    monkeypatch.setattr(runner, "DOT_ENV", path)
    monkeypatch.setattr(runner, "VAR_DIR", tmp_path / "var")
    for name in ("SECRET_KEY", "ALLOWED_HOSTS", "SITE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORT", "8123")

    runner.local_defaults()

    values = read_values(path)
    assert values["SITE_URL"] == "http://127.0.0.1:8123"
    assert values["ALLOWED_HOSTS"] == "127.0.0.1,localhost"
    assert os.environ["SECRET_KEY"] == values["SECRET_KEY"]
