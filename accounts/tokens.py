"""Activation tokens: signed, expiring, single-use, with no token table."""

import copy

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.crypto import constant_time_compare
from django.utils.http import base36_to_int


class ActivationTokenGenerator(PasswordResetTokenGenerator):
    """Django's password-reset token, hashing the account's activation state.

    The state is ``is_active`` and ``activated_at`` (and the address): once the account is
    confirmed, every link sent before is dead, and stays dead if staff deactivate it later. The
    password is left out: confirming sets it, and a used link must still be told apart from a
    forged one. Our own ``key_salt`` keeps these tokens from passing as password-reset tokens
    and back; their lifetime is ``ACCOUNT_ACTIVATION_TIMEOUT``.
    """

    key_salt = "accounts.tokens.ActivationTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        # Whole seconds: the same value whether activated_at comes from memory or the database.
        activated = "" if user.activated_at is None else int(user.activated_at.timestamp())
        return f"{user.pk}{user.is_active}{activated}{user.email}{timestamp}"

    def check_token(self, user, token):
        return self.token_problem(user, token) is None

    def token_problem(self, user, token):
        """None for a good token, else ``"invalid"`` or ``"expired"``.

        Why Django's private helpers: ``check_token`` answers only yes or no, with
        ``PASSWORD_RESET_TIMEOUT`` as the lifetime, and the activation page must tell an expired
        link from a forged or used one. So this repeats ``check_token``'s steps with Django's own
        ``_make_token_with_timestamp``, ``_num_seconds`` and ``_now`` rather than a copy of them.
        tests/unit/accounts/test_tokens.py fails loudly when the pinned Django changes any of them.
        """
        if not (user and token) or not isinstance(token, str) or token.count("-") != 1:
            return "invalid"
        ts_b36 = token.split("-")[0]
        try:
            ts = base36_to_int(ts_b36)
        except ValueError:
            return "invalid"
        if not any(
            constant_time_compare(self._make_token_with_timestamp(user, ts, secret), token)
            for secret in [self.secret, *self.secret_fallbacks]
        ):
            return "invalid"
        if self._num_seconds(self._now()) - ts > settings.ACCOUNT_ACTIVATION_TIMEOUT:
            return "expired"
        return None

    def was_issued_before_activation(self, user, token):
        """True when ``token`` is a genuine link of ``user`` from before the account was activated.

        Tells "this link was already used" apart from "this link was never
        valid" without telling a visitor holding a made-up token whether the
        account behind a user id is active.
        """
        if user.activated_at is None:
            return False
        before = copy.copy(user)
        before.is_active, before.activated_at = False, None
        return self.token_problem(before, token) in (None, "expired")


activation_token = ActivationTokenGenerator()
