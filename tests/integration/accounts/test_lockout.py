"""Password guessing locked out by a real web server process (gunicorn), as a visitor meets it."""

import pytest

from accounts.models import User
from tests.support.accounts import PASSWORD
from tests.support.http import Client as HttpClient
from tests.support.limits import LIMIT, WRONG

pytestmark = pytest.mark.usefixtures("low_lockout_limit")


@pytest.mark.integration
def test_a_real_web_server_locks_out_guessing(live_env, processes):
    User.objects.create_user(email="ada@example.com", password=PASSWORD, is_active=True)
    web = processes.web({**live_env, "AXES_FAILURE_LIMIT": str(LIMIT)}, workers=2, threads=2)

    def attempt(password):
        return HttpClient(web.url).post_form(
            "/accounts/login/", {"username": "ada@example.com", "password": password}
        )

    wrong = [attempt(WRONG).status for _ in range(LIMIT)]
    right = attempt(PASSWORD)

    assert wrong == [200] * (LIMIT - 1) + [429]
    assert right.status == 429 and "Too many failed logins" in right.text
    assert "sessionid" not in right.headers.get("set-cookie", "")
