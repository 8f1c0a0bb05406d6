"""Reset and resend do the same work for every address: the same queries, account or not.

Before, they inserted and committed a job only when the account existed, and
the answer took twice as long (14.3 against 7.3 ms for a reset).
"""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.support.accounts import user_in_state

pytestmark = pytest.mark.django_db(transaction=True)

LITERAL_RE = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")


def queries_of(page, email):
    """The SQL a POST of ``email`` to ``page`` runs, its literal values blanked."""
    client = Client()
    with CaptureQueriesContext(connection) as captured:
        response = client.post(reverse(page), {"email": email})
    assert response.status_code == 302
    return [LITERAL_RE.sub("?", query["sql"]) for query in captured.captured_queries]


@pytest.mark.parametrize(
    "page, account",
    [
        ("accounts:resend", "never confirmed"),
        ("accounts:resend", "confirmed"),
        ("accounts:password_reset", "confirmed"),
        ("accounts:password_reset", "never confirmed"),
    ],
)
def test_an_address_with_an_account_costs_the_queries_of_one_without(page, account):
    known = user_in_state("known@example.com", active=account == "confirmed").email

    with_account = queries_of(page, known)
    without_account = queries_of(page, "unknown@example.com")

    assert with_account == without_account
    assert any(query.startswith("INSERT") for query in with_account)  # a job, in both cases
