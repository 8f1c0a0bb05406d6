"""``manage.py scheduler``: dramatiq-crontab's scheduler of the maintenance actors, through Redis restarts.

dramatiq-crontab's own command (``manage.py crontab``) holds a Redis lock
(``DRAMATIQ_CRONTAB``) so that one scheduler sends the schedule, and exits
the moment it cannot extend it. A Redis restarted without its data (or
after the lock's time-out) has lost the lock, so that scheduler exited and
nothing was scheduled until someone restarted it. This one takes the lock
again when Redis has lost it, and waits out a Redis that does not answer;
it lets go only when another scheduler holds the lock (then it exits, as a
standby would: its supervisor restarts it, and it waits for the lock).

The schedule itself is dramatiq-crontab's (``jobs.maintenance`` and every
app's ``maintenance`` module, loaded when Django starts); no heartbeat actor.
"""

import logging

from dramatiq_crontab import conf, scheduler
from dramatiq_crontab.management.commands.crontab import Command as CrontabCommand
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


def scheduler_lock():
    """The lock of ``DRAMATIQ_CRONTAB``'s Redis, as dramatiq-crontab builds it, reclaiming.

    Its connection gives up within the lock's refresh interval, so that a
    frozen Redis cannot hold the scheduler's thread past the next refresh.
    """
    options = conf.get_settings()
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
    help = "Run the maintenance schedule (dramatiq-crontab), holding its Redis lock through Redis restarts."

    def add_arguments(self, parser):
        pass  # none of crontab's: Django loads the schedule, and no worker runs a heartbeat actor

    def handle(self, *args, **options):
        lock = scheduler_lock()
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
