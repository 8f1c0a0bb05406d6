"""``GET /metrics/``: Prometheus text read from the job rows and the broker at scrape time, for the token's holder."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from jobs.models import Attempt, Job
from jobs.worker.actors import run_task
from jobs.worker.middleware import stamp_alive
from tests.support.factories import make_job, make_user

Status = Job.Status
Outcome = Attempt.Outcome


TOKEN = "scraper-token-for-tests-0123456789"


def scrape(client):
    response = client.get("/metrics/", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


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


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN


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
    assert jobs == {"queued": 2, "running": 0, "retrying": 0, "succeeded": 1, "failed": 1}
    attempts = {
        dict(labels)["outcome"]: value
        for (name, labels), value in samples.items()
        if name == "herald_job_attempts"
    }
    assert attempts == {"succeeded": 1, "retry": 1, "failed": 1, "lost": 0}


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


def test_queue_depth_delayed_and_live_workers_from_the_broker(db, client, metrics_on, broker):
    broker.enqueue(run_task.message(1).copy(queue_name="emails"))
    broker.enqueue(run_task.message(2).copy(queue_name="emails"))
    broker.enqueue(run_task.message(3).copy(queue_name="emails"), delay=60_000)
    broker.enqueue(run_task.message(4))  # a task of the default queue
    stamp_alive(broker)

    samples = scrape(client)

    assert samples[("herald_broker_up", ())] == 1
    assert samples[("herald_queue_depth", (("queue", "emails"),))] == 2
    assert samples[("herald_queue_delayed", (("queue", "emails"),))] == 1
    assert samples[("herald_queue_dead_letters", (("queue", "emails"),))] == 0
    assert samples[("herald_queue_depth", (("queue", "default"),))] == 1
    assert samples[("herald_workers_alive", ())] == 1


def test_broker_down_still_serves_the_database_figures(db, client, metrics_on, redis_server):
    make_job(status=Status.FAILED)
    redis_server.stop()
    try:
        samples = scrape(client)
    finally:
        redis_server.start()

    assert samples[("herald_broker_up", ())] == 0
    assert not any(name.startswith("herald_queue_") for name, _ in samples)
    assert samples[("herald_jobs", (("status", "failed"),))] == 1
