"""The account emails, as tasks: enqueued by ``accounts.services``, run by a worker.

Those a signup sends take the account's id and the address it was queued for; a deleted or readdressed
account gets nothing (permanent). Those a visitor asks for by address (a new link, a password reset) take the
address alone and look the account up here, so the request does the same work for every address. Each returns
the SMTP server's reply, or why nothing was sent; connection problems and 4xx replies are retried. An attempt
is interrupted and failed past ``EMAIL_TIME_LIMIT_S``, derived from ``EMAIL_TIMEOUT``.
"""

from django.conf import settings

from accounts.emails import account_exists_message, addressee, confirmation_message, password_reset_message
from accounts.selectors import account_awaiting_confirmation, account_that_may_reset
from jobs.errors import is_transient, retry_policy
from jobs.tasks_api import task
from jobs.worker.mail import send_message

EMAIL_QUEUE = "emails"
# An email's three SMTP waits (connect, DATA, QUIT), each bounded by EMAIL_TIMEOUT, and some.
EMAIL_TIME_LIMIT_S = settings.EMAIL_TIMEOUT * 3 + 10


@task(queue_name=EMAIL_QUEUE)
@retry_policy(transient=is_transient, time_limit_s=EMAIL_TIME_LIMIT_S)
def send_confirmation_email(user_id, address):
    """Send the link that confirms ``address`` for a never confirmed account.

    An account confirmed meanwhile gets nothing: its earlier links are dead.
    """
    user = addressee(user_id, address)
    if user.is_active or user.activated_at is not None:
        return "not sent: the account is already confirmed"
    return send_message(confirmation_message(user, address))


@task(queue_name=EMAIL_QUEUE)
@retry_policy(transient=is_transient, time_limit_s=EMAIL_TIME_LIMIT_S)
def send_account_exists_email(user_id, address):
    """Tell a confirmed account's owner that someone signed up with the address."""
    return send_message(account_exists_message(addressee(user_id, address), address))


@task(queue_name=EMAIL_QUEUE)
@retry_policy(transient=is_transient, time_limit_s=EMAIL_TIME_LIMIT_S)
def send_password_reset_email(user_id, address):
    """Send a single-use link that sets a new password (jobs queued before resets took the address alone)."""
    return send_message(password_reset_message(addressee(user_id, address), address))


@task(queue_name=EMAIL_QUEUE)
@retry_policy(transient=is_transient, time_limit_s=EMAIL_TIME_LIMIT_S)
def send_requested_confirmation(address):
    """Send a new confirmation link to ``address`` if it has a never confirmed account; else nothing.

    Enqueued for every request on the resend page, whether the address has
    such an account or not (``accounts.services.request_new_link``).
    """
    user = account_awaiting_confirmation(address)
    if user is None:
        return "not sent: no account waiting for confirmation has this address"
    return send_message(confirmation_message(user, address))


@task(queue_name=EMAIL_QUEUE)
@retry_policy(transient=is_transient, time_limit_s=EMAIL_TIME_LIMIT_S)
def send_requested_password_reset(address):
    """Send a password-reset link to ``address`` if it has an account that may reset; else nothing.

    Enqueued for every password reset request, whether the address has an
    account or not (``accounts.services.request_password_reset``).
    """
    user = account_that_may_reset(address)
    if user is None:
        return "not sent: no account that may reset its password has this address"
    return send_message(password_reset_message(user, address))
