"""A demo's servers die with the demo, even when it is SIGKILLed (tie_children_to_this_process).

A real parent process starts a real child through ManagedProcess, is SIGKILLed, and the
child is looked up in /proc: gone (or a zombie nobody reaped) when tied, running when not.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.gateway_proc import ROOT

pytestmark = pytest.mark.integration

WAIT_S = 30

PARENT = """
import sys, threading, time
from pathlib import Path
from gateway.peers.process import ManagedProcess, tie_children_to_this_process
if sys.argv[2] == "tied":
    tie_children_to_this_process()
folder = Path(sys.argv[1])
main = ManagedProcess("main", ["sleep", "600"], folder / "main.log").start()
pool: list[int] = []
# from another thread: never tied (the signal would come when that thread ends)
t = threading.Thread(
    target=lambda: pool.append(ManagedProcess("pool", ["sleep", "600"], folder / "p.log").start().pid)
)
t.start()
t.join()
print(main.pid, pool[0], flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"  # a zombie has ended


def _children_after_parent_killed(tmp_path: Path, mode: str) -> tuple[int, int]:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path), mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    main_pid, pool_pid = (int(x) for x in parent.stdout.readline().split())
    assert _alive(main_pid) and _alive(pool_pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait(WAIT_S)
    return main_pid, pool_pid


def _kill(*pids: int) -> None:
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_tied_server_ends_when_its_parent_is_killed(tmp_path: Path) -> None:
    main_pid, pool_pid = _children_after_parent_killed(tmp_path, "tied")
    try:
        deadline = time.monotonic() + WAIT_S
        while _alive(main_pid):
            assert time.monotonic() < deadline, "the tied server outlived its parent"
            time.sleep(0.05)
        assert _alive(pool_pid)  # started from a pool thread: not tied, still running
    finally:
        _kill(main_pid, pool_pid)


def test_an_untied_server_outlives_its_parent(tmp_path: Path) -> None:
    main_pid, pool_pid = _children_after_parent_killed(tmp_path, "free")
    try:
        time.sleep(0.5)  # (what the tied test waits for happens within milliseconds)
        assert _alive(main_pid) and _alive(pool_pid)
    finally:
        _kill(main_pid, pool_pid)
