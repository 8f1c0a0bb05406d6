"""Password guessing throttled on ``/accounts/login/`` and ``/admin/login/`` (django-axes).

The rules and their trade-off: docs/security.md#password-guessing.
"""

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.core.exceptions import ValidationError
from django.shortcuts import render

from accounts.addresses import canonical_address


def login_username(request, credentials):
    """The address an attempt is counted under (``AXES_USERNAME_CALLABLE``).

    Spelled as the login form logs in with it (``accounts.addresses.canonical_address``), so
    ``Ada@Example.COM`` and ``ada@example.com`` share one count.

    From the credentials ``authenticate()`` got, else from the POSTed form
    (both login forms name the field "username"). Not an address at all:
    counted as typed (such a login cannot succeed anyway).
    """
    username = (credentials or {}).get("username")
    if username is None and request is not None:
        username = request.POST.get("username")
    if not username:
        return None
    try:
        return canonical_address(username)
    except ValidationError:
        return username


def lockout_response(request, original_response=None, credentials=None):
    """The 429 page (``AXES_LOCKOUT_CALLABLE``): the same for every address, known or not."""
    minutes = max(1, round(get_cool_off(request).total_seconds() / 60))
    return render(request, "login_locked_out.html", {"minutes": minutes}, status=429)


class LoginLockoutBackend(AxesStandaloneBackend):
    """Axes' lockout check, first of ``AUTHENTICATION_BACKENDS``; it never logs anyone in.

    Guaranteed: a locked-out attempt checks no password. This backend stops ``authenticate()``
    before Django's looks the account up or hashes anything, and axes' middleware turns the
    refusal into the 429 page. (A login form must not compare passwords itself after a failed
    ``authenticate()``; tests/unit/accounts/test_lockout.py counts the hasher's calls.)

    A call without a request (a script, a test) is no visitor's attempt: it
    is left to the next backend instead of being refused with an error.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
