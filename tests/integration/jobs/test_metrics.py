"""``GET /metrics/`` on the real Redis: queue depth, delayed messages, live workers, and the broker down."""

from jobs.models import Job
from jobs.worker.actors import run_task
from jobs.worker.middleware import stamp_alive
from tests.support.factories import make_job
from tests.support.metrics import scrape

Status = Job.Status


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
