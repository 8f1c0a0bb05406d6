"""The bare actor: the same email as Herald's, with no job row, no attempt row and no result."""

import dramatiq
from django.contrib.auth import get_user_model

from bench.mail import send_confirmation_with_send_mail

BARE_QUEUE = "bench-bare"


@dramatiq.actor(queue_name=BARE_QUEUE, max_retries=0)
def send_confirmation_bare(user_id):
    """Load the user and send the confirmation email with ``send_mail``."""
    send_confirmation_with_send_mail(get_user_model()._default_manager.get(pk=user_id))
