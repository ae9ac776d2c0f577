"""The durable spool against a real temp folder, including SIGKILL mid-append."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.spool import Spool, SpoolFull

ROOT = Path(__file__).resolve().parents[2]


def batch(tag: str, n: int = 3) -> list[str]:
    return [f"m,b={tag} v={i}i {i}" for i in range(n)]


def test_fifo_order_and_remove(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=10_000)
    assert spool.peek() is None
    ids = [spool.append(batch(t)) for t in ("a", "b", "c")]
    assert ids == sorted(ids)
    assert spool.count == 3
    for tag, seg in zip("abc", ids, strict=True):
        head = spool.peek()
        assert head == (seg, batch(tag))
        spool.remove(seg)
    assert spool.peek() is None
    assert spool.count == 0
    assert spool.size_bytes == 0


def test_segments_are_plain_line_protocol_files(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000)
    seg = spool.append(["climate,zone=Sảnh\\ chờ temperature=26.4 1", "m v=1i 2"])
    files = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    assert files == [f"{seg:020d}.lp"]
    assert (tmp_path / files[0]).read_text(encoding="utf-8") == (
        "climate,zone=Sảnh\\ chờ temperature=26.4 1\nm v=1i 2\n"
    )


def test_size_count_and_full(tmp_path: Path) -> None:
    one = batch("x")
    size = len(("\n".join(one) + "\n").encode())
    spool = Spool(tmp_path, max_bytes=size * 2)
    spool.append(one)
    spool.append(one)
    assert spool.size_bytes == size * 2
    assert spool.fill_ratio == 1.0
    with pytest.raises(SpoolFull, match="does not fit"):
        spool.append(one)
    assert spool.count == 2
    head = spool.peek()
    assert head is not None
    spool.remove(head[0])
    spool.append(one)
    assert spool.count == 2


def test_survives_reopen_and_keeps_numbering(tmp_path: Path) -> None:
    first = Spool(tmp_path, max_bytes=10_000)
    a = first.append(batch("a"))
    b = first.append(batch("b"))
    first.remove(a)
    (tmp_path / f"{b + 1:020d}.lp.tmp").write_text("m,b=torn v=1i")  # an interrupted append
    (tmp_path / "notes.txt").write_text("not a segment")
    again = Spool(tmp_path, max_bytes=10_000)
    again.open()
    assert not list(tmp_path.glob("*.tmp"))
    assert (tmp_path / "notes.txt").exists()
    assert again.count == 1
    assert again.peek() == (b, batch("b"))
    c = again.append(batch("c"))
    assert c > b


def test_oldest_age(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000)
    assert spool.oldest_age_s(time.time()) == 0.0
    seg = spool.append(batch("a"))
    mtime = (tmp_path / f"{seg:020d}.lp").stat().st_mtime
    assert spool.oldest_age_s(mtime + 42.0) == pytest.approx(42.0)
    assert Spool(tmp_path, max_bytes=10_000).oldest_age_s(mtime + 7.0) == pytest.approx(7.0)


def test_quarantine_moves_batch_with_reason_and_unblocks(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000)
    bad = spool.append(["this is not line protocol"])
    good = spool.append(batch("g"))
    path = spool.quarantine(bad, "unable to parse 'this is not line protocol'")
    assert path == tmp_path / "rejected" / f"{bad:020d}.lp"
    assert path.read_text() == "this is not line protocol\n"
    reason = path.with_name(path.name + ".reason").read_text()
    assert "unable to parse" in reason
    assert spool.peek() == (good, batch("g"))
    assert spool.rejected() == [path]
    # a reopened spool does not reuse the quarantined number
    assert Spool(tmp_path, max_bytes=10_000).append(batch("n")) > bad


def test_reject_stores_a_batch_that_never_was_queued(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000, max_rejected=2)
    paths = [spool.reject([f"bad {i}"], f"reason {i}") for i in range(3)]
    assert spool.count == 0
    assert spool.rejected() == paths[1:]  # bounded: the oldest went
    assert not paths[0].with_name(paths[0].name + ".reason").exists()


def test_invalid_utf8_segment_is_quarantined_on_peek(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000)
    seg = spool.append(batch("a"))
    (tmp_path / f"{seg:020d}.lp").write_bytes(b"m v=1i \xff\xfe\n")
    good = spool.append(batch("b"))
    assert spool.peek() == (good, batch("b"))
    assert [p.name for p in spool.rejected()] == [f"{seg:020d}.lp"]


def test_line_breaks_inside_a_line_are_refused(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000)
    with pytest.raises(ValueError, match="line break"):
        spool.append(["m v=1i 1\nm v=2i 2"])
    assert spool.count == 0


APPENDER = """
import sys
from pathlib import Path
from gateway.spool import Spool
spool = Spool(Path(sys.argv[1]), max_bytes=10**10)
i = 0
while True:
    spool.append([f"m,batch={i} n={j}i {j}" for j in range(2000)])
    i += 1
"""


def test_sigkill_while_appending_leaves_only_whole_batches(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for round_ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", APPENDER, str(folder)], env=env)
        try:
            before = len(list(folder.glob("*.lp"))) if folder.exists() else 0
            deadline = time.monotonic() + 30
            # bounded poll: wait until this round has appended a few batches
            while len(list(folder.glob("*.lp"))) < before + 2 + round_:
                assert time.monotonic() < deadline, "the appender made no progress"
                assert proc.poll() is None, "the appender died"
                time.sleep(0.005)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
    spool = Spool(folder, max_bytes=10**10)
    spool.open()
    assert not list(folder.glob("*.tmp")), "leftover temp files are removed on open"
    seen: list[int] = []
    while (head := spool.peek()) is not None:
        seg, lines = head
        assert len(lines) == 2000, f"segment {seg} holds a partial batch"
        batch_ids = {line.split(",batch=")[1].split(" ")[0] for line in lines}
        assert len(batch_ids) == 1
        assert [line.split("n=")[1].split("i ")[0] for line in lines] == [
            str(j) for j in range(2000)
        ]
        seen.append(int(batch_ids.pop()))
        spool.remove(seg)
    assert len(seen) >= 2 + 3 + 4 + 5  # each round appended at least 2 + round batches
