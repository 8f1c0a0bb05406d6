"""The client IP behind one proxy, through a real web server process."""

import http.client
import re
import urllib.parse

import pytest

from tests.support.accounts import PASSWORD
from tests.support.forwarded import ODD_FORWARDED_FOR

CSRF_INPUT_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def post_signup(web, email, forwarded_for_lines):
    """GET the signup form, then POST it with these ``X-Forwarded-For`` header lines; the status."""
    connection = http.client.HTTPConnection("127.0.0.1", web.port, timeout=30)
    try:
        connection.request("GET", "/accounts/signup/")
        page = connection.getresponse()
        body = page.read().decode()
        cookie = page.getheader("Set-Cookie").split(";")[0]
        token = CSRF_INPUT_RE.search(body).group(1)
        form = urllib.parse.urlencode(
            {"email": email, "password1": PASSWORD, "password2": PASSWORD, "csrfmiddlewaretoken": token}
        )
        connection.putrequest("POST", "/accounts/signup/")
        for name, value in [
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Content-Length", str(len(form))),
            ("Cookie", cookie),
            *(("X-Forwarded-For", line) for line in forwarded_for_lines),
        ]:
            connection.putheader(name, value)
        connection.endheaders(form.encode())
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@pytest.mark.integration
def test_a_real_web_server_behind_one_proxy(live_env, processes):
    live_env.update(TRUSTED_PROXY_COUNT="1", RATE_LIMIT_SIGNUP="2/m")
    web = processes.web(live_env, workers=1, threads=2)

    on_the_wire = [value for value in ODD_FORWARDED_FOR if value.isascii()]
    odd = {value: post_signup(web, f"odd{n}@example.com", [value]) for n, value in enumerate(on_the_wire)}
    missing = post_signup(web, "missing@example.com", [])
    two_lines = post_signup(web, "two@example.com", ["10.0.0.1", "203.0.113.50"])
    spoofed = [post_signup(web, f"spoof{n}@example.com", [f"10.0.0.{n}, 203.0.113.99"]) for n in range(3)]

    assert all(status in (302, 429) for status in odd.values()), odd
    assert missing in (302, 429) and two_lines == 302
    assert spoofed == [302, 302, 429]
    assert "Internal Server Error" not in web.output() and " 500 " not in web.output()
