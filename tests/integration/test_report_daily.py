"""The daily report of a simulated day in a real InfluxDB 1.x: totals, peak, charts, PDF pages.

Two simulated weeks (seeded, pinned: Monday 5 - Sunday 18 October 2026, no public
holiday) are written by ``gateway.planning.seed``; the report of Wednesday 14 October
is compared with figures computed here straight from the simulator's readings. The
PDF is turned into PNG pages with pdftoppm (poppler-utils) and kept as artifacts under
the test's temp folder (the path is printed).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config_loader import load_settings
from gateway.influx_writer import make_client
from gateway.levels import instant_level, thresholds
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.process import free_port
from gateway.planning.seed import PRESENCE_EVERY_S, seed_history
from gateway.report.model import DailyReport, build_report
from gateway.report.reader import ClosedDay, ReportReader
from gateway.report.render import CELL, render, report_font
from gateway.settings import InfluxConfig, Settings
from sensors.simulator.model import CenterModel
from sensors.simulator.readings import PresenceReading, TicketReading

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FIRST = date(2026, 10, 5)  # a Monday
DAYS = 14
DAY = date(2026, 10, 14)  # a Wednesday; a week before is Wednesday 7 October
SEED = 7
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
GENERATED = datetime(2026, 10, 14, 17, 30, tzinfo=TZ)
CELL_STYLE = f'style="{CELL}"'


@pytest.fixture(scope="module")
def stored(influxdb1: InfluxDB1Server) -> Iterator[Settings]:
    base = load_settings(ROOT / "config" / "demo-site.yaml", {}).settings
    db = f"report_{free_port('127.0.0.1')}"
    influx = InfluxConfig(url=influxdb1.url, protocol="v1", database=db)
    settings = base.model_copy(update={"influxdb": influx})
    seed_history(settings, influx, FIRST, DAYS, seed=SEED)
    client = make_client(influx)
    client.prepare()
    client.write("\n".join(alert_lines(settings.site.id) + fused_lines(settings.site.id)))
    client.close()
    try:
        yield settings
    finally:
        if influxdb1.running:
            influxdb1.drop_database(db)


def ns(h: int, m: int) -> int:
    return int(datetime.combine(DAY, time(h, m), tzinfo=TZ).timestamp()) * 1_000_000_000


def alert_lines(site: str) -> list[str]:
    """Two alerts in the gateway's schema (gateway.points.alert_lines): one acknowledged after 6 min."""
    tags = f"alerts,rule=crowd_level,severity=critical,site={site},zone=f2-waiting"
    climate = f"alerts,rule=co2_high,severity=warning,site={site},zone=f2-waiting"
    return [
        f'{tags} state="active",transition="raised",alert_id="a-1",notifications=1i {ns(9, 10)}',
        f'{tags} state="acknowledged",transition="acknowledged",alert_id="a-1",notifications=1i {ns(9, 16)}',
        f'{tags} state="resolved",transition="resolved",alert_id="a-1",notifications=1i {ns(9, 50)}',
        f'{climate} state="active",transition="raised",alert_id="a-2",notifications=0i {ns(14, 0)}',
    ]


def fused_lines(site: str) -> list[str]:
    """The engine's fused states of a zone no sensor counts in the simulation (f1-atm):
    busy from 10:00, crowded from 10:02 to 10:06, its highest count 9 at 10:04."""
    series = f"zone_occupancy,site={site},source=fused,zone=f1-atm"
    states = [(9, 58, 2, "calm"), (10, 0, 5, "busy"), (10, 2, 7, "crowded")]
    states += [(10, 4, 9, "crowded"), (10, 6, 6, "crowded"), (10, 8, 4, "busy")]
    return [
        f'{series} count={n}i,level="{level}",method="presence" {ns(h, m)}'
        for h, m, n, level in states
    ]


def expected(settings: Settings) -> tuple[dict[str, int], dict[str, tuple[int, datetime]]]:
    """From the simulator itself, as seed_history plays it: ticket events of DAY, and the
    highest presence count per zone among the readings kept (one per sensor per 5 min)."""
    model = CenterModel(settings, SEED, datetime.combine(FIRST, time(0), tzinfo=TZ))
    readings = []
    for k in range(DAYS):
        day = FIRST + timedelta(days=k)
        step = model.step(datetime.combine(day + timedelta(days=1), time(0), tzinfo=TZ))
        if day == DAY:
            readings = step
            break
    zone_of = {s.id: s.zone for s in settings.sensors}
    events: dict[str, set[tuple[str, str]]] = {}
    peaks: dict[str, tuple[int, datetime]] = {}
    kept: dict[str, int] = {}
    for r in readings:
        if isinstance(r, TicketReading):
            events.setdefault(r.event.value, set()).add((r.service_id, r.ticket))
        elif isinstance(r, PresenceReading):
            bucket = int(r.at.timestamp()) // PRESENCE_EVERY_S
            if kept.get(r.sensor_id) == bucket:
                continue
            kept[r.sensor_id] = bucket
            zone = zone_of[r.sensor_id] or ""
            if zone not in peaks or r.count > peaks[zone][0]:
                peaks[zone] = (r.count, r.at)
    return {k: len(v) for k, v in events.items()}, peaks


@pytest.fixture(scope="module")
def report(stored: Settings) -> DailyReport:
    return build_report(ReportReader(stored).figures(DAY))


def test_totals_and_peak_match_the_simulated_day(stored: Settings, report: DailyReport) -> None:
    events, peaks = expected(stored)
    t = report.totals
    assert events["issued"] > 300  # a weekday's worth
    assert (t.issued, t.called, t.served, t.no_show) == (
        events["issued"],
        events["called"],
        events["served"],
        events.get("no_show", 0),
    )
    found = {p.zone: p.people for p in report.peaks}
    assert found == {**{z: float(c) for z, (c, _) in peaks.items()}, "f1-atm": 9.0}
    atm = next(p for p in report.peaks if p.zone == "f1-atm")
    assert (atm.level.value, atm.level_source) == ("crowded", "stored")
    assert (atm.level_at.hour, atm.level_at.minute, atm.at.minute) == (10, 2, 4)
    for p in report.peaks:  # and when: the first reading of the highest count
        if p.zone in peaks:
            assert abs((p.at - peaks[p.zone][1]).total_seconds()) < 1  # stored to the ms
    rank = ["calm", "busy", "crowded", "critical"]
    zones = {z.id: z for z in stored.zones}
    candidates = [(rank.index("crowded"), 9.0, "f1-atm")]  # the stored level wins there
    for zone_id, (count, _) in peaks.items():
        z = zones[zone_id]
        limits = thresholds(z.crowd, capacity=z.capacity, area_m2=z.area_m2)
        candidates.append((rank.index(instant_level(count, limits).value), float(count), zone_id))
    _, people, zone_id = max(candidates)
    assert report.peak is not None
    assert (report.peak.zone, report.peak.people) == (zone_id, people)


def test_waits_alerts_counters_and_last_week(report: DailyReport) -> None:
    assert {w.service for w in report.waits} == {t.service for t in report.tickets if t.called}
    for w in report.waits:
        assert 0 <= w.p50_min <= w.p90_min <= w.p95_min <= w.max_min
        assert w.samples > 0
    a = report.alerts
    assert (a.raised, a.acknowledged, a.never_acknowledged, a.ack_max_min) == (2, 1, 1, 6.0)
    assert report.counters and all(any(g.needed) for g in report.counters)
    assert any(v is not None for g in report.counters for v in g.open_actual)
    waiting = next(z for z in report.zones if z.zone == "f2-waiting")
    assert any(v for v in waiting.today) and any(v for v in waiting.last_week)
    assert waiting.today != waiting.last_week  # two different days, not one read twice


def test_a_closed_day_is_refused(stored: Settings) -> None:
    with pytest.raises(ClosedDay, match="2026-10-11"):  # a Sunday
        ReportReader(stored).figures(date(2026, 10, 11))


def test_pdf_has_the_charts_and_the_html_the_totals(
    report: DailyReport, tmp_path_factory: pytest.TempPathFactory
) -> None:
    out = tmp_path_factory.mktemp("report-pages")
    done = render(report, "vi", generated_at=GENERATED, font=report_font())
    (out / "report.pdf").write_bytes(done.pdf)
    assert done.pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page\b", done.pdf))
    assert pages == 5  # the summary and four charts
    assert b"DejaVuSans" in done.pdf  # the font with the diacritics, embedded
    for name in ("people", "counters", "waits", "tickets"):
        assert done.charts[name].startswith(b"\x89PNG")
        assert f'src="{name}.png"' in done.html
    t = report.totals
    assert f"Đã phát {t.issued} · Đã phục vụ {t.served} · Vắng mặt {t.no_show}" in done.html
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "pdftoppm missing: apt-get install poppler-utils (script/bootstrap)"
    subprocess.run(
        [pdftoppm, "-png", "-r", "60", str(out / "report.pdf"), str(out / "page")], check=True
    )
    pngs = sorted(out.glob("page-*.png"))
    assert len(pngs) == pages
    assert all(p.stat().st_size > 10_000 for p in pngs)  # drawn pages, not blank ones
    print(f"report pages: {out}")


def test_cli_writes_the_report(stored: Settings, tmp_path: Path) -> None:
    site = yaml.safe_load((ROOT / "config" / "demo-site.yaml").read_text(encoding="utf-8"))
    site["influxdb"] = stored.influxdb.model_dump(mode="json", exclude_none=True)
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    args = ["report", "daily", "-c", str(tmp_path / "site.yaml"), "--date", DAY.isoformat()]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "issued" in result.output
    html = (out / "report-2026-10-14-en.html").read_text(encoding="utf-8")
    assert "Daily report" in html and "People per zone by hour" in html
    assert (out / "report-2026-10-14-en.pdf").read_bytes().startswith(b"%PDF")
    assert {p.name for p in out.glob("*.png")} == {
        f"{n}.png" for n in ("people", "counters", "waits", "tickets")
    }
    closed = CliRunner().invoke(app, [*args[:-1], "2026-10-11", "--out", str(out)])
    assert closed.exit_code == 1 and "closed" in closed.output


def test_api_serves_the_report_to_managers(stored: Settings) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from api.routes import reports
    from gateway.settings import Role
    from tests.api_support import bearer, build_app

    app, _, _ = build_app(site=stored, clock=lambda: GENERATED)
    if not any(getattr(r, "path", "") == "/api/v1/reports/daily" for r in app.routes):
        app.include_router(reports.router)
    url = "/api/v1/reports/daily"
    manager = bearer(Role.MANAGER)
    with TestClient(app) as client:
        page = client.get(url, params={"date": DAY.isoformat()}, headers=manager)
        assert page.status_code == 200, page.text
        assert page.headers["content-type"].startswith("text/html")
        assert page.text.count('src="data:image/png;base64,') == 4
        assert "Báo cáo ngày" in page.text and "Lập lúc 2026-10-14 17:30" in page.text
        pdf = client.get(
            url, params={"date": DAY.isoformat(), "format": "pdf", "lang": "en"}, headers=manager
        )
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert "report-2026-10-14-en.pdf" in pdf.headers["content-disposition"]
        closed = client.get(url, params={"date": "2026-10-11"}, headers=manager)
        assert closed.status_code == 404 and closed.json()["error"]["code"] == "closed_day"
        assert client.get(url, headers=manager).status_code == 422  # the date is required
        admin = client.get(url, params={"date": DAY.isoformat()}, headers=bearer(Role.ADMIN))
        assert admin.status_code == 200
        assert client.get(url, params={"date": DAY.isoformat()}).status_code == 401
        for role in (Role.FACILITY, Role.SUPERVISOR, Role.VIEWER):
            assert (
                client.get(url, params={"date": DAY.isoformat()}, headers=bearer(role)).status_code
                == 403
            )


def test_weekly_summary_of_the_simulated_week(
    stored: Settings, report: DailyReport, tmp_path: Path
) -> None:
    site = yaml.safe_load((ROOT / "config" / "demo-site.yaml").read_text(encoding="utf-8"))
    site["influxdb"] = stored.influxdb.model_dump(mode="json", exclude_none=True)
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    args = ["report", "weekly", "-c", str(tmp_path / "site.yaml"), "--week", DAY.isoformat()]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "2026-10-12 - 2026-10-18: 6 open days" in result.output  # Sunday closed
    html = (out / "week-2026-10-12-en.html").read_text(encoding="utf-8")
    assert "2026-10-18 (no opening hours that weekday)" in html
    t = report.totals  # Wednesday's row is the daily report's
    assert f"<td {CELL_STYLE}>2026-10-14</td><td {CELL_STYLE}>{t.issued}</td>" in html
    pdf = (out / "week-2026-10-12-en.pdf").read_bytes()
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 2
    issued = int(re.search(r"(\d+) tickets issued", html).group(1))  # type: ignore[union-attr]
    days = re.findall(rf"<tr><td {CELL_STYLE}>2026-10-1\d</td><td {CELL_STYLE}>(\d+)</td>", html)
    assert len(days) == 6 and issued == sum(int(n) for n in days)
