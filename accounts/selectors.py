"""Reads of accounts: which account, if any, an email asked for by address is for.

Lookups are exact matches on the canonical address (``accounts.addresses``):
the database never folds case, so no look-alike finds another's account.
"""

from django.contrib.auth import get_user_model
from django.db.models import Q


def _users():
    return get_user_model()._default_manager


def account_awaiting_confirmation(address):
    """The never confirmed account of ``address``, or None.

    An account confirmed and then deactivated by staff is not one: it must
    not be able to reactivate itself with a new link.
    """
    return _users().filter(email=address, is_active=False, activated_at__isnull=True).first()


def account_that_may_reset(address):
    """The account of ``address`` that may reset its password (active, or never confirmed), or None.

    A never confirmed account may: following the link proves the mailbox, as
    the confirmation link does. An account deactivated by staff may not.
    """
    return _users().filter(Q(is_active=True) | Q(activated_at__isnull=True), email=address).first()
