"""A real SMTP server (aiosmtpd) on 127.0.0.1 that tests can tell to misbehave."""

import asyncio
import email
import email.policy
import re
import threading
import time
from collections import deque

from aiosmtpd.controller import Controller

from config.localredis import free_port

LINK_RE = re.compile(r"http://\S+/accounts/activate/[^/\s]+/[^/\s]+/")


class SmtpSink:
    """Accepts and keeps messages; can refuse, delay or hold its replies.

    - ``fail_next(n, reply)``: answer the next ``n`` DATA commands with ``reply`` (e.g. 421).
    - ``reject(address, reply)``: refuse a recipient at RCPT (e.g. 550).
    - ``delay``: seconds to wait before answering DATA.
    - ``hold()`` / ``release()``: keep DATA unanswered until released; a client that
      disconnects meanwhile has delivered nothing, as with a real MTA.
    - ``kill_while_held(kill, recorded)``: kill a client with no email half-accepted.
    - ``on_rcpt``: called with each recipient address (from the server's thread).
    """

    def __init__(self, port=None):
        self.port = port or free_port()
        self.messages = []
        self.replies = deque()
        self.rejects = {}
        self.delay = 0.0
        self.on_rcpt = None
        self.data_commands = 0
        self.held = 0  # DATA commands waiting for release()
        self.running = False
        self._released = threading.Event()
        self._released.set()
        self._arrived = threading.Condition()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, ready_timeout=10)

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    def start(self):
        self.controller.start()
        self.running = True
        return self

    def stop(self):
        """Stop listening (new connections are refused); safe to call twice."""
        self._released.set()
        if self.running:
            self.controller.stop()
            self.running = False

    def fail_next(self, count, reply="421 4.3.2 Service not available, try again later"):
        self.replies.extend([reply] * count)

    def reject(self, address, reply="550 5.1.1 No such user here"):
        self.rejects[address.lower()] = reply

    def hold(self):
        self._released.clear()

    def release(self):
        self._released.set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.on_rcpt is not None:
            self.on_rcpt(address)
        refusal = self.rejects.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_commands += 1
        if self.replies:
            return self.replies.popleft()
        if self.delay:
            await asyncio.sleep(self.delay)
        if not self._released.is_set():
            self.held += 1
            try:
                while not self._released.is_set() and not _gone(server):
                    await asyncio.sleep(0.02)  # (aiosmtpd may also cancel this when the client goes away)
            finally:
                self.held -= 1
        if _gone(server):
            return "421 4.3.0 Client gone: nothing delivered"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._arrived:
            self.messages.append({"to": list(envelope.rcpt_tos), "message": message, "at": time.time()})
            self._arrived.notify_all()
        return "250 2.0.0 Message accepted for delivery"

    def kill_while_held(self, kill, recorded, timeout=60):
        """Run ``kill()`` (of a sending client) where no email can be sent twice.

        A client killed after the server's "250" to DATA but before it recorded
        that send would send that email again: delivery is at least once there.
        So: hold every DATA reply, wait until ``recorded(self.recipients())``
        (every accepted email is recorded), kill, wait until the killed
        client's held sessions are dropped (they delivered nothing), release.
        """
        from tests.support.waiting import wait_until

        self.hold()
        try:
            wait_until(lambda: recorded(self.recipients()), timeout, "every accepted email recorded")
            kill()
            wait_until(lambda: self.held == 0, 10, "the killed client's sessions dropped")
        finally:
            self.release()

    def wait_for(self, count, timeout=30):
        """Wait until at least ``count`` messages arrived; return them all."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{len(self.messages)} of {count} messages arrived within {timeout} s"
                    )
                self._arrived.wait(left)
            return list(self.messages)

    def recipients(self):
        return [to for item in self.messages for to in item["to"]]

    def messages_to(self, address):
        return [item["message"] for item in self.messages if address in item["to"]]

    @staticmethod
    def activation_link(message):
        """The activation link in a message's text part."""
        body = message.get_body(preferencelist=("plain",)).get_content()
        match = LINK_RE.search(body)
        assert match, f"no activation link in: {body!r}"
        return match.group(0)


def _gone(server):
    """Whether the client of this SMTP session has disconnected."""
    return server.transport is None or server.transport.is_closing()
