"""Dramatiq's Redis results backend, storing a result in one round trip of one command.

Dramatiq's ``RedisBackend`` stores each result with a MULTI/EXEC pipeline of
five commands (DEL, LPUSH, PEXPIRE around them), which cost a worker more
than the rest of Herald's tracking of a sent email. The same three writes run
here as one Lua script: as atomic, and read back by the unchanged backend.
"""

from dramatiq.results.backends.redis import RedisBackend

STORE = """
redis.call("del", KEYS[1])
redis.call("lpush", KEYS[1], ARGV[1])
redis.call("pexpire", KEYS[1], ARGV[2])
"""


class ResultBackend(RedisBackend):
    def __init__(self, **options):
        super().__init__(**options)
        self._store_script = self.client.register_script(STORE)

    def _store(self, message_key, result, ttl):
        self._store_script(keys=[message_key], args=[self.encoder.encode(result), ttl])
