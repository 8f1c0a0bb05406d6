"""A redis-server of a test's own, frozen (SIGSTOP) as a hung Redis is: it accepts nothing and answers nothing."""

import contextlib
import os
import signal

from config.localredis import LocalRedis


@contextlib.contextmanager
def hung_redis(directory, *, warm):
    """Start a redis-server in ``directory``, call ``warm(url)`` (open what a busy process holds), then freeze it.

    Yields the server; thaws and stops it after.
    """
    server = LocalRedis(directory, appendonly=False).start()
    try:
        warm(server.url)
        os.kill(server.process.pid, signal.SIGSTOP)
        try:
            yield server
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
    finally:
        server.stop()
