"""The confirmation email: subject, text and HTML from templates/emails/."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.tokens import activation_token


def activation_url(user):
    """The absolute activation link for ``user``, under ``SITE_URL``."""
    path = reverse(
        "accounts:activate",
        kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": activation_token.make_token(user)},
    )
    return f"{settings.SITE_URL}{path}"


def confirmation_parts(user):
    """``(subject, text, html)`` of the confirmation email for ``user``."""
    context = {
        "user": user,
        "activation_url": activation_url(user),
        "site_url": settings.SITE_URL,
        "expires_days": max(1, settings.ACCOUNT_ACTIVATION_TIMEOUT // 86400),
    }
    # A subject with a line break would be a header injection: keep it on one line.
    subject = " ".join(render_to_string("emails/confirmation_subject.txt", context).split())
    return (
        subject,
        render_to_string("emails/confirmation.txt", context),
        render_to_string("emails/confirmation.html", context),
    )


def build_confirmation_email(job):
    """The confirmation message for ``job``'s user, ready to send."""
    user = job.user
    if user is None:
        raise LookupError(f"The user of job {job.pk} has been deleted.")
    subject, text, html = confirmation_parts(user)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[job.recipient],
        headers={"X-Herald-Job": str(job.pk)},
    )
    message.attach_alternative(html, "text/html")
    return message
