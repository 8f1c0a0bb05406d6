"""The registration story end to end, on real processes.

gunicorn serves Herald, ``manage.py rundramatiq`` sends through a real SMTP
server (aiosmtpd), Redis is a real redis-server. Nothing is stubbed.
"""

import time

import pytest

from accounts.models import User
from jobs.models import Attempt, Job
from tests.support.http import Client
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def wait_for_job(status, timeout=30):
    """The newest job, once it has reached ``status``."""

    def reached():
        job = Job.objects.order_by("-id").first()
        return job if job is not None and job.status == status else None

    return wait_until(reached, timeout, f"the job reached {status}")


def test_signup_email_link_activates_account(live_env, smtp_sink, processes):
    web = processes.web(live_env)
    processes.worker(live_env)
    visitor = Client(web.url)

    response = visitor.signup("ada@example.com")

    assert response.status == 302 and response.url.endswith("/accounts/signup/done/")
    [received] = smtp_sink.wait_for(1)
    assert received["to"] == ["ada@example.com"]
    link = smtp_sink.activation_link(received["message"])
    assert link.startswith(web.url + "/accounts/activate/")
    assert received["message"].get_body(preferencelist=("html",)) is not None

    page = visitor.get(link)
    assert page.status == 200 and "Confirm your email address" in page.text
    assert not User.objects.get(email="ada@example.com").is_active
    activated = visitor.confirm(link)
    assert activated.status == 302 and activated.url.endswith("/accounts/welcome/")
    assert visitor.get("/accounts/welcome/").status == 200
    assert User.objects.get(email="ada@example.com").is_active
    job = wait_for_job(Job.Status.SUCCEEDED)
    assert job.attempt_count == 1 and job.message_id and job.return_value.startswith("250")

    again = Client(web.url).get(link)
    assert again.status == 302 and again.url.endswith("/accounts/login/")


def test_421_twice_then_accepted_is_delivered_on_third_attempt(live_env, smtp_sink, processes):
    smtp_sink.fail_next(2, "421 4.7.0 Try again later")
    web = processes.web(live_env)
    processes.worker(live_env)

    Client(web.url).signup("grace@example.com")

    smtp_sink.wait_for(1)
    job = wait_for_job(Job.Status.SUCCEEDED)
    assert job.attempt_count == 3
    outcomes = list(job.attempts.values_list("outcome", "smtp_reply"))
    assert [o for o, _ in outcomes] == [
        Attempt.Outcome.RETRY,
        Attempt.Outcome.RETRY,
        Attempt.Outcome.SUCCEEDED,
    ]
    assert outcomes[0][1].startswith("421")
    assert len(smtp_sink.messages) == 1


def test_550_fails_after_one_attempt(live_env, smtp_sink, processes):
    smtp_sink.reject("nobody@example.com")
    web = processes.web(live_env)
    processes.worker(live_env)

    Client(web.url).signup("nobody@example.com")

    job = wait_for_job(Job.Status.FAILED)
    time.sleep(1.0)  # room for a wrong retry to show up (min back-off is 100 ms in tests)
    job.refresh_from_db()
    assert job.attempt_count == 1
    assert "550" in job.last_error
    assert smtp_sink.messages == []


def test_signup_does_not_wait_for_a_slow_mail_server(live_env, smtp_sink, processes):
    smtp_sink.delay = 5.0
    live_env["EMAIL_TIMEOUT"] = "15"
    web = processes.web(live_env)
    processes.worker(live_env)

    response = Client(web.url).signup("slow@example.com")

    assert response.status == 302
    # One password hash is ~0.3 s here; a 5 s SMTP reply inside the request would show.
    assert response.elapsed < 2.5, response.elapsed
    smtp_sink.wait_for(1, timeout=20)
