"""An outage is logged once, not once per try."""

import logging

from jobs.logs import OutageLog

logger = logging.getLogger("jobs.worker.middleware")


def test_an_outage_is_logged_once_with_its_traceback_and_once_when_it_ends(caplog):
    outage = OutageLog(logger)
    with caplog.at_level(logging.INFO, logger="jobs.worker.middleware"):
        for _ in range(3):
            try:
                raise ConnectionError("refused")
            except ConnectionError as exc:
                outage.failed("liveness stamp", exc)
        outage.worked("liveness stamp")
        outage.worked("liveness stamp")

    assert [(record.levelname, record.exc_info is not None) for record in caplog.records] == [
        ("WARNING", True),
        ("INFO", False),
    ]
