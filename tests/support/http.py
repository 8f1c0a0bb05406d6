"""A small cookie-keeping HTTP client for talking to a real Herald web server."""

import http.cookiejar
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

CSRF_INPUT_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Response:
    status: int
    url: str
    text: str
    elapsed: float
    headers: dict = field(default_factory=dict)

    def server_timing(self, name):
        """Seconds the server reported for part ``name`` in its Server-Timing header, or None."""
        for entry in self.headers.get("server-timing", "").split(","):
            part, _, params = entry.strip().partition(";")
            if part == name and params.startswith("dur="):
                return float(params[4:].split(";")[0]) / 1000
        return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Client:
    """One visitor: keeps cookies, fetches the CSRF token from the form page before posting."""

    def __init__(self, base_url, follow_redirects=False):
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        handlers = [urllib.request.HTTPCookieProcessor(self.jar)]
        if not follow_redirects:
            handlers.append(_NoRedirect())
        self.opener = urllib.request.build_opener(*handlers)

    def request(self, path, data=None, timeout=30):
        url = path if path.startswith("http") else self.base_url + path
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(url, data=body, headers={"Referer": url})
        started = time.perf_counter()
        try:
            with self.opener.open(request, timeout=timeout) as response:
                text = response.read().decode("utf-8", "replace")
                status, final_url, headers = response.status, response.url, response.headers
        except urllib.error.HTTPError as error:
            text = error.read().decode("utf-8", "replace")
            status, final_url, headers = error.code, error.headers.get("Location") or url, error.headers
        elapsed = time.perf_counter() - started
        return Response(status, final_url, text, elapsed, {k.lower(): v for k, v in headers.items()})

    def get(self, path, **kwargs):
        return self.request(path, **kwargs)

    def post_form(self, path, data, **kwargs):
        """GET the form page for its CSRF token, then POST ``data`` with it."""
        page = self.get(path)
        match = CSRF_INPUT_RE.search(page.text)
        assert match, f"no CSRF token on {path} ({page.status})"
        return self.request(path, {**data, "csrfmiddlewaretoken": match.group(1)}, **kwargs)

    def signup(self, email, password="correct-Horse-battery-9"):
        return self.post_form(
            "/accounts/signup/", {"email": email, "password1": password, "password2": password}
        )

    def confirm(self, link, password="correct-Horse-battery-9"):
        """Open an activation link's page and confirm there, choosing ``password``."""
        return self.post_form(link, {"password1": password, "password2": password})

    def log_in(self, email, password):
        return self.post_form("/accounts/login/", {"username": email, "password": password})

    def reset_password(self, link, password):
        """Follow a password-reset link (Django moves its token to the session) and set ``password``."""
        page = self.get(link)
        assert page.status == 302, f"reset link answered {page.status}"
        return self.post_form(page.url, {"new_password1": password, "new_password2": password})
