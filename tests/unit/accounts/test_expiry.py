"""Accounts never confirmed expire after ACCOUNT_UNCONFIRMED_DAYS, freeing the address for its owner."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from tests.support.accounts import user_in_state

pytestmark = pytest.mark.django_db


def joined_days_ago(email, days, *, active):
    user = user_in_state(email, active=active)
    User.objects.filter(pk=user.pk).update(date_joined=timezone.now() - timedelta(days=days))
    return user


def expire(*args):
    out = StringIO()
    call_command("expire_unconfirmed", *args, stdout=out)
    return out.getvalue().strip()


def test_only_old_never_confirmed_accounts_are_deleted(settings):
    settings.ACCOUNT_UNCONFIRMED_DAYS = 7
    joined_days_ago("squatted@example.com", 8, active=False)
    joined_days_ago("recent@example.com", 6, active=False)
    joined_days_ago("confirmed@example.com", 30, active=True)
    deactivated = joined_days_ago("deactivated@example.com", 30, active=True)
    User.objects.filter(pk=deactivated.pk).update(is_active=False)

    assert expire("--dry-run") == "would delete 1 never confirmed account(s)"
    assert User.objects.count() == 4
    assert expire() == "deleted 1 never confirmed account(s)"

    remaining = set(User.objects.values_list("email", flat=True))
    assert remaining == {"recent@example.com", "confirmed@example.com", "deactivated@example.com"}
