"""The manager's daily report on demand: ``GET /api/v1/reports/daily?date=`` (HTML or PDF).

Role manager (permission ``planning``) or admin. The figures are read from InfluxDB
(``gateway.report.reader``) and drawn with matplotlib: synchronous and CPU-bound, so
the endpoint is a plain ``def`` that FastAPI runs in its thread pool. docs/report.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from api.auth import Permission, Principal
from api.deps import AUTH_RESPONSES, ApiError, State, require
from api.schemas import ErrorBody
from api.timebounds import BoundedDate
from gateway.report.cli import report_files
from gateway.report.model import build_report
from gateway.report.reader import ClosedDay, ReportReader

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
Manager = Annotated[Principal, Depends(require(Permission.PLANNING))]
_RESPONSES: dict[int | str, dict[str, Any]] = {
    **AUTH_RESPONSES,
    200: {
        "content": {"text/html": {}, "application/pdf": {}},
        "description": "the report: one self-contained HTML page, or the PDF",
    },
    404: {"model": ErrorBody, "description": "the center was closed that day (closed_day)"},
    503: {"model": ErrorBody, "description": "InfluxDB is away, or no report font installed"},
}


@router.get(
    "/daily",
    summary="The manager's report of one open day (HTML with its charts inline, or PDF)",
    responses=_RESPONSES,
    response_class=Response,
)
def daily(
    state: State,
    _: Manager,
    day: Annotated[BoundedDate, Query(alias="date", description="the open day, site time")],
    lang: Annotated[
        Literal["vi", "en"], Query(description="Vietnamese (default) or English")
    ] = "vi",
    fmt: Annotated[Literal["html", "pdf"], Query(alias="format")] = "html",
) -> Response:
    from gateway.report.render import FontMissing, render, report_font  # matplotlib: slow import

    try:
        font = report_font()
    except FontMissing as exc:
        raise ApiError(503, "report_font_missing", str(exc)) from exc
    reader = ReportReader(state.site)
    try:
        figures = reader.figures(day)
    except ClosedDay as exc:
        raise ApiError(404, "closed_day", str(exc)) from exc
    report = build_report(figures)
    done = render(
        report,
        lang,
        generated_at=state.clock().astimezone(reader.tz),
        font=font,
        inline_images=True,
    )
    html_name, pdf_name = report_files(report.day.isoformat(), lang)
    if fmt == "pdf":
        return Response(
            done.pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{pdf_name}"'},
        )
    return Response(
        done.html,
        media_type="text/html; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="{html_name}"'},
    )
