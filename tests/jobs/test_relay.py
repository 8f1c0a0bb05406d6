"""The relay's threads log an outage once, not once per try."""

import logging

from jobs.worker.middleware import OutageLog


def test_an_outage_is_logged_once_with_its_traceback_and_once_when_it_ends(caplog):
    outage = OutageLog("liveness stamp")
    with caplog.at_level(logging.INFO, logger="jobs.worker.middleware"):
        for _ in range(3):
            try:
                raise ConnectionError("refused")
            except ConnectionError:
                outage.failed()
        outage.worked()
        outage.worked()

    assert [(record.levelname, record.exc_info is not None) for record in caplog.records] == [
        ("WARNING", True),
        ("INFO", False),
    ]
