"""The Django internals the activation tokens rely on are the ones they were written against."""

import hashlib
import inspect

import django
from django.contrib.auth.tokens import PasswordResetTokenGenerator

CHECKED_DJANGO = "5.2.19"
# sha256 of each method's source, first 16 hex digits.
DJANGO_INTERNALS = {
    "_make_token_with_timestamp": "db0a4962f56d8a1c",
    "_num_seconds": "3272ee1284a7b73a",
    "_now": "2f7357db6d1827c6",
    # token_problem repeats these steps, with its own lifetime and answer.
    "check_token": "94348d048f52febe",
    # The documented place to override: what the token hashes.
    "_make_hash_value": "8974e2395d0a8c25",
}


def fingerprint(name):
    return hashlib.sha256(inspect.getsource(vars(PasswordResetTokenGenerator)[name]).encode()).hexdigest()[
        :16
    ]


def test_the_token_generator_internals_are_those_accounts_tokens_was_checked_against():
    changed = [name for name, digest in DJANGO_INTERNALS.items() if fingerprint(name) != digest]

    assert django.get_version() == CHECKED_DJANGO and not changed, (
        f"Django is {django.get_version()}; accounts/tokens.py was checked against {CHECKED_DJANGO}, and these "
        f"PasswordResetTokenGenerator internals changed: {changed or 'none'}. Re-read check_token and make "
        "ActivationTokenGenerator.token_problem take the same steps (secret fallbacks, constant-time compare, "
        "the timestamp's format), run tests/unit/accounts/test_activation.py, then update CHECKED_DJANGO and "
        "DJANGO_INTERNALS here."
    )
