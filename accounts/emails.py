"""What the account emails say: confirmation, "an account already exists", password reset.

Rendered from ``templates/emails/<name>_subject.txt``, ``<name>.txt`` and ``<name>.html`` when the task
runs, so links are made from the user's state of then: a link never outlives the state it was made for.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.tokens import activation_token


class AccountGone(LookupError):
    """The account an email was queued for has been deleted (permanent)."""


class RecipientChanged(Exception):
    """The account has another address now: the email is not for this one any more (permanent)."""


def addressee(user_id, address):
    """The account an email for ``address`` was queued for, if it still has that address.

    Why refuse a changed address: the email's links are for the account now
    named by the new address, and must never reach the old one.
    """
    user = _account(user_id)
    if user is None:
        raise AccountGone(f"Not sent: the account {address} has been deleted.")
    if user.email.lower() != address.lower():
        raise RecipientChanged(
            f"Not sent: the account's address changed after this email was queued (it is for {address})."
        )
    return user


def _account(user_id):
    """The account ``user_id``, or None.

    One SELECT written out (``raw``): building the same query with the ORM
    costs more than running it, at every email (the figures are in
    docs/benchmarks.md).
    """
    User = get_user_model()
    quote = connection.ops.quote_name
    sql = f"SELECT * FROM {quote(User._meta.db_table)} WHERE {quote(User._meta.pk.column)} = %s"
    return next(iter(User._default_manager.raw(sql, [user_id])), None)


def _link(name, user, token):
    """The absolute URL of page ``name`` for ``user`` and ``token``, under ``SITE_URL``."""
    path = reverse(name, kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": token})
    return f"{settings.SITE_URL}{path}"


def activation_url(user):
    """The absolute link to the page where ``user`` confirms the address and sets the password."""
    return _link("accounts:activate", user, activation_token.make_token(user))


def password_reset_url(user):
    """The absolute link to Django's set-a-new-password page for ``user``."""
    return _link("accounts:password_reset_confirm", user, default_token_generator.make_token(user))


def render_parts(name, context):
    """``(subject, text, html)`` of email ``name``, with ``site_url`` in its context."""
    context = {"site_url": settings.SITE_URL, **context}
    # A subject with a line break would be a header injection: keep it on one line.
    subject = " ".join(render_to_string(f"emails/{name}_subject.txt", context).split())
    return (
        subject,
        render_to_string(f"emails/{name}.txt", context),
        render_to_string(f"emails/{name}.html", context),
    )


def confirmation_parts(user):
    """``(subject, text, html)`` of the confirmation email for ``user``."""
    return render_parts(
        "confirmation",
        {
            "user": user,
            "activation_url": activation_url(user),
            "expires_days": max(1, settings.ACCOUNT_ACTIVATION_TIMEOUT // 86400),
        },
    )


def _message(address, parts):
    """The email to ``address`` with ``parts`` = ``(subject, text, html)``."""
    subject, text, html = parts
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[address]
    )
    message.attach_alternative(html, "text/html")
    return message


def confirmation_message(user, address):
    """The confirmation email: a link to the page where the mailbox's owner sets the password."""
    return _message(address, confirmation_parts(user))


def account_exists_message(user, address):
    """Tells the owner of an account that someone tried to sign up with its address.

    Why: a signup for a taken address must answer like any other, so the
    visitor learns nothing; the owner learns instead, and is pointed at
    logging in or resetting the password, not at a link that changes anything.
    """
    context = {
        "user": user,
        "login_url": f"{settings.SITE_URL}{reverse('accounts:login')}",
        "password_reset_url": f"{settings.SITE_URL}{reverse('accounts:password_reset')}",
    }
    return _message(address, render_parts("account_exists", context))


def password_reset_message(user, address):
    """The password-reset email: a single-use link that expires."""
    context = {
        "user": user,
        "reset_url": password_reset_url(user),
        "expires_hours": max(1, settings.PASSWORD_RESET_TIMEOUT // 3600),
    }
    return _message(address, render_parts("password_reset", context))
