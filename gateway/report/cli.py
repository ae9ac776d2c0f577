"""``floorwatch report``: the manager's daily report as HTML, PDF and PNG charts. Shell."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import structlog
import typer

from gateway.cli_support import settings_or_exit
from gateway.influx_query import HistoryError
from gateway.report.model import build_report
from gateway.report.reader import ClosedDay, ReportReader
from gateway.report.texts import Language

log = structlog.get_logger("floorwatch.report")

report_app = typer.Typer(
    help="The manager's daily report (HTML for e-mail, PDF, charts) from stored history.",
    no_args_is_help=True,
)

Config = Annotated[Path, typer.Option("--config", "-c", help="site file (YAML)", dir_okay=False)]
LangOption = Annotated[str, typer.Option("--lang", help="vi (Vietnamese, default) or en (English)")]
FontOption = Annotated[
    Path | None,
    typer.Option("--font", help="TTF font with Vietnamese diacritics (default: DejaVu Sans)"),
]


def language_and_font(lang: str, font: Path | None) -> tuple[Language, str]:
    """The report's language and font family, or exit: 2 for a bad --lang, 1 for no font."""
    if lang not in ("vi", "en"):
        typer.echo(f"--lang must be vi or en, not {lang!r}", err=True)
        raise typer.Exit(2)
    from gateway.report.render import FontMissing, report_font  # matplotlib: slow import

    try:
        return ("vi" if lang == "vi" else "en"), report_font(font)
    except FontMissing as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc


def report_files(day: str, lang: Language) -> tuple[str, str]:
    """The names of the HTML and PDF files of one day's report."""
    stem = f"report-{day}-{lang}"
    return stem + ".html", stem + ".pdf"


@report_app.command("daily")
def daily(
    config: Config,
    day: Annotated[
        datetime,
        typer.Option("--date", formats=["%Y-%m-%d"], help="the open day to report (site time)"),
    ],
    out: Annotated[
        Path, typer.Option("--out", help="folder to write the report into (created if missing)")
    ],
    lang: LangOption = "vi",
    font: FontOption = None,
) -> None:
    """Write report-DATE-LANG.html, report-DATE-LANG.pdf and the charts (PNG) into --out."""
    language, family = language_and_font(lang, font)
    from gateway.report.render import render  # matplotlib: slow import

    settings = settings_or_exit(config)
    reader = ReportReader(settings)
    try:
        figures = reader.figures(day.date())
    except ClosedDay as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    except HistoryError as exc:
        typer.echo(f"cannot read the history: {exc}", err=True)
        raise typer.Exit(1) from exc
    report = build_report(figures)
    done = render(
        report, language, generated_at=datetime.now(UTC).astimezone(reader.tz), font=family
    )
    try:
        out.mkdir(parents=True, exist_ok=True)
        html_name, pdf_name = report_files(report.day.isoformat(), language)
        for name, png in done.charts.items():
            (out / f"{name}.png").write_bytes(png)
        (out / html_name).write_text(done.html, encoding="utf-8")
        (out / pdf_name).write_bytes(done.pdf)
    except OSError as exc:
        typer.echo(f"cannot write the report into {out}: {exc}", err=True)
        raise typer.Exit(1) from exc
    t = report.totals
    log.info("report.written", day=report.day.isoformat(), out=str(out), lang=language)
    typer.echo(
        f"{report.site_name} {report.day}: issued {t.issued}, served {t.served},"
        f" no-show {t.no_show}; alerts {report.alerts.raised}"
    )
    typer.echo(f"written {out / html_name}")
    typer.echo(f"written {out / pdf_name}")


@report_app.command("weekly")
def weekly(
    config: Config,
    day: Annotated[
        datetime,
        typer.Option(
            "--week", formats=["%Y-%m-%d"], help="any day of the week (Monday to Sunday) to sum up"
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", help="folder to write the summary into (created if missing)")
    ],
    lang: LangOption = "vi",
    font: FontOption = None,
) -> None:
    """Write week-MONDAY-LANG.html, week-MONDAY-LANG.pdf and week.png into --out."""
    language, family = language_and_font(lang, font)
    from gateway.report.render_weekly import render_week  # matplotlib: slow import
    from gateway.report.weekly import build_week, week_of

    settings = settings_or_exit(config)
    reader = ReportReader(settings)
    first, _ = week_of(day.date())
    try:
        days, closed = reader.week(first)
    except HistoryError as exc:
        typer.echo(f"cannot read the history: {exc}", err=True)
        raise typer.Exit(1) from exc
    week = build_week(
        settings.site.id, settings.site.name, first, [build_report(f) for f in days], closed
    )
    done = render_week(
        week, language, generated_at=datetime.now(UTC).astimezone(reader.tz), font=family
    )
    stem = f"week-{first.isoformat()}-{language}"
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "week.png").write_bytes(done.charts["week"])
        (out / f"{stem}.html").write_text(done.html, encoding="utf-8")
        (out / f"{stem}.pdf").write_bytes(done.pdf)
    except OSError as exc:
        typer.echo(f"cannot write the summary into {out}: {exc}", err=True)
        raise typer.Exit(1) from exc
    log.info("report.weekly_written", first=first.isoformat(), out=str(out), lang=language)
    typer.echo(
        f"{week.site_name} {week.first} - {week.last}: {len(week.days)} open days,"
        f" issued {week.issued}, served {week.served}, no-show {week.no_show}"
    )
    typer.echo(f"written {out / (stem + '.html')}")
    typer.echo(f"written {out / (stem + '.pdf')}")
