"""deploy/systemd/: the units pass ``systemd-analyze verify`` and ``security``, and the
backup script makes an archive a gateway can restart from.

systemd-analyze runs offline on copies of the units whose /opt/floorwatch is a
temp folder holding the real ``floorwatch`` command of this environment and the
real backup script (verify checks that every Exec*= command is executable).
Debian's package ``systemd`` provides systemd-analyze; script/bootstrap installs it.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
NAMES = [
    *("floorwatch.service", "floorwatch-backup.service", "floorwatch-backup.timer"),
    *("floorwatch-ready.service", "floorwatch-ready.timer"),
]
# systemd-analyze security's exposure, times ten: 13 is its "1.3 OK" for floorwatch.service
# as written; dropping the sandboxing options takes it to 91 ("9.1 UNSAFE").
MAX_EXPOSURE = 20


def _analyze(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    """The units as installed, with /opt/floorwatch -> tmp_path/opt (real commands inside)."""
    opt = tmp_path / "opt"
    (opt / "bin").mkdir(parents=True)
    (opt / "bin" / "floorwatch").symlink_to(Path(sys.executable).parent / "floorwatch")
    (opt / "bin" / "floorwatch-backup").symlink_to(UNITS / "floorwatch-backup")
    (opt / "bin" / "floorwatch-ready").symlink_to(UNITS / "floorwatch-ready")
    (opt / "bin" / "python").symlink_to(sys.executable)
    for name in NAMES:
        text = (UNITS / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace("/opt/floorwatch", str(opt)), encoding="utf-8")
    return tmp_path


def test_the_units_verify_without_a_warning(installed: Path) -> None:
    result = _analyze("verify", "--man=no", *NAMES, cwd=installed)
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""


def test_verify_reports_a_broken_unit(installed: Path) -> None:
    unit = installed / "floorwatch.service"
    text = unit.read_text(encoding="utf-8")
    unit.write_text(text.replace("ProtectSystem=strict", "ProtectSystem=stricter"))
    result = _analyze("verify", "--man=no", "floorwatch.service", cwd=installed)
    assert "Failed to parse protect system value" in result.stderr


@pytest.mark.parametrize(
    "name", ["floorwatch.service", "floorwatch-backup.service", "floorwatch-ready.service"]
)
def test_the_services_are_sandboxed(installed: Path, name: str) -> None:
    result = _analyze(
        "security", "--offline=true", f"--threshold={MAX_EXPOSURE}", name, cwd=installed
    )
    assert result.returncode == 0, result.stdout[-600:] + result.stderr
    assert "Overall exposure level" in result.stdout


def test_the_security_check_can_fail(installed: Path) -> None:
    unit = installed / "floorwatch.service"
    sandbox = ("Protect", "Private", "Restrict", "SystemCall", "NoNewPrivileges", "Capability")
    lines = unit.read_text(encoding="utf-8").splitlines()
    unit.write_text("\n".join(x for x in lines if not x.startswith(sandbox)) + "\n")
    result = _analyze(
        "security", "--offline=true", f"--threshold={MAX_EXPOSURE}", unit.name, cwd=installed
    )
    assert result.returncode != 0


def test_the_gateway_unit_logs_to_the_journal_and_keeps_state_in_its_state_directory() -> None:
    text = (UNITS / "floorwatch.service").read_text(encoding="utf-8")
    lines = set(text.splitlines())
    assert "StateDirectory=floorwatch" in lines
    assert "Environment=FLOORWATCH_GATEWAY__STATE_DIR=/var/lib/floorwatch" in lines
    assert {"StandardOutput=journal", "StandardError=journal"} <= lines
    assert (
        "ExecStart=/opt/floorwatch/bin/floorwatch run -c /etc/floorwatch/site.yaml --log-json"
        in lines
    )
    assert "RestartPreventExitStatus=2" in lines  # a config error does not loop


def _state(folder: Path) -> sqlite3.Connection:
    """A state folder as the gateway leaves it, with its alert store open in WAL mode."""
    (folder / "spool" / "rejected").mkdir(parents=True)
    (folder / "spool" / "00000000000000000042.lp").write_text("zone_occupancy count=3i 1\n")
    (folder / "spool" / "00000000000000000043.lp.tmp").write_text("half a batch")
    (folder / "door-counters.json").write_text('{"d1": 17}')
    db = sqlite3.connect(folder / "alerts.sqlite3")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")  # the rows stay in the -wal file
    db.execute("CREATE TABLE alerts (id TEXT PRIMARY KEY)")
    with db:
        db.executemany("INSERT INTO alerts VALUES (?)", [(f"a{i}",) for i in range(500)])
    return db


def _backup(state: Path, backups: Path, keep_days: str = "14") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(UNITS / "floorwatch-backup"), str(state), str(backups)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "KEEP_DAYS": keep_days},
        check=False,
    )


def test_backup_copies_a_live_state_folder_consistently(tmp_path: Path) -> None:
    state, backups = tmp_path / "state", tmp_path / "backups"
    state.mkdir()
    db = _state(state)
    assert (state / "alerts.sqlite3-wal").stat().st_size > 0
    old = backups / "floorwatch-state-20200101T000000Z.tar.gz"
    backups.mkdir()
    old.write_bytes(b"old")
    month_ago = time.time() - 30 * 86400
    os.utime(old, (month_ago, month_ago))

    result = _backup(state, backups)
    db.close()
    assert result.returncode == 0, result.stderr
    (archive,) = backups.glob("floorwatch-state-2*.tar.gz")
    assert archive != old and not old.exists()
    assert f"removed old {old}" in result.stdout
    assert list(backups.iterdir()) == [archive]  # no partial folder left behind

    restored = tmp_path / "restored"
    with tarfile.open(archive) as tar:
        tar.extractall(restored, filter="data")
    names = {str(p.relative_to(restored)) for p in restored.rglob("*") if p.is_file()}
    assert names == {"alerts.sqlite3", "door-counters.json", "spool/00000000000000000042.lp"}
    copy = sqlite3.connect(restored / "alerts.sqlite3")
    assert copy.execute("SELECT count(*) FROM alerts").fetchone() == (500,)
    copy.close()


@pytest.mark.parametrize(
    ("args", "env_days", "message"),
    [
        (["/nonexistent/state"], "14", "no state folder /nonexistent/state"),
        ([], "two weeks", "KEEP_DAYS must be a number of days"),
    ],
)
def test_backup_refuses_bad_input(
    tmp_path: Path, args: list[str], env_days: str, message: str
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    result = _backup(Path(args[0]) if args else state, tmp_path / "b", env_days)
    assert result.returncode == 1
    assert message in result.stderr
