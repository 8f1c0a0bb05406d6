"""CPU seconds used by each kind of process a benchmark case runs, read from /proc (Linux)."""

import os
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds_by_kind():
    """CPU seconds used so far by each kind of process on this machine that a bench case runs."""
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        kind = _process_kind(int(pid), command)
        if kind:
            out[kind] = out.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return out


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
