"""The weekly summary drawn: one chart, HTML for e-mail and a two-page PDF. Adapter.

Same conventions as ``gateway.report.render``: bytes and strings out, ``Figure``
objects (no pyplot), the explicit font, one drawing at a time.
"""

from __future__ import annotations

import base64
import html
import io
from datetime import datetime
from string import Template
from typing import Any

import matplotlib

from gateway.report.render import (
    _RC_LOCK,
    A4_LANDSCAPE,
    CELL,
    Rendered,
    _empty,
    _html_table,
    _png,
    _table,
)
from gateway.report.texts import Language, text
from gateway.report.weekly import DayRow, WeeklyReport

matplotlib.use("Agg")

from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def render_week(
    week: WeeklyReport,
    lang: Language,
    *,
    generated_at: datetime,
    font: str,
    inline_images: bool = False,
) -> Rendered:
    rc: dict[Any, Any] = {"font.family": font, "pdf.fonttype": 42, "svg.fonttype": "none"}
    with _RC_LOCK, matplotlib.rc_context(rc):
        chart = week_chart(week, lang)
        png = _png(chart)
        buf = io.BytesIO()
        with PdfPages(buf) as pdf:
            pdf.savefig(summary_page(week, lang, generated_at))
            pdf.savefig(chart)
            pdf.infodict()["Title"] = (
                f"{text(lang, 'week_title')} {week.site_name} {week.first.isoformat()}"
            )
    src = "data:image/png;base64," + base64.b64encode(png).decode() if inline_images else "week.png"
    return Rendered(week_html(week, lang, src, generated_at), buf.getvalue(), {"week": png})


def week_chart(week: WeeklyReport, lang: Language) -> Figure:
    fig = Figure(figsize=(A4_LANDSCAPE[0], 4.5), layout="constrained")
    fig.suptitle(text(lang, "week_chart"))
    ax = fig.add_subplot()
    if not week.days:
        _empty(ax, text(lang, "no_days"))
        return fig
    x = list(range(len(week.days)))
    w = 0.27
    for k, (key, colour) in enumerate(
        (("issued", "#9aa5b1"), ("served", "#2e7d32"), ("no_show", "#c62828"))
    ):
        bars = ax.bar(
            [v + (k - 1) * w for v in x],
            [getattr(d, key) for d in week.days],
            w,
            color=colour,
            label=text(lang, key),
        )
        ax.bar_label(bars, fontsize=7)
    names = text(lang, "weekdays").split(",")
    ax.set_xticks(x, [f"{names[d.day.weekday()]} {d.day:%d/%m}" for d in week.days], fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def _minutes(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _peak(d: DayRow, lang: Language) -> str:
    if d.peak_level is None or d.peak_at is None:
        return "—"
    return f"{text(lang, d.peak_level.value)}, {d.peak_zone} {d.peak_at:%H:%M}"


WIDTHS = [0.08, 0.05, 0.05, 0.06, 0.08, 0.08, 0.22, 0.06, 0.13, 0.08, 0.11]
HEADER_KEYS = (
    "day",
    "issued",
    "served",
    "no_show",
    "wait_p50",
    "wait_p90",
    "peak_col",
    "alerts_col",
    "ack_col",
    "short_col",
    "excursions_col",
)


def rows(week: WeeklyReport, lang: Language) -> list[list[str]]:
    return [
        [
            d.day.isoformat(),
            str(d.issued),
            str(d.served),
            str(d.no_show),
            _minutes(d.wait_p50_min),
            _minutes(d.wait_p90_min),
            _peak(d, lang),
            str(d.alerts),
            _minutes(d.ack_median_min),
            str(d.short_hours),
            str(d.excursions),
        ]
        for d in week.days
    ]


def headline(week: WeeklyReport, lang: Language) -> list[str]:
    out = [
        text(
            lang,
            "week_totals",
            days=len(week.days),
            issued=week.issued,
            served=week.served,
            no_show=week.no_show,
            alerts=week.alerts,
        )
    ]
    if (b := week.busiest) is not None:
        out.append(text(lang, "busiest", day=b.day.isoformat(), issued=b.issued))
    w = week.worst
    if w is not None and w.peak_level is not None and w.peak_at is not None:
        out.append(
            text(
                lang,
                "week_worst",
                level=text(lang, w.peak_level.value),
                zone=w.peak_zone,
                day=w.day.isoformat(),
                time=f"{w.peak_at:%H:%M}",
            )
        )
    if week.closed:
        days = ", ".join(f"{d.isoformat()} ({why})" for d, why in week.closed)
        out.append(text(lang, "closed", days=days))
    return out


def summary_page(week: WeeklyReport, lang: Language, generated_at: datetime) -> Figure:
    fig = Figure(figsize=A4_LANDSCAPE)
    fig.text(0.04, 0.95, text(lang, "week_title"), fontsize=20, weight="bold")
    fig.text(
        0.04,
        0.91,
        text(
            lang,
            "week_subtitle",
            site=week.site_name,
            first=week.first.isoformat(),
            last=week.last.isoformat(),
        ),
        fontsize=12,
    )
    fig.text(
        0.96,
        0.95,
        text(lang, "generated", at=f"{generated_at:%Y-%m-%d %H:%M}"),
        fontsize=8,
        ha="right",
    )
    for k, line in enumerate(headline(week, lang)):
        fig.text(0.04, 0.85 - 0.04 * k, line, fontsize=10)
    body = rows(week, lang) or [[text(lang, "no_days"), *[""] * (len(HEADER_KEYS) - 1)]]
    _table(fig, (0.02, 0.10, 0.96, 0.55), [text(lang, k) for k in HEADER_KEYS], body, WIDTHS)
    return fig


PAGE = Template("""<!doctype html>
<html lang="$lang">
<head>
<meta charset="utf-8">
<title>$title</title>
</head>
<body style="font-family: 'DejaVu Sans', 'Noto Sans', Arial, sans-serif; color: #1b1f24; max-width: 1100px; margin: 0 auto; padding: 16px;">
<h1 style="font-size: 22px; margin: 0 0 4px 0;">$heading</h1>
<p style="margin: 0 0 16px 0; color: #57606a;">$subtitle</p>
<ul>
$lines
</ul>
$table
<p><img src="$src" alt="$chart" style="max-width: 100%;"></p>
<p style="color: #57606a; font-size: 12px;">$generated</p>
</body>
</html>
""")


def week_html(week: WeeklyReport, lang: Language, src: str, generated_at: datetime) -> str:
    e = html.escape
    return PAGE.substitute(
        lang=lang,
        title=e(f"{text(lang, 'week_title')} {week.site_name} {week.first.isoformat()}"),
        heading=e(text(lang, "week_title")),
        subtitle=e(
            text(
                lang,
                "week_subtitle",
                site=week.site_name,
                first=week.first.isoformat(),
                last=week.last.isoformat(),
            )
        ),
        lines="\n".join(
            f'<li style="{CELL} border: none;">{e(x)}</li>' for x in headline(week, lang)
        ),
        table=_html_table([text(lang, k) for k in HEADER_KEYS], rows(week, lang))
        if week.days
        else f"<p>{e(text(lang, 'no_days'))}</p>",
        src=e(src),
        chart=e(text(lang, "week_chart")),
        generated=e(text(lang, "generated", at=f"{generated_at:%Y-%m-%d %H:%M}")),
    )
