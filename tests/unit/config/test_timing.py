"""Server-Timing: off by default; when on, a signup reports its password hash, its enqueue and the whole request."""

import re

from django.test import Client
from django.urls import reverse

from tests.support.http import Response
from tests.support.publishing import tasks_publishing

PASSWORD = "correct-Horse-battery-9"


def signup(email):
    return Client().post(
        reverse("accounts:signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )


def test_no_server_timing_header_by_default(db):
    response = signup("ada@example.com")

    assert response.status_code == 302 and "Server-Timing" not in response


def test_a_signup_reports_its_hash_its_enqueue_and_the_whole_request(transactional_db, settings):
    settings.SERVER_TIMING = True
    settings.TASKS = tasks_publishing(background=False)  # the enqueue inside the request, to be timed

    response = signup("ada@example.com")  # really committed: the enqueue runs inside the request

    assert response.status_code == 302
    assert re.fullmatch(
        r"hash;dur=\d+\.\d, broker;dur=\d+\.\d, app;dur=\d+\.\d", response["Server-Timing"]
    ), response["Server-Timing"]
    timing = Response(302, "", "", 0.0, {"server-timing": response["Server-Timing"]})
    assert 0 <= timing.server_timing("hash") + timing.server_timing("broker") <= timing.server_timing("app")


def test_an_address_already_signed_up_is_hashed_and_timed_alike(db, settings):
    settings.SERVER_TIMING = True
    signup("ada@example.com")

    response = signup("ada@example.com")

    assert response.status_code == 302 and response["Server-Timing"].startswith("hash;dur=")


def test_pages_without_a_hash_report_the_request_only(db, settings):
    settings.SERVER_TIMING = True

    response = Client().get(reverse("accounts:signup"))

    assert re.fullmatch(r"app;dur=\d+\.\d", response["Server-Timing"])
