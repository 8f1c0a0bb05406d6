"""One canonical form per address: look-alikes are refused, domains follow IDNA 2008, lookups are exact.

Run on SQLite and with ``--postgres``: PostgreSQL's ``UPPER()`` folds ``ı`` and
``ſ`` to ``I`` and ``S``, which a case-insensitive lookup would make one
account of ``tına@`` and ``tina@``.
"""

from datetime import timedelta
from email.headerregistry import Address

import pytest
from django.core.exceptions import ValidationError
from django.core.mail.message import sanitize_address
from django.test import Client
from django.urls import reverse

from accounts.addresses import NON_ASCII_LOCAL_PART, canonical_address, domain_to_ascii, mailbox_key
from accounts.models import User
from jobs.models import Job
from jobs.worker.actors import run_task
from tests.support.accounts import PASSWORD, signup, user_in_state

pytestmark = pytest.mark.django_db

LOOK_ALIKES = ["t\u0131na@example.com", "\u017fam@example.com", "t\u0130na@example.com", "ｔina@example.com"]


@pytest.mark.parametrize(
    "typed, canonical",
    [
        ("  Ada.Lovelace@Example.COM ", "ada.lovelace@example.com"),
        ("ada@ｅｘａｍｐｌｅ.com", "ada@example.com"),  # full-width: the same domain
        ("ada@stra\u00dfe.de", "ada@xn--strae-oqa.de"),  # IDNA 2008 keeps ß; IDNA 2003 made it strasse.de
        ("ada@Stra\u00dfe.DE", "ada@xn--strae-oqa.de"),
        ("ada@xn--strae-oqa.de", "ada@xn--strae-oqa.de"),
        ("ada@b\u00fccher.de", "ada@xn--bcher-kva.de"),
        ("ada@B\u00dcCHER.de", "ada@xn--bcher-kva.de"),
        # UTS 46's own examples of non-transitional processing: ß and ς are kept.
        ("ada@fa\u00df.de", "ada@xn--fa-hia.de"),
        ("ada@\u03b2\u03cc\u03bb\u03bf\u03c2.com", "ada@xn--nxasmm1c.com"),
        ("ada@\u4f8b\u3048\u3002\u30c6\u30b9\u30c8", "ada@xn--r8jz45g.xn--zckzah"),  # ideographic full stop
        ("ada@example.com.", "ada@example.com"),
        ("box+tag@example.com", "box+tag@example.com"),
    ],
)
def test_the_canonical_form(typed, canonical):
    assert canonical_address(typed) == canonical


@pytest.mark.parametrize("address", [*LOOK_ALIKES[:3], "\u00e9l\u00e8ve@example.com"])
def test_a_non_ascii_local_part_is_refused(address):
    with pytest.raises(ValidationError) as error:
        canonical_address(address)

    assert error.value.messages == [NON_ASCII_LOCAL_PART]


@pytest.mark.parametrize(
    "domain",
    [
        "\u2603.com",  # a symbol: IDNA 2003 encoded it, IDNA 2008 does not
        "a\u00b7b.com",  # punctuation
        "\u0301a.com",  # begins with a combining mark
        "ab--c.com",  # hyphens in the third and fourth places
        "-a.com",
        "a-.com",
        "exa..com",
        "xn--zz.com",  # not Punycode
        "xn--example.com",  # Punycode of ASCII
        "a" * 64 + ".com",
        ".".join(["a" * 60] * 5),
        "\u05d0a.com",  # right-to-left with left-to-right in one label
        "ex_ample.com",
    ],
)
def test_a_domain_idna_2008_cannot_encode_is_refused(domain):
    with pytest.raises(ValidationError):
        domain_to_ascii(domain)


def test_sub_addresses_fold_into_their_mailbox_for_budgets_only():
    assert mailbox_key("box+anything@example.com") == mailbox_key("box@example.com") == "box@example.com"
    assert mailbox_key("box+a+b@example.com") == "box@example.com"
    assert mailbox_key("+tag@example.com") == "+tag@example.com"
    assert canonical_address("box+anything@example.com") != canonical_address("box@example.com")


@pytest.mark.parametrize("address", LOOK_ALIKES)
def test_a_look_alike_signup_creates_nothing_and_the_owner_signs_up(address, mailoutbox):
    refused = signup(Client(), address)
    owner = signup(Client(), "tina@example.com" if "na@" in address else "sam@example.com")
    for job in Job.objects.all():
        run_task(job.pk)

    assert refused.status_code == 200 and refused.context["form"].errors["email"]
    assert owner.status_code == 302
    assert list(User.objects.values_list("email", flat=True)) in (["tina@example.com"], ["sam@example.com"])
    assert [message.to for message in mailoutbox] == [[User.objects.get().email]]


def test_a_look_alike_row_captures_nothing_on_any_database(mailoutbox):
    """A row stored before the canonical form (or by hand): signup, resend and reset all miss it."""
    squatter = user_in_state("tina@example.com", active=False)
    User.objects.filter(pk=squatter.pk).update(email="t\u0131na@example.com")

    signup(Client(), "tina@example.com")
    Client().post(reverse("accounts:resend"), {"email": "tina@example.com"})
    Client().post(reverse("accounts:password_reset"), {"email": "tina@example.com"})
    for job in Job.objects.order_by("pk"):
        run_task(job.pk)

    owner = User.objects.get(email="tina@example.com")
    assert owner.pk != squatter.pk
    recipients = [message.to for message in mailoutbox]
    assert recipients == [["tina@example.com"]] * 3


def test_a_look_alike_neither_locks_out_nor_logs_into_an_account(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    user_in_state("sam.sims@example.com", active=True)
    for n in range(3):
        Client(REMOTE_ADDR=f"192.0.2.{n}").post(
            reverse("accounts:login"), {"username": "sam.sims@example.com", "password": "Wrong-passw0rd"}
        )

    client = Client(REMOTE_ADDR="198.51.100.7")
    look_alike = client.post(
        reverse("accounts:login"), {"username": "sam.s\u0131ms@example.com", "password": PASSWORD}
    )

    assert look_alike.status_code in (200, 429)
    assert "_auth_user_id" not in client.session


def test_a_look_alike_does_not_multiply_the_reset_budget(settings, mailoutbox):
    """Seen on PostgreSQL: 6 reset emails to one mailbox in seconds, with a limit of 3 an hour."""
    settings.RATE_LIMIT_RESET = "3/h"
    user_in_state("tina@example.com", active=True)
    spellings = ["tina@example.com", "t\u0131na@example.com", "TINA@example.com", "t\u0130na@example.com"]

    for n in range(8):
        Client(REMOTE_ADDR=f"192.0.2.{n}").post(
            reverse("accounts:password_reset"), {"email": spellings[n % len(spellings)]}
        )
        for job in Job.objects.filter(status=Job.Status.QUEUED):  # a worker sends as they come
            run_task(job.pk)

    assert [message.to for message in mailoutbox] == [["tina@example.com"]] * 3


def test_an_international_domain_is_stored_and_mailed_as_idna_2008(mailoutbox):
    response = signup(Client(), "ada@stra\u00dfe.de")
    run_task(Job.objects.get().pk)

    assert response.status_code == 302
    assert User.objects.get().email == "ada@xn--strae-oqa.de"
    [message] = mailoutbox
    # What the SMTP server gets as RCPT TO: Django encodes nothing further in an ASCII address.
    assert [sanitize_address(to, "utf-8") for to in message.to] == ["ada@xn--strae-oqa.de"]
    assert Address(addr_spec=message.to[0]).domain != "strasse.de"


@pytest.mark.parametrize("address", ["ada@\u2603.com", "ada@a\u00b7b.com"])
def test_an_address_idna_2008_cannot_encode_is_a_form_error_everywhere(address):
    pages = {
        "signup": signup(Client(), address),
        "resend": Client().post(reverse("accounts:resend"), {"email": address}),
        "reset": Client().post(reverse("accounts:password_reset"), {"email": address}),
    }

    assert {name: response.status_code for name, response in pages.items()} == dict.fromkeys(pages, 200)
    assert not User.objects.exists() and not Job.objects.exists()


def test_the_admin_stores_the_canonical_form_and_refuses_a_look_alike(admin_client):
    add = reverse("admin:accounts_user_add")
    form = {"password1": PASSWORD, "password2": PASSWORD}

    admin_client.post(add, {**form, "email": "Ada@Stra\u00dfe.DE"})
    refused = admin_client.post(add, {**form, "email": "t\u0131na@example.com"})

    assert refused.status_code == 200
    assert list(User.objects.exclude(is_superuser=True).values_list("email", flat=True)) == [
        "ada@xn--strae-oqa.de"
    ]


def test_create_user_refuses_what_the_forms_refuse():
    with pytest.raises(ValueError, match="Not an address"):
        User.objects.create_user(email="t\u0131na@example.com", password=PASSWORD)
