"""`make run`'s processes: a Celery worker with its embedded beat, consuming all three queues, and Django's development
server, started together and stopped together.

    python -m msp_portal.devserver [ADDRESS]      (ADDRESS as runserver takes it)

Ctrl-C, SIGTERM or SIGHUP — sent to this process or to its whole process group, with a terminal
or without one (an IDE, a process manager) — stops both within STOP_SECONDS and leaves no
process behind. Each child runs in a process group of its own, so only this process decides
how it stops: a signal sent straight to the worker's group reaches its pool processes too, and
SIGHUP makes a Celery worker restart itself instead of stopping. The worker gets SIGTERM (warm
shutdown: it finishes the task at hand), SIGQUIT after WARM_SECONDS (cold shutdown: the
unfinished tasks stay queued, as acks_late wants), and whatever still runs at STOP_SECONDS is
killed. When one child ends by itself (the address is taken, say), the other is stopped too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_ADDRESS = "127.0.0.1:8000"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
WARM_SECONDS = 4.0
STOP_SECONDS = 6.0
POLL_SECONDS = 0.1


def commands(address: str) -> dict[str, list[str]]:
    python = sys.executable
    return {
        "worker": [
            python,
            "-m",
            "celery",
            "-A",
            "msp_portal",
            "worker",
            "--beat",
            "--loglevel=INFO",
            "--concurrency=2",
            # One worker for every queue (settings.CELERY_TASK_ROUTES); production runs one per queue.
            "--queues=billing,exports,default",
        ],
        "server": [python, str(BASE_DIR / "manage.py"), "runserver", address],
    }


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group has ended already
        os.killpg(process.pid, signum)


def _wait(processes, deadline: float) -> bool:
    """Wait until every process has ended or the deadline passes; True when all ended."""
    while any(process.poll() is None for process in processes):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True


def stop(worker: subprocess.Popen, server: subprocess.Popen) -> None:
    """Stop both children and everything they started (see the module's docstring)."""
    started = time.monotonic()
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
    # The development server's reloader does not pass a signal on to the server it runs.
    _signal_group(server, signal.SIGTERM)
    if not _wait([worker, server], started + WARM_SECONDS) and worker.poll() is None:
        print("devserver: the worker is still busy: cold shutdown", file=sys.stderr, flush=True)
        worker.send_signal(signal.SIGQUIT)
    _wait([worker, server], started + STOP_SECONDS)
    # Whatever is left in the two groups (a pool process, beat, the server under its reloader).
    for process in (worker, server):
        _signal_group(process, signal.SIGKILL)
        process.wait()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    address = args[0] if args else DEFAULT_ADDRESS
    received: list[int] = []

    def on_signal(signum, _frame):
        received.append(signum)

    for signum in STOP_SIGNALS:
        signal.signal(signum, on_signal)
    started = {
        name: subprocess.Popen(command, cwd=BASE_DIR, stdin=subprocess.DEVNULL, process_group=0)  # noqa: S603
        for name, command in commands(address).items()
    }
    while not received and all(process.poll() is None for process in started.values()):
        time.sleep(POLL_SECONDS)
    if received:
        print(f"devserver: {signal.Signals(received[0]).name}: stopping", file=sys.stderr, flush=True)
    else:
        ended = ", ".join(
            f"{name} ({process.returncode})" for name, process in started.items() if process.poll() is not None
        )
        print(f"devserver: {ended} ended: stopping", file=sys.stderr, flush=True)
    stop(started["worker"], started["server"])
    if received:
        # End the way the signal ends a process, so that make reports it as it does for Ctrl-C.
        signal.signal(received[0], signal.SIG_DFL)
        os.kill(os.getpid(), received[0])
    return 1


if __name__ == "__main__":
    sys.exit(main())
