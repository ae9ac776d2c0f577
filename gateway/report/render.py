"""The daily report drawn: charts (matplotlib, in memory), HTML for e-mail, a PDF. Adapter.

No file and no socket here: bytes and strings out. Figures are built with
``matplotlib.figure.Figure`` (no pyplot, no global figure state); the font and PDF
settings are matplotlib's process-wide rcParams, so a lock draws one report at a time.
The font is given explicitly
(``report_font``): Debian's DejaVu Sans or Noto Sans, both with Vietnamese diacritics.
"""

from __future__ import annotations

import base64
import html
import io
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from string import Template
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from gateway.report.model import DailyReport, Excursion  # noqa: E402
from gateway.report.texts import Language, text  # noqa: E402

FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),  # Debian fonts-dejavu-core
    Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"),  # Debian fonts-noto-core
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),  # Fedora, Alpine
)
CHART_NAMES = ("people", "counters", "waits", "tickets")
A4_LANDSCAPE = (11.69, 8.27)
TODAY = "#1f5fa8"
LAST_WEEK = "#9aa5b1"
_RC_LOCK = threading.Lock()  # one report drawn at a time: rc_context changes global rcParams
LEVEL_COLOURS = {"calm": "#2e7d32", "busy": "#f9a825", "crowded": "#ef6c00", "critical": "#c62828"}


class FontMissing(RuntimeError):
    """No font with Vietnamese diacritics was found (install fonts-dejavu-core)."""


def report_font(path: Path | None = None) -> str:
    """Register the report's font with matplotlib and return its family name.

    ``path`` if given, else the first of ``FONT_CANDIDATES`` present.
    """
    candidates = (path,) if path is not None else FONT_CANDIDATES
    for p in candidates:
        if p is not None and p.is_file():
            font_manager.fontManager.addfont(str(p))
            return str(font_manager.FontProperties(fname=str(p)).get_name())
    raise FontMissing(
        "no font with Vietnamese diacritics at "
        + ", ".join(str(p) for p in candidates if p is not None)
        + ": apt-get install fonts-dejavu-core"
    )


@dataclass(frozen=True, slots=True)
class Rendered:
    html: str
    pdf: bytes
    charts: dict[str, bytes]  # name -> PNG


def render(
    report: DailyReport,
    lang: Language,
    *,
    generated_at: datetime,
    font: str,
    inline_images: bool = False,
) -> Rendered:
    """Charts, HTML and PDF of ``report``.

    HTML images are ``<name>.png`` beside the HTML file, or ``data:`` URIs when
    ``inline_images`` (one self-contained document, as the API serves it).
    """
    rc: dict[Any, Any] = {"font.family": font, "pdf.fonttype": 42, "svg.fonttype": "none"}
    with _RC_LOCK, matplotlib.rc_context(rc):  # rcParams are process-wide
        figures = charts(report, lang)
        pngs = {name: _png(fig) for name, fig in figures.items()}
        pdf = _pdf(report, lang, figures, generated_at)
    sources = {
        name: ("data:image/png;base64," + base64.b64encode(png).decode())
        if inline_images
        else f"{name}.png"
        for name, png in pngs.items()
    }
    return Rendered(render_html(report, lang, sources, generated_at), pdf, pngs)


def render_svg(figure: Figure) -> bytes:
    buf = io.BytesIO()
    figure.savefig(buf, format="svg")
    return buf.getvalue()


# --------------------------------------------------------------------------- charts


def charts(report: DailyReport, lang: Language) -> dict[str, Figure]:
    return {
        "people": people_chart(report, lang),
        "counters": counters_chart(report, lang),
        "waits": waits_chart(report, lang),
        "tickets": tickets_chart(report, lang),
    }


def _hour_labels(hours: tuple[int, ...]) -> list[str]:
    return [f"{h:02d}h" for h in hours]


def people_chart(report: DailyReport, lang: Language) -> Figure:
    zones = tuple(z for z in report.zones if _any(z.today) or _any(z.last_week))
    cols = 2 if len(zones) > 1 else 1
    rows = max(1, -(-len(zones) // cols))
    fig = Figure(figsize=(A4_LANDSCAPE[0], max(3.0, 2.4 * rows + 1)), layout="constrained")
    fig.suptitle(
        text(lang, "people") + " — " + text(lang, "compare", day=report.last_week.isoformat())
    )
    if not zones:
        _empty(fig.add_subplot(), text(lang, "no_peak"))
        return fig
    axes = fig.subplots(rows, cols, squeeze=False)
    x = list(range(len(report.hours)))
    for i, ax in enumerate(axes.flat):
        if i >= len(zones):
            ax.set_axis_off()
            continue
        z = zones[i]
        ax.plot(
            x,
            _gaps(z.last_week),
            color=LAST_WEEK,
            linestyle="--",
            marker=".",
            label=text(lang, "last_week"),
        )
        ax.plot(x, _gaps(z.today), color=TODAY, marker="o", label=text(lang, "today"))
        ax.set_title(z.name, fontsize=10)
        ax.set_xticks(x, _hour_labels(report.hours), fontsize=8)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        if i == 0:
            ax.legend(fontsize=8)
        if i % cols == 0:
            ax.set_ylabel(text(lang, "people_axis"), fontsize=8)
    return fig


def counters_chart(report: DailyReport, lang: Language) -> Figure:
    groups = report.counters
    cols = 2 if len(groups) > 3 else 1
    rows = max(1, -(-len(groups) // cols))
    fig = Figure(figsize=(A4_LANDSCAPE[0], max(3.0, 2.0 * rows + 1)), layout="constrained")
    fig.suptitle(text(lang, "counters"))
    if not groups:
        _empty(fig.add_subplot(), text(lang, "no_counters"))
        return fig
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in list(axes.flat)[len(groups) :]:
        ax.set_axis_off()
    x = list(range(len(report.hours)))
    for ax, g in zip(axes.flat, groups, strict=False):
        ax.bar(x, g.needed, color="#c5d5ea", edgecolor=TODAY, label=text(lang, "needed"))
        ax.step(
            x,
            _gaps(g.open_actual),
            where="mid",
            color="#c62828",
            linewidth=2,
            label=text(lang, "open"),
        )
        ax.set_title(g.name, fontsize=10, loc="left")
        ax.set_xticks(x, _hour_labels(report.hours), fontsize=8)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8, loc="upper right")
    return fig


def waits_chart(report: DailyReport, lang: Language) -> Figure:
    waits = report.waits
    fig = Figure(figsize=(A4_LANDSCAPE[0], max(3.0, 0.6 * len(waits) + 1.6)), layout="constrained")
    fig.suptitle(text(lang, "waits"))
    ax = fig.add_subplot()
    if not waits:
        _empty(ax, text(lang, "no_waits"))
        return fig
    y = list(range(len(waits)))
    h = 0.25
    for k, (label, attr, colour) in enumerate(
        (
            ("p50", "p50_min", "#8fb3de"),
            ("p90", "p90_min", "#3f7fc4"),
            ("p95", "p95_min", "#1f3f6a"),
        )
    ):
        ax.barh(
            [v + (k - 1) * h for v in y],
            [getattr(w, attr) for w in waits],
            h,
            color=colour,
            label=label,
        )
    ax.set_yticks(y, [w.name for w in waits])
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def tickets_chart(report: DailyReport, lang: Language) -> Figure:
    rows = report.tickets
    fig = Figure(figsize=(A4_LANDSCAPE[0], max(3.0, 0.6 * len(rows) + 1.6)), layout="constrained")
    fig.suptitle(text(lang, "tickets"))
    ax = fig.add_subplot()
    if not rows:
        _empty(ax, text(lang, "none"))
        return fig
    y = list(range(len(rows)))
    h = 0.27
    for k, (key, colour) in enumerate(
        (("issued", "#9aa5b1"), ("served", "#2e7d32"), ("no_show", "#c62828"))
    ):
        values = [getattr(r, key) for r in rows]
        bars = ax.barh([v + (k - 1) * h for v in y], values, h, color=colour, label=text(lang, key))
        ax.bar_label(bars, fontsize=7, padding=2)
    ax.set_yticks(y, [r.name for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def _any(values: tuple[float | None, ...]) -> bool:
    return any(v is not None for v in values)


def _gaps(values: tuple[float | None, ...]) -> list[float]:
    return [float("nan") if v is None else v for v in values]


def _empty(ax: Axes, message: str) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


# --------------------------------------------------------------------------- PDF


def _pdf(
    report: DailyReport, lang: Language, figures: Mapping[str, Figure], generated_at: datetime
) -> bytes:
    buf = io.BytesIO()
    with PdfPages(buf) as pdf:
        pdf.savefig(summary_page(report, lang, generated_at))
        for name in CHART_NAMES:
            pdf.savefig(figures[name])
        info = pdf.infodict()
        info["Title"] = f"{text(lang, 'title')} {report.site_name} {report.day.isoformat()}"
        info["Subject"] = "floorwatch daily report"
    return buf.getvalue()


def summary_page(report: DailyReport, lang: Language, generated_at: datetime) -> Figure:
    """Page one: the headline figures as text and small tables."""
    fig = Figure(figsize=A4_LANDSCAPE)
    fig.text(0.04, 0.95, text(lang, "title"), fontsize=20, weight="bold")
    fig.text(
        0.04,
        0.91,
        text(lang, "subtitle", site=report.site_name, day=report.day.isoformat()),
        fontsize=12,
    )
    fig.text(
        0.96,
        0.95,
        text(lang, "generated", at=f"{generated_at:%Y-%m-%d %H:%M}"),
        fontsize=8,
        ha="right",
    )
    fig.text(0.04, 0.85, text(lang, "peak") + ": " + peak_line(report, lang), fontsize=11)
    a = report.alerts
    fig.text(0.04, 0.81, text(lang, "alerts") + ": " + alerts_line(report, lang), fontsize=11)
    fig.text(0.04, 0.77, ack_line(a.ack_median_min, a.ack_max_min, lang), fontsize=10)
    t = report.totals
    rows = [[r.name, str(r.issued), str(r.served), str(r.no_show)] for r in report.tickets]
    rows.append([text(lang, "total"), str(t.issued), str(t.served), str(t.no_show)])
    _table(
        fig,
        (0.04, 0.40, 0.44, 0.33),
        [text(lang, k) for k in ("service", "issued", "served", "no_show")],
        rows,
    )
    wait_rows = [
        [
            w.name,
            str(w.samples),
            f"{w.p50_min:.1f}",
            f"{w.p90_min:.1f}",
            f"{w.p95_min:.1f}",
            f"{w.max_min:.0f}",
        ]
        for w in report.waits
    ]
    _table(
        fig,
        (0.52, 0.40, 0.44, 0.33),
        [text(lang, "service"), text(lang, "samples"), "p50", "p90", "p95", text(lang, "max")],
        wait_rows or [[text(lang, "no_waits"), "", "", "", "", ""]],
    )
    fig.text(0.04, 0.35, text(lang, "climate"), fontsize=12, weight="bold")
    ex_rows = [excursion_row(e, lang) for e in report.excursions[:10]]
    _table(
        fig,
        (0.04, 0.04, 0.92, 0.29),
        [text(lang, k) for k in ("zone", "quantity", "band", "readings_out", "worst", "from_to")],
        ex_rows or [[text(lang, "no_excursions"), "", "", "", "", ""]],
    )
    return fig


def _table(
    fig: Figure,
    box: tuple[float, float, float, float],
    header: list[str],
    rows: list[list[str]],
    widths: list[float] | None = None,
) -> None:
    ax = fig.add_axes(box)
    ax.set_axis_off()
    if widths is None:  # a wide first column (names), the others shared
        first = 0.40 if len(header) > 2 else 0.6
        rest = (1 - first) / max(1, len(header) - 1)
        widths = [first, *([rest] * (len(header) - 1))]
    table = ax.table(
        cellText=rows, colLabels=header, colWidths=widths, loc="upper left", cellLoc="left"
    )
    table.auto_set_font_size(False)
    table.set_fontsize(7 if len(header) > 8 else 8)
    for (r, _), cell in table.get_celld().items():
        if r == 0:
            cell.set_text_props(weight="bold")
            cell.set_facecolor("#e8eef6")


# --------------------------------------------------------------------------- shared lines


def peak_line(report: DailyReport, lang: Language) -> str:
    p = report.peak
    if p is None:
        return text(lang, "no_peak")
    return text(
        lang,
        "peak_line",
        level=text(lang, p.level.value),
        zone=p.name,
        time=f"{p.at:%H:%M}",
        since=f"{p.level_at:%H:%M}",
        people=p.people,
    )


def alerts_line(report: DailyReport, lang: Language) -> str:
    a = report.alerts
    return text(
        lang, "alerts_line", raised=a.raised, acked=a.acknowledged, unacked=a.never_acknowledged
    )


def ack_line(median: float | None, longest: float | None, lang: Language) -> str:
    if median is None or longest is None:
        return text(lang, "no_ack")
    return text(
        lang,
        "ack_line",
        median=text(lang, "minutes", value=median),
        max=text(lang, "minutes", value=longest),
    )


def excursion_row(e: Excursion, lang: Language) -> list[str]:
    lo, hi = e.band
    band = f"{lo:g}–{hi:g}" if lo is not None and hi is not None else f"≤ {hi:g}"
    return [
        e.name,
        text(lang, e.quantity),
        band,
        f"{e.readings_out} / {e.readings}",
        f"{e.worst:.1f}",
        f"{e.first:%H:%M}–{e.last:%H:%M}",
    ]


# --------------------------------------------------------------------------- HTML

PAGE = Template("""<!doctype html>
<html lang="$lang">
<head>
<meta charset="utf-8">
<title>$title</title>
</head>
<body style="font-family: 'DejaVu Sans', 'Noto Sans', Arial, sans-serif; color: #1b1f24; max-width: 960px; margin: 0 auto; padding: 16px;">
<h1 style="font-size: 22px; margin: 0 0 4px 0;">$heading</h1>
<p style="margin: 0 0 16px 0; color: #57606a;">$subtitle</p>
<h2 style="font-size: 17px;">$summary_h</h2>
<ul>
<li><strong>$peak_h:</strong> $peak</li>
<li><strong>$tickets_h:</strong> $ticket_totals</li>
<li><strong>$alerts_h:</strong> $alerts. $ack</li>
</ul>
$sections
<p style="color: #57606a; font-size: 12px;">$generated</p>
</body>
</html>
""")

CELL = "border: 1px solid #d0d7de; padding: 4px 8px; text-align: left;"


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f'<th style="{CELL} background: #e8eef6;">{html.escape(h)}</th>' for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td style="{CELL}">{html.escape(c)}</td>' for c in row) + "</tr>"
        for row in rows
    )
    return (
        f'<table style="border-collapse: collapse; font-size: 13px;"><tr>{head}</tr>{body}</table>'
    )


def _img(src: str, alt: str) -> str:
    return (
        f'<p><img src="{html.escape(src)}" alt="{html.escape(alt)}" style="max-width: 100%;"></p>'
    )


def render_html(
    report: DailyReport, lang: Language, images: Mapping[str, str], generated_at: datetime
) -> str:
    """The report as one HTML page with inline styles (what e-mail clients keep)."""
    t = report.totals
    e = html.escape
    sections = []
    sections.append(f'<h2 style="font-size: 17px;">{e(text(lang, "people"))}</h2>')
    sections.append(_img(images["people"], text(lang, "people")))
    sections.append(f'<h2 style="font-size: 17px;">{e(text(lang, "tickets"))}</h2>')
    rows = [[r.name, str(r.issued), str(r.served), str(r.no_show)] for r in report.tickets]
    rows.append([text(lang, "total"), str(t.issued), str(t.served), str(t.no_show)])
    sections.append(
        _html_table([text(lang, k) for k in ("service", "issued", "served", "no_show")], rows)
    )
    sections.append(_img(images["tickets"], text(lang, "tickets")))
    sections.append(f'<h2 style="font-size: 17px;">{e(text(lang, "waits"))}</h2>')
    if report.waits:
        sections.append(
            _html_table(
                [
                    text(lang, "service"),
                    text(lang, "samples"),
                    "p50",
                    "p90",
                    "p95",
                    text(lang, "max"),
                ],
                [
                    [
                        w.name,
                        str(w.samples),
                        f"{w.p50_min:.1f}",
                        f"{w.p90_min:.1f}",
                        f"{w.p95_min:.1f}",
                        f"{w.max_min:.0f}",
                    ]
                    for w in report.waits
                ],
            )
        )
        sections.append(_img(images["waits"], text(lang, "waits")))
    else:
        sections.append(f"<p>{e(text(lang, 'no_waits'))}</p>")
    sections.append(f'<h2 style="font-size: 17px;">{e(text(lang, "counters"))}</h2>')
    if report.counters:
        sections.append(_img(images["counters"], text(lang, "counters")))
        short = [
            [g.name, ", ".join(f"{h:02d}h" for h in g.short_hours) or text(lang, "none")]
            for g in report.counters
        ]
        sections.append(_html_table([text(lang, "service"), text(lang, "short")], short))
    else:
        sections.append(f"<p>{e(text(lang, 'no_counters'))}</p>")
    sections.append(f'<h2 style="font-size: 17px;">{e(text(lang, "alerts"))}</h2>')
    a = report.alerts
    if a.by_rule:
        sections.append(
            _html_table(
                [text(lang, "rule"), text(lang, "count")], [[r, str(n)] for r, n in a.by_rule]
            )
        )
        sections.append(
            _html_table(
                [text(lang, "severity"), text(lang, "count")],
                [[s, str(n)] for s, n in a.by_severity],
            )
        )
    sections.append(f'<h2 style="font-size: 17px;">{e(text(lang, "climate"))}</h2>')
    if report.excursions:
        sections.append(
            _html_table(
                [
                    text(lang, k)
                    for k in ("zone", "quantity", "band", "readings_out", "worst", "from_to")
                ],
                [excursion_row(x, lang) for x in report.excursions],
            )
        )
    else:
        sections.append(f"<p>{e(text(lang, 'no_excursions'))}</p>")
    a = report.alerts
    return PAGE.substitute(
        lang=lang,
        title=e(f"{text(lang, 'title')} {report.site_name} {report.day.isoformat()}"),
        heading=e(text(lang, "title")),
        subtitle=e(
            text(lang, "subtitle", site=report.site_name, day=report.day.isoformat())
            + " · "
            + text(lang, "compare", day=report.last_week.isoformat())
        ),
        summary_h=e(text(lang, "summary")),
        peak_h=e(text(lang, "peak")),
        peak=e(peak_line(report, lang)),
        tickets_h=e(text(lang, "tickets")),
        ticket_totals=e(
            f"{text(lang, 'issued')} {t.issued} · {text(lang, 'served')} {t.served}"
            f" · {text(lang, 'no_show')} {t.no_show}"
        ),
        alerts_h=e(text(lang, "alerts")),
        alerts=e(alerts_line(report, lang)),
        ack=e(ack_line(a.ack_median_min, a.ack_max_min, lang)),
        sections="\n".join(sections),
        generated=e(text(lang, "generated", at=f"{generated_at:%Y-%m-%d %H:%M}")),
    )
