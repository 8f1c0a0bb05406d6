"""Stored addresses take their canonical form (accounts/migrations/0002), on SQLite and PostgreSQL."""

from django.utils import timezone

BEFORE = [("accounts", "0001_initial")]
AFTER = [("accounts", "0002_canonical_addresses")]


def test_rows_take_their_canonical_form_and_look_alikes_of_nobody_go(migrate):
    User = migrate(BEFORE).get_model("accounts", "User")
    now = timezone.now()

    def add(email, confirmed):
        return User.objects.create(
            email=email, password="x", is_active=confirmed, activated_at=now if confirmed else None
        ).pk

    rows = {
        "mixed case": add("Ada@Example.COM", True),
        "IDNA 2003 domain": add("bob@straße.de", False),
        "unicode domain": add("cy@bücher.de", True),
        "look-alike of nobody": add("t\u0131na@example.com", False),
        "confirmed look-alike": add("sam.s\u0131ms@example.com", True),
        "case twin, never confirmed": add("DAN@example.com", False),
        "its confirmed twin": add("Dan@Example.com", True),
        "canonical already": add("eve@example.com", False),
    }

    User = migrate(AFTER).get_model("accounts", "User")

    emails = dict(User.objects.values_list("pk", "email"))
    assert {name: emails.get(pk) for name, pk in rows.items()} == {
        "mixed case": "ada@example.com",
        "IDNA 2003 domain": "bob@xn--strae-oqa.de",
        "unicode domain": "cy@xn--bcher-kva.de",
        "look-alike of nobody": None,  # never confirmed and no canonical form: deleted
        "confirmed look-alike": "sam.s\u0131ms@example.com",  # left for staff
        "case twin, never confirmed": None,  # its canonical form went to the confirmed twin
        "its confirmed twin": "dan@example.com",
        "canonical already": "eve@example.com",
    }
