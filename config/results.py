"""Dramatiq's Redis results backend, storing a result in one round trip of one command.

Dramatiq's ``RedisBackend`` stores each result with a MULTI/EXEC pipeline of
five commands (DEL, LPUSH, PEXPIRE around them), which cost a worker more
than the rest of Herald's tracking of a sent email. The same three writes run
here as one Lua script: as atomic, and read back by the unchanged backend.
Like the broker's, its socket waits are bounded, so that a hung Redis fails a
store within seconds instead of holding a worker thread.
"""

from dramatiq.results.backends.redis import RedisBackend

from config.broker import client_options

STORE = """
redis.call("del", KEYS[1])
redis.call("lpush", KEYS[1], ARGV[1])
redis.call("pexpire", KEYS[1], ARGV[2])
"""


class ResultBackend(RedisBackend):
    def __init__(self, *, url=None, socket_timeout=None, socket_connect_timeout=None, **options):
        super().__init__(**options, **client_options(url, socket_timeout, socket_connect_timeout))
        self._store_script = self.client.register_script(STORE)

    def _store(self, message_key, result, ttl):
        self._store_script(keys=[message_key], args=[self.encoder.encode(result), ttl])
