"""Rendering the daily report (gateway.report.render): HTML, PDF and PNG charts from literal figures."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from gateway.report.model import AlertStats, DailyReport, build_report
from gateway.report.render import FontMissing, render, report_font
from tests.unit.test_report_model import DAY, TZ, figures, local, tp

AT = datetime(2026, 10, 14, 17, 30, tzinfo=TZ)


def pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", pdf))


def test_a_day_renders_in_both_languages() -> None:
    tickets = [tp("tax", "T1", "issued", local(8)), tp("tax", "T1", "called", local(8, 12))]
    report = build_report(figures(tickets=tickets))
    font = report_font()
    vi = render(report, "vi", generated_at=AT, font=font)
    en = render(report, "en", generated_at=AT, font=font, inline_images=True)
    assert pages(vi.pdf) == pages(en.pdf) == 5
    assert set(vi.charts) == {"people", "counters", "waits", "tickets"}
    assert all(png.startswith(b"\x89PNG") for png in vi.charts.values())
    assert '<html lang="vi">' in vi.html and "Sảnh chờ" in vi.html
    assert "Quá tải tại Lối vào từ 08:15 (cao nhất 95 người lúc 08:15)" in vi.html  # site time
    assert "Critical in Lối vào from 08:15 (at most 95 people, at 08:15)" in en.html
    assert en.html.count("data:image/png;base64,") == 4 and 'src="people.png"' not in en.html
    assert "<td" in vi.html and "09h" in vi.html  # the short hour of the counters table


def test_html_escapes_names_from_the_site_file() -> None:
    report = build_report(
        figures(services={"tax": "Thuế <b>&"}, tickets=[tp("tax", "T1", "issued", local(8))])
    )
    done = render(report, "en", generated_at=AT, font=report_font())
    assert "Thuế &lt;b&gt;&amp;" in done.html and "<b>&" not in done.html


def test_an_empty_day_still_renders_and_says_so() -> None:
    empty = DailyReport(
        "hcc",
        "HCC",
        DAY,
        DAY,
        (8, 9),
        (),
        (),
        (),
        (),
        AlertStats(0, (), (), 0, 0, None, None),
        (),
        (),
    )
    done = render(empty, "en", generated_at=AT, font=report_font())
    assert pages(done.pdf) == 5
    for phrase in (
        "no people counts",
        "no ticket was called",
        "no staffing plan",
        "within the comfort band",
    ):
        assert phrase in done.html


def test_a_missing_font_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FontMissing, match="fonts-dejavu-core"):
        report_font(tmp_path / "nope.ttf")
