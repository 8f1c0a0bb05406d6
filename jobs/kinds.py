"""What each kind of email job sends, registered by the app that owns the content.

The jobs app runs, claims, retries and records email jobs; it does not know
what a confirmation or a password reset says. Each app registers a builder
per kind (``accounts.emails`` does, when Django loads it), and the worker
asks :func:`build_email` for the message of a claimed job.
"""

from jobs.errors import RecipientChanged, UnknownKind

_builders = {}


def register_email(kind):
    """Decorator: ``build(job) -> EmailMessage`` is how jobs of ``kind`` are sent."""

    def register(build):
        _builders[str(kind)] = build
        return build

    return register


def build_email(job):
    """The message for ``job``, ready to send.

    Refused (permanently) when the job's user changed address after the job
    was queued: its links are for the account now named by the new address,
    and must never reach the old one.
    """
    user = job.user
    if user is not None and user.email.lower() != job.recipient.lower():
        raise RecipientChanged(
            f"Not sent: the account's address changed after this email was queued (it is for {job.recipient})."
        )
    try:
        build = _builders[str(job.kind)]
    except KeyError:
        raise UnknownKind(f"No email is registered for jobs of kind {job.kind!r}.") from None
    return build(job)
