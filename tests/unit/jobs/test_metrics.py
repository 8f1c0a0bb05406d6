"""``GET /metrics/``: Prometheus text read from the job rows and the broker at scrape time, for the token's holder."""

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import Attempt, Job
from tests.support.factories import make_job, make_user
from tests.support.metrics import TOKEN, scrape

Status = Job.Status


Outcome = Attempt.Outcome


def add_attempt(job, number, outcome, duration_ms):
    now = timezone.now()
    return Attempt.objects.create(
        job=job,
        number=number,
        outcome=outcome,
        duration_ms=duration_ms,
        started_at=now - timedelta(milliseconds=duration_ms or 0),
        finished_at=now,
    )


def test_off_without_a_token_answers_404(db, client, settings):
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics/").status_code == 404
    assert client.get("/metrics/", headers={"Authorization": "Bearer "}).status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer é"],
)
def test_without_the_right_token_answers_401_and_no_figures(db, client, metrics_on, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}

    response = client.get("/metrics/", headers=headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert "herald_" not in response.text


def test_the_scheme_is_case_insensitive(db, client, metrics_on):
    assert client.get("/metrics/", headers={"Authorization": f"bearer {TOKEN}"}).status_code == 200


def test_jobs_by_status_and_attempts_by_outcome(db, client, metrics_on):
    user = make_user()
    failed = make_job(user=user, status=Status.FAILED)
    succeeded = make_job(user=user, status=Status.SUCCEEDED)
    make_job(user=user, status=Status.QUEUED)
    make_job(user=user, status=Status.QUEUED)
    add_attempt(failed, 1, Outcome.RETRY, 120)
    add_attempt(failed, 2, Outcome.FAILED, 80)
    add_attempt(succeeded, 1, Outcome.SUCCEEDED, 40)

    samples = scrape(client)

    jobs = {
        dict(labels)["status"]: value for (name, labels), value in samples.items() if name == "herald_jobs"
    }
    assert jobs == {"queued": 2, "running": 0, "retrying": 0, "succeeded": 1, "failed": 1, "cancelled": 0}
    attempts = {
        dict(labels)["outcome"]: value
        for (name, labels), value in samples.items()
        if name == "herald_job_attempts"
    }
    assert attempts == {"succeeded": 1, "retry": 1, "failed": 1, "lost": 0, "cancelled": 0}


def test_send_duration_histogram_from_recorded_attempts(db, client, metrics_on):
    job = make_job(status=Status.SUCCEEDED)
    for number, duration_ms in enumerate([30, 400, 2000, 45_000], start=1):
        add_attempt(job, number, Outcome.SUCCEEDED, duration_ms)
    add_attempt(job, 5, Outcome.LOST, None)  # its worker died: no duration, not in the histogram

    samples = scrape(client)

    def bucket(le):
        return samples[("herald_job_duration_seconds_bucket", (("le", le), ("outcome", "succeeded")))]

    assert (bucket("0.025"), bucket("0.05"), bucket("0.5"), bucket("2.5"), bucket("30.0")) == (0, 1, 2, 3, 3)
    assert bucket("60.0") == bucket("+Inf") == 4
    assert samples[("herald_job_duration_seconds_count", (("outcome", "succeeded"),))] == 4
    assert samples[("herald_job_duration_seconds_sum", (("outcome", "succeeded"),))] == pytest.approx(47.43)
