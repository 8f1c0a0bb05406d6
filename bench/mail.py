"""The confirmation email's parts, rendered from Herald's templates, for the baselines.

The bare actor and the synchronous signup send the same email Herald sends,
but through Django's ``send_mail`` as its documentation shows it.
"""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from accounts.emails import activation_url


def send_confirmation_with_send_mail(user):
    """Render the confirmation email for ``user`` and send it with ``send_mail`` (one connection per call)."""
    context = {
        "user": user,
        "activation_url": activation_url(user),
        "site_url": settings.SITE_URL,
        "expires_days": max(1, settings.ACCOUNT_ACTIVATION_TIMEOUT // 86400),
    }
    subject = " ".join(render_to_string("emails/confirmation_subject.txt", context).split())
    send_mail(
        subject,
        render_to_string("emails/confirmation.txt", context),
        settings.DEFAULT_FROM_EMAIL,
        [user.email],
        html_message=render_to_string("emails/confirmation.html", context),
    )
