"""The registration flow: sign up, activate, ask for a new link.

Views call these functions and nothing else; the email itself is sent by a
worker through ``jobs.services.enqueue_confirmation``.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from accounts.tokens import activation_token
from config.timing import timed
from jobs.services import enqueue_confirmation


class ActivationError(Exception):
    """Why an activation link was refused: ``code`` is invalid_key, expired or already_activated."""

    def __init__(self, message, code):
        super().__init__(message)
        self.message = message
        self.code = code


def register_user(*, email, password):
    """Create an inactive user and its confirmation job; return the user or None.

    An address that already has an account is left untouched and gets no
    email, and the caller answers exactly as for a new account, so the signup
    form does not tell who is registered. The password is hashed either way,
    so the response time does not tell either.
    """
    User = get_user_model()
    if User._default_manager.filter(email__iexact=email).exists():
        with timed("hash"):
            make_password(password)
        return None
    # Hashed before the transaction: SQLite's IMMEDIATE transactions take the
    # write lock at BEGIN, and a hash inside would hold off every other writer
    # (other signups, the workers recording jobs) for its whole duration.
    user = User(email=User._default_manager.normalize_email(email).lower(), is_active=False)
    with timed("hash"):
        user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            enqueue_confirmation(user=user, background=settings.JOBS_ENQUEUE_IN_BACKGROUND)
    except IntegrityError:
        return None  # the same address signed up a moment ago, in another request
    return user


def request_new_link(*, email):
    """Send a new confirmation email if ``email`` belongs to a never confirmed account.

    Returns the job or None; callers answer the same either way. An account
    that was confirmed and then deactivated by staff gets no link: it must
    not be able to reactivate itself.
    """
    User = get_user_model()
    with transaction.atomic():
        user = User._default_manager.filter(email__iexact=email, is_active=False, activated_at__isnull=True).first()
        if user is None:
            return None
        return enqueue_confirmation(user=user, background=settings.JOBS_ENQUEUE_IN_BACKGROUND)


def user_from_uidb64(uidb64):
    """The user a link's uidb64 names, or None for a malformed or unknown id."""
    User = get_user_model()
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        return None
    if not 0 < pk < 2**63:
        return None
    return User._default_manager.filter(pk=pk).first()


def activate(*, uidb64, token):
    """Activate the account a link names, once; return the user.

    Raises :class:`ActivationError` for a malformed, tampered, expired or
    already used link.
    """
    user = user_from_uidb64(uidb64)
    if user is None:
        raise ActivationError("This activation link is not valid.", "invalid_key")
    if user.is_active or user.activated_at is not None:
        # Only a genuine link learns that the account is active.
        if activation_token.was_issued_before_activation(user, token):
            raise ActivationError("This account is already active. You can log in.", "already_activated")
        raise ActivationError("This activation link is not valid.", "invalid_key")
    problem = activation_token.token_problem(user, token)
    if problem == "expired":
        raise ActivationError("This activation link has expired.", "expired")
    if problem is not None:
        raise ActivationError("This activation link is not valid.", "invalid_key")
    # Conditional update: of two clicks racing, one activates.
    never_activated = get_user_model()._default_manager.filter(pk=user.pk, is_active=False, activated_at__isnull=True)
    activated = never_activated.update(is_active=True, activated_at=timezone.now())
    if not activated:
        raise ActivationError("This account is already active. You can log in.", "already_activated")
    user.refresh_from_db()
    return user
