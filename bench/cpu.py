"""CPU seconds used by the processes a benchmark case runs, by kind or by process tree, read from /proc (Linux)."""

import os
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def proc_stat(pid):
    """(parent pid, user + system seconds) of process ``pid``, from /proc/PID/stat; None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def cpu_seconds_by_kind():
    """CPU seconds used so far by each kind of process on this machine that a bench case runs."""
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        kind = _process_kind(int(pid), command)
        stat = proc_stat(pid) if kind else None
        if stat is not None:
            out[kind] = out.get(kind, 0.0) + stat[1]
    return out


def tree_cpu_s(root_pids):
    """User + system seconds used so far by the live processes ``root_pids`` and all their descendants."""
    stats = {int(pid): proc_stat(pid) for pid in filter(str.isdigit, os.listdir("/proc"))}
    children = {}
    for pid, stat in stats.items():
        if stat is not None:
            children.setdefault(stat[0], []).append(pid)
    total, todo = 0.0, list(root_pids)
    while todo:
        pid = todo.pop()
        if stats.get(pid) is not None:
            total += stats[pid][1]
        todo += children.get(pid, [])
    return total


def _process_kind(pid, command):
    program = command.split(" ")[0]
    if "rundramatiq" in command or ("dramatiq" in command and "bench" in command):
        return "workers"
    if "beam.smp" in program:
        return "rabbitmq"
    if program.startswith("postgres") or program.endswith("/postgres"):
        return "postgresql"
    if "redis-server" in program:
        return "redis"
    if pid == os.getpid():
        return "smtp_sink"  # this process: during a drain it only runs the sink
    return None


def cpu_ms_per_email(before, after, emails, *, less=None):
    less = less or {}
    return {
        kind: round((after[kind] - before.get(kind, 0.0) - less.get(kind, 0.0)) * 1000 / emails, 2)
        for kind in sorted(after)
    }
