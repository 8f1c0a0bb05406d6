"""``make run``'s supervisor (config/runner.py): a child that exits is restarted, and the output says so."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from config.runner import QUICK_EXIT_S, Child
from tests.support.processes import PROJECT_DIR
from tests.support.waiting import wait_until

SUPERVISOR = textwrap.dedent(
    """
    import sys
    from config.runner import Child, supervise

    sleep = [sys.executable, "-c", "import sys, time; time.sleep(float(sys.argv[1]))"]
    supervise([Child("scheduler", [*sleep, "121"]), Child("web server", [*sleep, "122"])], poll_s=0.1)
    """
)


def children_of(pid):
    """``{last argument: pid}`` of the processes ``pid`` started."""
    try:
        pids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return {}
    found = {}
    for child in map(int, pids):
        try:
            found[Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")[-2].decode()] = child
        except (OSError, IndexError):
            pass
    return found


def test_a_child_that_dies_is_restarted_and_the_others_keep_running(tmp_path):
    """Seen: the scheduler exited when Redis restarted, and `make run` stopped every process with it."""
    with open(tmp_path / "runner.log", "w") as log:
        runner = subprocess.Popen(
            [sys.executable, "-c", SUPERVISOR], cwd=PROJECT_DIR, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        started = wait_until(
            lambda: len(children_of(runner.pid)) == 2 and children_of(runner.pid), 20, "children"
        )
        os.kill(started["121"], signal.SIGKILL)

        restarted = wait_until(
            lambda: (
                children_of(runner.pid).get("121") not in (None, started["121"]) and children_of(runner.pid)
            ),
            20,
            "the scheduler restarted",
        )
        output = (tmp_path / "runner.log").read_text()

        assert runner.poll() is None
        assert restarted["122"] == started["122"]  # the web server was left alone
        assert "* scheduler exited with -9; restarting it in 1 s" in output
        assert f"* scheduler restarted (pid {restarted['121']})" in output
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.wait(30)

    assert "* stopping" in (tmp_path / "runner.log").read_text()
    assert not any(Path(f"/proc/{pid}").exists() for pid in (*started.values(), *restarted.values()))


def test_a_child_that_keeps_exiting_waits_longer_each_time(capsys):
    child = Child("worker", [sys.executable, "-c", "pass"]).start()
    delays = []
    for _ in range(6):
        child.process.wait(30)
        noticed = child.started_at + 1  # a second after it started: it crashed at once
        child.check(noticed)
        delays.append(child.restart_at - noticed)
        child.check(child.restart_at)  # its time has come: started again
    child.process.wait(30)
    child.check(child.started_at + QUICK_EXIT_S + 1)  # ran long enough: it had started fine

    assert delays == [1, 2, 5, 10, 30, 30]
    assert child.restart_at - (child.started_at + QUICK_EXIT_S + 1) == 1
    assert "* worker exited with 0; restarting it in 30 s" in capsys.readouterr().out
