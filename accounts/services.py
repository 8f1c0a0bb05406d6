"""The registration flow: sign up, confirm the address, new links, password reset, expiry.

Views call these functions and nothing else. Addresses come in canonical form (``accounts.addresses``, as the
forms clean them) and are matched exactly. Who owns an account, and why: docs/security.md.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from accounts.models import User, UserManager
from accounts.tasks import (
    send_account_exists_email,
    send_confirmation_email,
    send_requested_confirmation,
    send_requested_password_reset,
)
from accounts.tokens import activation_token
from jobs.selectors import unfinished_jobs
from jobs.tasks_api import Task, TaskResult
from jobs.timing import timed

# Emails of one kind that may wait unsent for one account (see ``_email``).
MAX_UNSENT_PER_KIND = 3


class ActivationError(Exception):
    """Why an activation link was refused: ``code`` is invalid_key, expired or already_activated."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def never_confirmed(user: User) -> bool:
    """True for an account whose address nobody has proved yet (not one that staff deactivated)."""
    return not user.is_active and user.activated_at is None


def _users() -> UserManager:
    return get_user_model()._default_manager


def _email(task: Task, user: User) -> TaskResult | None:
    """Enqueue email ``task`` for ``user``, unless ``MAX_UNSENT_PER_KIND`` of it already wait unsent.

    Why: while Redis is down nothing leaves, and the rate limits only count
    per web process; a visitor asking again and again must not pile up links
    that would all reach the inbox once Redis is back. Returns the task's
    result (READY), or None.
    """
    if unfinished_jobs(task, first_arg=user.pk, at_least=MAX_UNSENT_PER_KIND):
        return None
    return task.enqueue(user.pk, user.email)


def _email_address(task: Task, address: str) -> TaskResult | None:
    """Enqueue ``task`` for ``address``, as :func:`_email` does for an account (one transaction)."""
    with transaction.atomic():
        if unfinished_jobs(task, first_arg=address, at_least=MAX_UNSENT_PER_KIND):
            return None
        return task.enqueue(address)


def register_user(*, email: str, password: str, may_email: bool = True) -> User | None:
    """Sign ``email`` up; every signup sends one email, and the caller answers the same.

    - A new address gets an inactive account and a confirmation email.
    - An account never confirmed gets a new confirmation email; nothing of it
      changes (its password is set only on the page the link opens).
    - A confirmed account is left untouched and its owner gets an "account
      already exists" notice, pointing at login and password reset.

    ``may_email`` False (the address's email budget is spent) sends nothing,
    and changes nothing else. The password is hashed in every case, so the
    response time does not tell which case it was. Returns the account.
    """
    with timed("hash"):
        hashed = make_password(password)
    for _ in range(2):
        try:
            with transaction.atomic():
                return _register(email, hashed, may_email)
        except IntegrityError:
            continue  # the same address signed up a moment ago in another request: answer for that account
    return None


def _register(email: str, hashed: str, may_email: bool) -> User:
    user = _users().filter(email=email).first()
    task = send_confirmation_email
    if user is None:
        user = get_user_model()(email=email, is_active=False, password=hashed)
        user.save()
    elif not never_confirmed(user):
        task = send_account_exists_email
    if may_email:
        _email(task, user)
    return user


def request_new_link(*, email: str) -> TaskResult | None:
    """Queue a new confirmation email for ``email``; the task sends it if a never confirmed account has it.

    The same work for every address (one job, up to ``MAX_UNSENT_PER_KIND``
    waiting), with an account or not: neither the answer nor its time tells
    which addresses have accounts. An account that was confirmed and then
    deactivated by staff gets no link (``accounts.selectors``). Returns the
    task's result, or None.
    """
    return _email_address(send_requested_confirmation, email)


def request_password_reset(*, email: str) -> TaskResult | None:
    """Queue a password-reset email for ``email``; the task sends it if an account that may reset has it.

    The same work for every address, as :func:`request_new_link`. Returns
    the task's result, or None.
    """
    return _email_address(send_requested_password_reset, email)


def user_from_uidb64(uidb64: str) -> User | None:
    """The user a link's uidb64 names, or None for a malformed or unknown id."""
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        return None
    if not 0 < pk < 2**63:
        return None
    return _users().filter(pk=pk).first()


def check_activation_link(*, uidb64: str, token: str) -> User:
    """The never confirmed account an activation link is good for; nothing changes.

    Raises :class:`ActivationError` for a malformed, tampered, expired or
    already used link. Opening the link only shows the page: mail scanners
    and link previewers fetch links, and must not confirm anything.
    """
    user = user_from_uidb64(uidb64)
    if user is None:
        raise ActivationError("This activation link is not valid.", "invalid_key")
    if not never_confirmed(user):
        # Only a genuine link learns that the account is active.
        if activation_token.was_issued_before_activation(user, token):
            raise ActivationError("This account is already active. You can log in.", "already_activated")
        raise ActivationError("This activation link is not valid.", "invalid_key")
    problem = activation_token.token_problem(user, token)
    if problem == "expired":
        raise ActivationError("This activation link has expired.", "expired")
    if problem is not None:
        raise ActivationError("This activation link is not valid.", "invalid_key")
    return user


def confirm_account(*, uidb64: str, token: str, password: str) -> User:
    """Confirm the address a link names, set the password typed on its page, once; return the user.

    The password stored at signup is never made usable: it may be anyone's.
    Setting the password and activating change what every activation token
    hashes, so all the links sent before die with this one. Of two
    submissions racing, one confirms; the other gets ``already_activated``.
    """
    user = check_activation_link(uidb64=uidb64, token=token)
    chosen = get_user_model()(pk=user.pk, email=user.email)
    chosen.set_password(password)
    unchanged = _users().filter(
        pk=user.pk, is_active=False, activated_at__isnull=True, password=user.password
    )
    if not unchanged.update(is_active=True, activated_at=timezone.now(), password=chosen.password):
        raise ActivationError("This account is already active. You can log in.", "already_activated")
    user.refresh_from_db()
    return user


def set_password_from_reset(*, user: User, password: str) -> User:
    """Set ``user``'s password from a password-reset link; confirm a never confirmed account.

    Following the reset link proves the mailbox, as a confirmation link does.
    The new password changes what reset and activation tokens hash, so the
    link works once and earlier links die.
    """
    user.set_password(password)
    fields = ["password"]
    if never_confirmed(user):
        user.is_active, user.activated_at = True, timezone.now()
        fields += ["is_active", "activated_at"]
    user.save(update_fields=fields)
    return user


def expire_unconfirmed_accounts(*, now: datetime | None = None, dry_run: bool = False) -> int:
    """Delete accounts never confirmed within ``ACCOUNT_UNCONFIRMED_DAYS``; return how many.

    A squatted address is freed for its owner. Their email jobs stay (a
    queued one then fails: its account is gone).
    """
    cutoff = (now or timezone.now()) - timedelta(days=settings.ACCOUNT_UNCONFIRMED_DAYS)
    expired = _users().filter(is_active=False, activated_at__isnull=True, date_joined__lt=cutoff)
    if dry_run:
        return expired.count()
    return expired.delete()[1].get(get_user_model()._meta.label, 0)
