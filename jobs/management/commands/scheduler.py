"""``manage.py scheduler``: dramatiq-crontab's scheduler, keeping its Redis lock through Redis restarts.

Why not ``manage.py crontab``, and what happens during an outage: docs/deployment.md#scheduled-maintenance.
"""

import logging

from dramatiq_crontab import conf, scheduler
from dramatiq_crontab.management.commands.crontab import Command as CrontabCommand
from dramatiq_crontab.utils import FakeLock
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError, LockNotOwnedError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.lock import Lock

from jobs.brokers.clients import redis_client

logger = logging.getLogger("jobs.maintenance")

# dramatiq-crontab's key: a `manage.py crontab` and this command exclude each other.
LOCK_NAME = "dramatiq-scheduler"


class ReclaimingLock(Lock):
    """The scheduler's lock, taken again (with the same token) when Redis has lost it.

    ``extend`` is what dramatiq-crontab calls every ``LOCK_REFRESH_INTERVAL``:
    it returns False while Redis does not answer (nobody can take the lock
    then either), and raises ``LockNotOwnedError`` only when another
    scheduler holds it, which stops this one.
    """

    def extend(self, additional_time, replace_ttl=False):
        try:
            return super().extend(additional_time, replace_ttl)
        except LockNotOwnedError:
            if not self.acquire(blocking=False, token=self.local.token):
                raise
            logger.warning("scheduler: Redis had lost the scheduler's lock (restarted?); it is held again")
            return True
        except (RedisConnectionError, RedisTimeoutError) as exc:
            logger.warning("scheduler: lock not extended, Redis does not answer (%s); trying again", exc)
            return False


def scheduler_lock() -> Lock | FakeLock:
    """The lock of ``DRAMATIQ_CRONTAB``'s Redis, as dramatiq-crontab builds it, reclaiming.

    Its connection gives up within the lock's refresh interval, so that a
    frozen Redis cannot hold the scheduler's thread past the next refresh.
    With no ``REDIS_URL`` there, no lock: dramatiq-crontab's ``FakeLock``, as
    its own command does.
    """
    options = conf.get_settings()
    if not options.REDIS_URL:
        return FakeLock()
    wait_s = options.LOCK_REFRESH_INTERVAL
    client = redis_client(options.REDIS_URL, timeout_s=wait_s, name="herald-scheduler")
    return client.lock(
        LOCK_NAME,
        lock_class=ReclaimingLock,
        timeout=options.LOCK_TIMEOUT,
        blocking_timeout=options.LOCK_BLOCKING_TIMEOUT,
        thread_local=False,
    )


class Command(CrontabCommand):
    """dramatiq-crontab's ``crontab`` command with :class:`ReclaimingLock`.

    It exits only when another scheduler holds the lock (as a standby, which
    its supervisor restarts to wait for the lock) or Redis does not answer at
    the start.
    """

    help = "Run the schedules (dramatiq-crontab), holding the scheduler's Redis lock through Redis restarts."

    def add_arguments(self, parser):
        pass  # none of crontab's: Django loads the schedule, and no worker runs a heartbeat actor

    def handle(self, *args, **options):
        lock = scheduler_lock()
        if not isinstance(lock, FakeLock):
            self.stdout.write("Acquiring lock…")
        try:
            with lock:
                self.launch_scheduler(lock, scheduler)
        except LockNotOwnedError:
            self.stderr.write("Another scheduler holds the lock now. Shutting down.")
        except LockError:
            self.stderr.write("Another scheduler is already running.")
        except RedisError as exc:
            self.stderr.write(f"Redis does not answer ({exc}). Shutting down.")
