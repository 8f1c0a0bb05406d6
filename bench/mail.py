"""The confirmation email's parts, rendered from Herald's templates, for the baselines.

The bare actor and the synchronous signup send the same email Herald sends,
but through Django's ``send_mail`` as its documentation shows it.
"""

from django.conf import settings
from django.core.mail import send_mail

from accounts.emails import confirmation_parts


def send_confirmation_with_send_mail(user):
    """Render the confirmation email for ``user`` and send it with ``send_mail`` (one connection per call)."""
    subject, text, html = confirmation_parts(user)
    send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [user.email], html_message=html)
