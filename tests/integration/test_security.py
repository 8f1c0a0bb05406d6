"""The registration story under attack, on real processes.

gunicorn serves Herald, ``manage.py rundramatiq`` sends through a real SMTP
server (aiosmtpd), Redis is a real redis-server.
"""

import re

import pytest

from accounts.models import User
from accounts.tasks import send_requested_password_reset
from jobs.models import Job
from tests.support.http import Client
from tests.support.publishing import published
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

VICTIM = "owner@example.com"
ATTACKER_PASSWORD = "attacker-Chosen-passw0rd"
OWNER_PASSWORD = "owner-Own-passw0rd-77"
RESET_LINK_RE = re.compile(r"http://\S+/accounts/password/reset/[^/\s]+/[^/\s]+/")


def logged_in(visitor):
    return visitor.get("/accounts/welcome/").status == 200


@pytest.mark.parametrize("attacker_first", [True, False], ids=["attacker first", "owner first"])
def test_following_the_attackers_email_still_gives_the_owner_the_account(
    attacker_first, live_env, smtp_sink, processes
):
    web = processes.web(live_env)
    processes.worker(live_env)
    order = [ATTACKER_PASSWORD, OWNER_PASSWORD] if attacker_first else [OWNER_PASSWORD, ATTACKER_PASSWORD]
    for password in order:
        assert Client(web.url).signup(VICTIM, password).status == 302
        smtp_sink.wait_for(len(smtp_sink.messages) + 1)  # each signup sends its own email, in order
    links = [smtp_sink.activation_link(item["message"]) for item in smtp_sink.messages]
    assert smtp_sink.recipients() == [VICTIM, VICTIM]
    attackers_link = links[order.index(ATTACKER_PASSWORD)]

    owner = Client(web.url)
    confirmed = owner.confirm(attackers_link, OWNER_PASSWORD)

    assert confirmed.status == 302 and confirmed.url.endswith("/accounts/welcome/") and logged_in(owner)
    attacker = Client(web.url)
    assert attacker.log_in(VICTIM, ATTACKER_PASSWORD).status == 200 and not logged_in(attacker)
    other_link = links[1 - order.index(ATTACKER_PASSWORD)]
    assert Client(web.url).get(other_link).url.endswith("/accounts/login/")
    again = Client(web.url)
    assert again.log_in(VICTIM, OWNER_PASSWORD).status == 302 and logged_in(again)


def page_text(response, *addresses):
    """The page apart from the per-response CSRF token and the echoed address."""
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", response.text)
    for address in addresses:
        text = text.replace(address, "ADDRESS")
    return text


def test_login_after_signup_answers_the_same_for_taken_and_free_addresses(live_env, smtp_sink, processes):
    User.objects.create_user(email="taken@example.com", password="Someone-Elses-9", is_active=True)
    web = processes.web(live_env)
    answers = []
    for address in ("taken@example.com", "free@example.com"):
        visitor = Client(web.url)
        visitor.signup(address, "Visitors-Own-passw0rd")
        answers.append(visitor.log_in(address, "Visitors-Own-passw0rd"))

    taken, free = answers
    assert taken.status == free.status == 200
    assert page_text(taken, "taken@example.com") == page_text(free, "free@example.com")


def test_forgot_password_resets_and_logs_in_once(live_env, smtp_sink, processes):
    User.objects.create_user(email="forgetful@example.com", password="Old-passw0rd-11", is_active=True)
    web = processes.web(live_env)
    processes.worker(live_env)

    known = Client(web.url).post_form("/accounts/password/reset/", {"email": "forgetful@example.com"})
    unknown = Client(web.url).post_form("/accounts/password/reset/", {"email": "stranger@example.com"})

    assert (known.status, known.url) == (unknown.status, unknown.url)
    [received] = smtp_sink.wait_for(1)
    assert received["to"] == ["forgetful@example.com"]
    link = RESET_LINK_RE.search(received["message"].get_body(preferencelist=("plain",)).get_content()).group(
        0
    )
    visitor = Client(web.url)
    done = visitor.reset_password(link, "New-passw0rd-22")
    assert done.status == 302 and done.url.endswith("/accounts/welcome/") and logged_in(visitor)
    assert Client(web.url).log_in("forgetful@example.com", "New-passw0rd-22").status == 302
    assert Client(web.url).log_in("forgetful@example.com", "Old-passw0rd-11").status == 200
    assert "This link does not work" in Client(web.url, follow_redirects=True).get(link).text
    # A job for each address, known or not (the same work); the task found no account for the stranger.
    wait_until(lambda: Job.objects.filter(status=Job.Status.SUCCEEDED).count() == 2, 10, "jobs recorded")
    jobs = dict(Job.objects.values_list("label", "return_value"))
    assert set(Job.objects.values_list("task_path", flat=True)) == {send_requested_password_reset.module_path}
    assert jobs["stranger@example.com"].startswith("not sent") and "250" in str(jobs["forgetful@example.com"])
    assert smtp_sink.recipients() == ["forgetful@example.com"]


def test_a_queued_email_for_an_address_since_changed_is_never_sent(live_env, smtp_sink, processes):
    web = processes.web(live_env)
    Client(web.url).signup("before@example.com")
    job = wait_until(lambda: next(filter(published, Job.objects.all()), None), 10, "job enqueued")
    User.objects.filter(email="before@example.com").update(email="after@example.com")

    processes.worker(live_env)

    failed = wait_until(
        lambda: Job.objects.filter(pk=job.pk, status=Job.Status.FAILED).first(), 20, "job failed"
    )
    assert "address changed after this email was queued" in failed.last_error
    assert failed.attempt_count == 1 and smtp_sink.messages == []


def test_redis_down_does_not_open_the_floodgates(live_env, smtp_sink, processes, redis_server):
    User.objects.create_user(email="flood@example.com", password="Someone-passw0rd", is_active=False)
    live_env["RATE_LIMIT_RESEND"] = "1/3m"
    web = processes.web(live_env)  # two gunicorn processes, each counting on its own while Redis is down
    processes.worker(live_env)

    redis_server.stop()
    try:
        answers = [
            Client(web.url).post_form("/accounts/resend/", {"email": "flood@example.com"}).status
            for _ in range(8)
        ]
        jobs = Job.objects.count()
    finally:
        redis_server.start()

    assert answers == [302] * 8  # over the budget the page answers as usual, and queues nothing
    assert 1 <= jobs <= 2
    smtp_sink.wait_for(jobs, timeout=30)  # the relay sweep sends what queued up, once Redis is back
    wait_until(lambda: not Job.objects.exclude(status=Job.Status.SUCCEEDED).exists(), 20, "all sent")
    assert smtp_sink.recipients() == ["flood@example.com"] * jobs
