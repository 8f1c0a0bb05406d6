"""Production settings: required secrets, HTTPS hardening, ``check --deploy``, WhiteNoise, on real processes."""

import http.client
import json
import os
import secrets
import subprocess
import sys

import pytest

from tests.support.processes import PROJECT_DIR, WebServer

PRODUCTION_ENV = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "herald.example.com,127.0.0.1",
    "SITE_URL": "https://herald.example.com",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
}


def herald_command(*args, env=None, drop=()):
    """Run ``manage.py`` (or ``python -c``) with Herald's own settings, as production would."""
    full_env = {key: value for key, value in os.environ.items() if key not in drop and key != "DEBUG"}
    full_env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, *args], cwd=PROJECT_DIR, env=full_env, capture_output=True, text=True, timeout=120
    )


def settings_in(env, *names):
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {list(names)!r}}}))"
    )
    result = herald_command("-c", code, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_a_missing_secret_stops_start_up_with_one_clear_line(missing):
    result = herald_command("manage.py", "check", env={**PRODUCTION_ENV, missing: ""})

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(f"Configuration error: {missing} is not set.")
    assert "Traceback" not in result.stderr


def test_debug_without_a_secret_key_uses_a_new_random_key_at_each_start():
    env = {**PRODUCTION_ENV, "SECRET_KEY": "", "DEBUG": "true"}

    first, second = (settings_in(env, "SECRET_KEY")["SECRET_KEY"] for _ in range(2))

    assert first != second
    assert len(first) >= 50 and len(second) >= 50


def test_an_unknown_log_format_is_refused():
    result = herald_command("manage.py", "check", env={**PRODUCTION_ENV, "LOG_FORMAT": "xml"})

    assert result.returncode != 0
    assert result.stderr.strip() == "Configuration error: LOG_FORMAT must be 'plain' or 'json', not 'xml'."


def test_check_deploy_passes_with_production_settings():
    result = herald_command("manage.py", "check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_plain_http_settings():
    env = {**PRODUCTION_ENV, "SITE_URL": "http://herald.example.com", "SECURE_HSTS_SECONDS": "0"}

    result = herald_command("manage.py", "check", "--deploy", "--fail-level", "WARNING", env=env)

    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr


def test_cookies_are_secure_by_default_only_for_an_https_site():
    names = ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT", "SECURE_PROXY_SSL_HEADER")
    local = settings_in({**PRODUCTION_ENV, "SITE_URL": "http://127.0.0.1:8000"}, *names)
    https = settings_in(PRODUCTION_ENV, *names)
    forced_off = settings_in({**PRODUCTION_ENV, "SECURE_COOKIES": "false"}, *names)
    proxied = settings_in({**PRODUCTION_ENV, "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto"}, *names)

    assert local == dict.fromkeys(names, False) | {"SECURE_PROXY_SSL_HEADER": None}
    assert https == dict.fromkeys(names, True) | {"SECURE_PROXY_SSL_HEADER": None}
    assert forced_off["SESSION_COOKIE_SECURE"] is forced_off["CSRF_COOKIE_SECURE"] is False
    assert proxied["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def request(web, path, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", web.port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": "127.0.0.1", **(headers or {})})
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()


@pytest.mark.integration
def test_a_production_web_server_behind_a_tls_proxy(live_env):
    """gunicorn with production settings: http redirected, HSTS and secure cookies over https, static files served."""
    web_env = {**live_env, **PRODUCTION_ENV, "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto"}
    web_env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    web_env["SITE_URL"] = live_env["SITE_URL"].replace("http://", "https://")
    web = WebServer(web_env, workers=1, threads=2)
    try:
        web.wait_until(lambda: _answers(web), 60, "web server answering")
        plain = request(web, "/accounts/login/")
        proxied = request(web, "/accounts/login/", {"X-Forwarded-Proto": "https"})
        health = request(web, "/healthz/")
        static = request(web, "/static/admin/css/base.css", {"X-Forwarded-Proto": "https"})
    finally:
        web.stop()

    assert plain.status == 301 and plain.getheader("Location") == "https://127.0.0.1/accounts/login/"
    assert proxied.status == 200
    assert proxied.getheader("Strict-Transport-Security") == "max-age=31536000; includeSubDomains; preload"
    cookie = proxied.getheader("Set-Cookie")
    assert "csrftoken=" in cookie and "Secure" in cookie
    assert health.status in (200, 503)  # answered over plain http: probes are not redirected
    assert static.status == 200 and static.getheader("Content-Type").startswith("text/css")


def _answers(web):
    try:
        request(web, "/healthz/")
    except OSError:
        return False
    return True
