"""A visitor signs up, confirms on the page the link opens, logs in; then forgets the password and resets it.

Real parts only: gunicorn, ``manage.py rundramatiq``, an aiosmtpd server,
redis-server, and Debian's Chromium driven by Playwright. Screenshots go to
``test-artifacts/``.
"""

import re

import pytest

from tests.browser.chromium import ARTIFACTS, headless_chromium

pytestmark = [pytest.mark.browser, pytest.mark.integration]

EMAIL = "browser@example.com"
PASSWORD = "Browser-Chosen-passw0rd"
NEW_PASSWORD = "Browser-Second-passw0rd"
RESET_LINK_RE = re.compile(r"http://\S+/accounts/password/reset/[^/\s]+/[^/\s]+/")


def text_of(received):
    return received["message"].get_body(preferencelist=("plain",)).get_content()


def log_in(page, base_url, password):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", EMAIL)
    page.fill("#id_password", password)
    page.click("button[type=submit]:has-text('Log in')")


def test_signup_confirm_login_then_forgot_password_reset_login(live_env, smtp_sink, processes):
    web = processes.web(live_env)
    processes.worker(live_env)
    ARTIFACTS.mkdir(exist_ok=True)

    with headless_chromium() as browser:
        page = browser.new_page()
        page.goto(f"{web.url}/accounts/signup/")
        page.fill("#id_email", EMAIL)
        page.fill("#id_password1", PASSWORD)
        page.fill("#id_password2", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/accounts/signup/done/")
        [received] = smtp_sink.wait_for(1)

        page.goto(smtp_sink.activation_link(received["message"]))
        assert page.inner_text("h1") == "Confirm your email address" and EMAIL in page.inner_text(
            "main, body"
        )
        page.screenshot(path=str(ARTIFACTS / "confirm-page.png"), full_page=True)
        page.fill("#id_password1", PASSWORD)
        page.fill("#id_password2", PASSWORD)
        page.click("button[type=submit]:has-text('Confirm')")
        page.wait_for_url("**/accounts/welcome/")
        assert f"Welcome, {EMAIL}" in page.inner_text("h1")

        page.click("button:has-text('Log out')")
        page.wait_for_url("**/accounts/login/")
        log_in(page, web.url, PASSWORD)
        page.wait_for_url("**/accounts/welcome/")
        page.click("button:has-text('Log out')")
        page.wait_for_url("**/accounts/login/")

        page.click("text=Forgot your password?")
        page.wait_for_url("**/accounts/password/reset/")
        page.fill("#id_email", EMAIL)
        page.click("button[type=submit]")
        page.wait_for_url("**/accounts/password/reset/done/")
        reset_email = smtp_sink.wait_for(2)[1]
        assert reset_email["to"] == [EMAIL]

        page.goto(RESET_LINK_RE.search(text_of(reset_email)).group(0))
        assert page.inner_text("h1") == "Choose a new password"
        page.fill("#id_new_password1", NEW_PASSWORD)
        page.fill("#id_new_password2", NEW_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/accounts/welcome/")
        page.screenshot(path=str(ARTIFACTS / "reset-welcome.png"), full_page=True)
        page.click("button:has-text('Log out')")
        page.wait_for_url("**/accounts/login/")

        log_in(page, web.url, PASSWORD)
        assert "Please enter a correct email address and password" in page.inner_text("body")
        log_in(page, web.url, NEW_PASSWORD)
        page.wait_for_url("**/accounts/welcome/")
