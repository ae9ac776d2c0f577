"""``floorwatch init`` answered on a terminal: the real entry point in a pseudo-terminal,
each question awaited (bounded) and answered; the file written passes config check."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.config_loader import load_settings

pytestmark = pytest.mark.integration
FLOORWATCH = Path(sys.executable).parent / "floorwatch"


class Terminal:
    """A process on a pseudo-terminal: wait for a text, type a line."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.master, slave = pty.openpty()
        env = {**os.environ, "TERM": "dumb", "COLUMNS": "200"}
        self.proc = subprocess.Popen(  # noqa: S603 -- our own entry point
            args, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env, close_fds=True
        )
        os.close(slave)
        self.seen = ""

    def expect(self, text: str, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while text not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {text!r} on the terminal; it shows:\n{self.seen}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # the process ended and closed the terminal
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"the process ended before {text!r}:\n{self.seen}")
                self.seen += chunk.decode("utf-8", "replace")
        self.seen = self.seen[self.seen.index(text) + len(text) :]

    def answer(self, prompt: str, line: str) -> None:
        self.expect(prompt)
        os.write(self.master, line.encode() + b"\r")

    def close(self) -> int:
        try:
            return self.proc.wait(timeout=30)
        finally:
            os.close(self.master)


def test_init_asks_and_writes_a_valid_file(tmp_path: Path) -> None:
    term = Terminal([str(FLOORWATCH), "init", "site.yaml"], tmp_path)
    try:
        term.answer("Center name:", "Trung tâm Phục vụ hành chính công xã Tân Phú")
        term.answer("Site id:", "xa-tan-phu")
        term.answer("Floors [1]:", "")
        term.answer("Floor width, m:", "14")
        term.answer("Floor depth, m:", "9")
        term.answer("Counters:", "5")
        term.answer("Waiting seats:", "24")
        term.answer("Service groups, comma:", "Tư pháp – Hộ tịch, Đất đai, Chứng thực")
        term.answer("Mon-Fri hours [07:30-11:30,13:30-17:00]:", "7h-11h30, 13h30-17h")
        term.answer("Saturday [07:30-11:30]:", "closed")
        term.answer("Camera addresses []:", "192.168.1.64")
        term.answer("Camera user []:", "floorwatch")
        term.answer("A main-door counter? [y/N]:", "y")
        term.answer("Climate sensors [0]:", "1")
        term.answer("Ticket system? [Y/n]:", "")
        term.expect("wrote site.yaml")
        term.expect("next: set CAM_1_PASSWORD")
    finally:
        code = term.close()
    assert code == 0
    s = load_settings(tmp_path / "site.yaml", {"CAM_1_PASSWORD": "secret"}).settings
    assert s.site.name == "Trung tâm Phục vụ hành chính công xã Tân Phú"
    [rule] = s.site.opening_hours
    assert [(x.start.hour, x.start.minute) for x in rule.sessions] == [(7, 0), (13, 30)]
    assert [svc.id for svc in s.services] == ["tu-phap-ho-tich", "dat-dai", "chung-thuc"]
    assert sum(len(svc.counters) for svc in s.services) == 5
    assert [d.id for d in s.doors] == ["d-main"]
    assert s.cameras[0].onvif.username == "floorwatch"
    checked = subprocess.run(
        [str(FLOORWATCH), "config", "check", "site.yaml"],
        cwd=tmp_path,
        env={**os.environ, "CAM_1_PASSWORD": "secret"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert "ok: configuration is valid" in checked.stdout
    assert "warning" not in checked.stdout
