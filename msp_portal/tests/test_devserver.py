"""`make run`'s processes (msp_portal/devserver.py: the Celery worker with beat, and the
development server) stop within 10 s when their process group gets SIGTERM or SIGHUP, as an IDE
or a process manager sends them, without a terminal — and leave no process behind."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BASE_DIR = Path(__file__).resolve().parents[2]
READY = {
    "worker": " ready.",
    "beat": "beat: Starting...",
    "server": "Starting development server at",
}


def _processes() -> dict[int, tuple[int, int, str]]:
    """Every live process: pid -> (parent pid, process group, state)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        state, ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if state != "Z":
            found[int(entry)] = (int(ppid), int(pgrp), state)
    return found


def _descendants(pid: int) -> set[int]:
    processes = _processes()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, (ppid, _, _) in processes.items() if ppid in frontier} - found
        found |= frontier
    return found


def _in_groups(groups: set[int]) -> set[int]:
    return {pid for pid, (_, pgrp, _) in _processes().items() if pgrp in groups}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2).close()  # noqa: S310 (our own loopback server)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


class Devserver:
    """`python -m msp_portal.devserver` as `make run` starts it, in a session of its own (so no
    terminal), on a free port, with its files in a folder of its own."""

    def __init__(self, var_dir: Path):
        self.port = _free_port()
        env = {
            name: value
            for name, value in os.environ.items()
            if name not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "CELERY_TASK_ALWAYS_EAGER"}
        }
        env.update(DEBUG="true", PORTAL_VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "msp_portal.devserver", f"127.0.0.1:{self.port}"],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.ready = {name: threading.Event() for name in READY}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.groups: set[int] = {self.process.pid}

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line)
            for name, marker in READY.items():
                if marker in line:
                    self.ready[name].set()

    def wait_until_serving(self, timeout: float = 120) -> set[int]:
        """Wait until the worker, beat and the server are up; the processes running then."""
        deadline = time.monotonic() + timeout
        for name, event in self.ready.items():
            assert event.wait(max(0, deadline - time.monotonic())), f"{name} did not start:\n{self.output}"
        url = f"http://127.0.0.1:{self.port}/accounts/login/"
        while not _answers(url):
            assert time.monotonic() < deadline and self.process.poll() is None, f"no answer:\n{self.output}"
            time.sleep(0.2)  # polls until the server listens
        running = _descendants(self.process.pid) | {self.process.pid}
        self.groups |= {os.getpgid(pid) for pid in running if pid in _processes()}
        return running

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def kill_everything(self):
        for group in self.groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        self.process.wait()
        self._reader.join(timeout=10)


@pytest.fixture
def devserver(tmp_path):
    server = Devserver(tmp_path / "var")
    yield server
    server.kill_everything()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_to_the_process_group_stops_the_worker_beat_and_server_within_10_seconds(devserver, signum):
    running = devserver.wait_until_serving()
    commands = [Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode() for pid in running]
    # The supervisor; the worker, its two pool processes and beat; the server and its reloader.
    assert len(running) == 7, commands
    assert sum("celery -A msp_portal worker --beat" in command for command in commands) == 4
    assert sum("manage.py runserver" in command for command in commands) == 2

    sent = time.monotonic()
    os.killpg(devserver.process.pid, signum)
    try:
        devserver.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running 10 s after {signum.name}:\n{devserver.output}")
    elapsed = time.monotonic() - sent

    assert elapsed < 10
    assert devserver.process.returncode == -signum
    assert not (running & set(_processes())), devserver.output
    assert not _in_groups(devserver.groups), devserver.output
    assert "Warm shutdown" in devserver.output


def test_make_run_links_its_e_mails_to_the_address_it_serves():
    env = {name: value for name, value in os.environ.items() if name not in {"PORTAL_BASE_URL", "MAKEFLAGS"}}
    planned = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", "RUN_ADDRESS=127.0.0.1:8123"],  # noqa: S607
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    commands = [line for line in planned if "/bin/python " in line]
    assert [line.split("/bin/python ", 1)[1] for line in commands] == [
        "manage.py migrate --noinput",
        "manage.py seed_demo",
        "-m msp_portal.devserver 127.0.0.1:8123",
    ]
    for line in commands:
        # Each command's environment as the shell gives it: its assignments, running `env` instead.
        assignments = re.match(r"((?:\w+=\S+ )+)(?:exec )?\S+/bin/python ", line).group(1)
        printed = subprocess.run(  # noqa: S603
            ["sh", "-c", f"{assignments} exec env"],  # noqa: S607
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        assert "PORTAL_BASE_URL=http://127.0.0.1:8123" in printed, line
