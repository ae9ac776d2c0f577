"""``floorwatch init``: a new center's site file, from flags or a few questions.

    floorwatch init site.yaml                      # asks what it is not told
    floorwatch init site.yaml --no-input --id xa-an-binh --name "..." \\
        --width 15 --depth 8 --counters 4 --seats 20 --services "Tư pháp,Đất đai"

Questions are asked (Vietnamese / English) for every answer not given as a
flag, unless ``--no-input``, where a missing required answer is an error. The
file is written only when the answers are consistent and the result loads;
secrets stay references to environment variables. Shell module: the layout
and the YAML come from ``gateway.site_template``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from gateway.config_loader import ConfigError, parse_settings
from gateway.site_template import SiteAnswers, answer_errors, parse_sessions, site_yaml


@dataclass(frozen=True, slots=True)
class _Ask:
    interactive: bool

    def text(self, value: str | None, prompt: str, default: str | None = None) -> str:
        if value is not None:
            return value
        if not self.interactive:
            if default is not None:
                return default
            raise _Missing(prompt)
        answer: str = typer.prompt(prompt, default=default)
        return answer

    def number(self, value: float | None, prompt: str, default: float | None = None) -> float:
        if value is not None:
            return value
        if not self.interactive:
            if default is not None:
                return default
            raise _Missing(prompt)
        answer: float = typer.prompt(prompt, default=default, type=float)
        return answer

    def yes(self, value: bool | None, prompt: str, default: bool) -> bool:
        if value is not None:
            return value
        if not self.interactive:
            return default
        answer: bool = typer.confirm(prompt, default=default)
        return answer


class _Missing(Exception):
    pass


def _list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def init_site(
    output: Annotated[Path, typer.Argument(help="the site file to write (YAML)")],
    site_id: Annotated[str | None, typer.Option("--id", help="site id, e.g. xa-an-binh")] = None,
    name: Annotated[str | None, typer.Option(help="the center's name")] = None,
    floors: Annotated[int | None, typer.Option(help="floors with public areas")] = None,
    width: Annotated[float | None, typer.Option(help="floor width, metres")] = None,
    depth: Annotated[float | None, typer.Option(help="floor depth, metres")] = None,
    counters: Annotated[int | None, typer.Option(help="service counters in all")] = None,
    seats: Annotated[int | None, typer.Option(help="waiting seats in all")] = None,
    services: Annotated[
        str | None, typer.Option(help="service groups, comma-separated names")
    ] = None,
    weekday: Annotated[
        str | None, typer.Option(help='Mon-Fri hours, e.g. "07:30-11:30,13:30-17:00"')
    ] = None,
    saturday: Annotated[
        str | None, typer.Option(help='Saturday hours, e.g. "07:30-11:30", or "closed"')
    ] = None,
    camera: Annotated[
        list[str] | None, typer.Option(help="an ONVIF camera's address (repeat for each)")
    ] = None,
    camera_user: Annotated[
        str | None, typer.Option(help="the cameras' user (the password from $CAM_<n>_PASSWORD)")
    ] = None,
    door_counter: Annotated[
        bool | None, typer.Option("--door-counter/--no-door-counter", help="a main-door counter")
    ] = None,
    climate: Annotated[int | None, typer.Option(help="climate sensors")] = None,
    tickets: Annotated[
        bool | None, typer.Option("--tickets/--no-tickets", help="a queue-ticket system on MQTT")
    ] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone")] = "Asia/Ho_Chi_Minh",
    no_input: Annotated[
        bool, typer.Option("--no-input", help="never ask: a missing answer is an error")
    ] = False,
    force: Annotated[bool, typer.Option(help="overwrite an existing file")] = False,
) -> None:
    """Write a new center's site file (commented) that passes `floorwatch config check`."""
    if output.exists() and not force:
        typer.echo(f"{output} exists; give --force to overwrite it", err=True)
        raise typer.Exit(2)
    ask = _Ask(interactive=not no_input)
    try:
        answers = _answers(
            ask,
            site_id=site_id,
            name=name,
            floors=floors,
            width=width,
            depth=depth,
            counters=counters,
            seats=seats,
            services=services,
            weekday=weekday,
            saturday=saturday,
            cameras=camera,
            camera_user=camera_user,
            door_counter=door_counter,
            climate=climate,
            tickets=tickets,
            timezone=timezone,
        )
    except _Missing as exc:
        typer.echo(f"missing answer (--no-input): {exc}", err=True)
        raise typer.Exit(2) from exc
    problems = answer_errors(answers)
    if problems:
        typer.echo("the answers do not fit together:", err=True)
        for p in problems:
            typer.echo(f"  - {p}", err=True)
        raise typer.Exit(2)
    text = site_yaml(answers)
    try:  # never write a file that does not load (secrets come later, from the environment)
        parse_settings(text, os.environ, source=str(output), need_secrets=False)
    except ConfigError as exc:  # a bug of the template: say so rather than write it
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output}")
    secrets = [f"CAM_{i + 1}_PASSWORD" for i in range(len(answers.cameras))]
    if answers.camera_user is not None and secrets:
        typer.echo(f"next: set {', '.join(secrets)} (the cameras' passwords), then")
    typer.echo(f"check it: floorwatch config check {output}")


def _answers(
    ask: _Ask,
    *,
    site_id: str | None,
    name: str | None,
    floors: int | None,
    width: float | None,
    depth: float | None,
    counters: int | None,
    seats: int | None,
    services: str | None,
    weekday: str | None,
    saturday: str | None,
    cameras: list[str] | None,
    camera_user: str | None,
    door_counter: bool | None,
    climate: int | None,
    tickets: bool | None,
    timezone: str,
) -> SiteAnswers:
    name_ = ask.text(name, "Tên trung tâm / Center name")
    id_ = ask.text(site_id, "Mã trung tâm (a-z, 0-9, -) / Site id")
    floors_ = int(ask.number(floors, "Số tầng có khu tiếp dân / Floors", 1))
    width_ = ask.number(width, "Chiều rộng mỗi tầng, m / Floor width, m")
    depth_ = ask.number(depth, "Chiều sâu mỗi tầng, m / Floor depth, m")
    counters_ = int(ask.number(counters, "Số quầy / Counters"))
    seats_ = int(ask.number(seats, "Số ghế chờ / Waiting seats"))
    services_ = ask.text(services, "Nhóm dịch vụ, cách nhau dấu phẩy / Service groups, comma")
    weekday_ = ask.text(weekday, "Giờ làm việc thứ 2-6 / Mon-Fri hours", "07:30-11:30,13:30-17:00")
    saturday_ = ask.text(saturday, "Giờ làm việc thứ 7 (closed: nghỉ) / Saturday", "07:30-11:30")
    hosts = ask.text(
        ",".join(cameras) if cameras else None,
        "Địa chỉ camera ONVIF, cách nhau dấu phẩy (trống: không có) / Camera addresses",
        "",
    )
    user = camera_user
    if user is None and hosts and ask.interactive:
        user = ask.text(None, "Tài khoản camera (trống: không có) / Camera user", "") or None
    door = ask.yes(door_counter, "Có bộ đếm người ở cửa chính? / A main-door counter?", False)
    climate_ = int(ask.number(climate, "Số cảm biến vi khí hậu / Climate sensors", 0))
    tickets_ = ask.yes(tickets, "Có hệ thống xếp hàng lấy số (MQTT)? / Ticket system?", True)
    return SiteAnswers(
        site_id=id_,
        name=name_,
        width_m=width_,
        depth_m=depth_,
        counters=counters_,
        waiting_seats=seats_,
        services=_list(services_),
        floors=floors_,
        timezone=timezone,
        weekday_sessions=parse_sessions(weekday_),
        saturday_sessions=parse_sessions(saturday_),
        cameras=_list(hosts),
        camera_user=user,
        door_counter=door,
        climate_sensors=climate_,
        tickets=tickets_,
    )
