"""One SMTP connection per worker thread: reused without a round trip, replaced when the server dropped it."""

import pytest
from django.core.mail import EmailMessage

from jobs.worker import mail
from tests.support.smtp import SmtpSink


class WatchingSink(SmtpSink):
    """The suite's SMTP sink, also counting NOOPs and the connections messages came on."""

    def __init__(self, port=None):
        super().__init__(port)
        self.noops = 0
        self.peers = set()

    async def handle_NOOP(self, server, session, envelope, arg):
        self.noops += 1
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.peers.add(session.peer)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def sink(settings):
    watching = WatchingSink().start()
    settings.EMAIL_BACKEND = "jobs.worker.mail.RecordingSMTPBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", watching.port
    mail.close_thread_connection()
    yield watching
    mail.close_thread_connection()
    watching.stop()


def message(n):
    return EmailMessage(f"Subject {n}", "Body", "from@example.com", [f"to{n}@example.com"])


def test_messages_sent_one_after_another_share_a_connection_without_noop(sink):
    replies = [mail.send_message(message(n)) for n in range(3)]

    assert all(reply.startswith("250") for reply in replies)
    assert len(sink.wait_for(3)) == 3
    assert len(sink.peers) == 1
    assert sink.noops == 0


def test_a_connection_idle_for_a_while_is_checked_with_noop_first(sink, monkeypatch):
    mail.send_message(message(1))
    monkeypatch.setattr(mail, "CHECK_IDLE_AFTER_S", 0.0)

    mail.send_message(message(2))

    assert len(sink.wait_for(2)) == 2
    assert sink.noops == 1 and len(sink.peers) == 1


def test_a_connection_the_server_dropped_is_replaced_and_the_message_sent_once(sink):
    mail.send_message(message(1))
    sink.stop()  # the server goes away: the thread's connection is dead, unchecked
    restarted = WatchingSink(port=sink.port).start()
    try:
        reply = mail.send_message(message(2))

        assert reply.startswith("250")
        [received] = restarted.wait_for(1)
        assert received["to"] == ["to2@example.com"]
        assert restarted.noops == 0
    finally:
        mail.close_thread_connection()
        restarted.stop()


def test_a_message_sent_for_a_job_names_it_in_a_header_and_others_do_not(sink):
    with mail.sending_for_job(41):
        mail.send_message(message(1))
    mail.send_message(message(2))

    first, second = (item["message"] for item in sink.wait_for(2))
    assert first[mail.JOB_HEADER] == "41"
    assert mail.JOB_HEADER not in second
