"""The account emails: confirmation, "an account already exists", password reset.

Each is rendered from ``templates/emails/<name>_subject.txt``, ``<name>.txt``
and ``<name>.html`` and registered with ``jobs.kinds`` for its kind of job, so
that a worker builds it when it sends. Links are made at send time from the
user's state of then: a link never outlives the state it was made for.
"""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.tokens import activation_token
from jobs.kinds import register_email
from jobs.models import EmailJob

Kind = EmailJob.Kind


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


def _message(job, parts):
    """The email of ``job`` with ``parts`` = ``(subject, text, html)``."""
    if job.user is None:
        raise LookupError(f"The user of job {job.pk} has been deleted.")
    subject, text, html = parts(job.user)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[job.recipient],
        headers={"X-Herald-Job": str(job.pk)},
    )
    message.attach_alternative(html, "text/html")
    return message


@register_email(Kind.CONFIRMATION)
def build_confirmation_email(job):
    """The confirmation message for ``job``'s user, ready to send."""
    return _message(job, confirmation_parts)


@register_email(Kind.ACCOUNT_EXISTS)
def build_account_exists_email(job):
    """Tells the owner of an account that someone tried to sign up with its address.

    Why: a signup for a taken address must answer like any other, so the
    visitor learns nothing; the owner learns instead, and is pointed at
    logging in or resetting the password, not at a link that changes anything.
    """
    return _message(
        job,
        lambda user: render_parts(
            "account_exists",
            {
                "user": user,
                "login_url": f"{settings.SITE_URL}{reverse('accounts:login')}",
                "password_reset_url": f"{settings.SITE_URL}{reverse('accounts:password_reset')}",
            },
        ),
    )


@register_email(Kind.PASSWORD_RESET)
def build_password_reset_email(job):
    """The password-reset message for ``job``'s user: a single-use link that expires."""
    return _message(
        job,
        lambda user: render_parts(
            "password_reset",
            {
                "user": user,
                "reset_url": password_reset_url(user),
                "expires_hours": max(1, settings.PASSWORD_RESET_TIMEOUT // 3600),
            },
        ),
    )
