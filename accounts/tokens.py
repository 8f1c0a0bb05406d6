"""Activation tokens: signed, expiring, single-use, with no token table.

Django's ``PasswordResetTokenGenerator`` hashes the user's state; the token dies
when that state changes. Confirming an email changes none of the fields it
hashes (password, last login), so ``is_active`` is added here: once the
account is active, every link sent before is dead. Our own ``key_salt`` keeps
these tokens from being accepted as password-reset tokens and vice versa, and
their lifetime is ``ACCOUNT_ACTIVATION_TIMEOUT``, not the password reset one.
"""

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.crypto import constant_time_compare
from django.utils.http import base36_to_int


class ActivationTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "accounts.tokens.ActivationTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        return f"{user.pk}{user.password}{user.is_active}{user.email}{timestamp}"

    def check_token(self, user, token):
        return self.token_problem(user, token) is None

    def token_problem(self, user, token):
        """None for a good token, else ``"invalid"`` or ``"expired"``."""
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


activation_token = ActivationTokenGenerator()
