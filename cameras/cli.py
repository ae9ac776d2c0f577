"""``floorwatch cameras``: find ONVIF cameras and check the ones a site file names.

- ``floorwatch cameras discover [--timeout 3] [--address HOST] [--port 3702] [--json]``
- ``floorwatch cameras check -c SITE.yaml [--seconds 3] [--camera ID] [--json]``

Passwords are never printed: URIs are shown without their userinfo.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cameras.onvif_models import CameraError, CameraErrorReason, CameraSummary, choose_profile
from gateway.cli_support import JsonOption, echo_json, settings_or_exit
from gateway.logs import configure_logging, scrub_text
from gateway.settings import CameraConfig

if TYPE_CHECKING:
    from cameras.onvif_client import OnvifClient
    from cameras.stream_probe import StreamProbe

# onvif/zeep and OpenCV are imported inside the commands: every other
# floorwatch command starts without them.

cameras_app = typer.Typer(help="Find and check ONVIF cameras.", no_args_is_help=True)


@cameras_app.command("discover")
def discover_command(
    timeout: Annotated[float, typer.Option(help="seconds to wait for answers")] = 3.0,
    address: Annotated[
        str | None,
        typer.Option(help="probe this host by unicast instead of the multicast group"),
    ] = None,
    port: Annotated[int, typer.Option(help="WS-Discovery UDP port")] = 3702,
    as_json: JsonOption = False,
) -> None:
    """Send a WS-Discovery probe and list the ONVIF devices that answer."""
    from cameras.discovery import discover

    configure_logging(json=False, level="warning")
    devices = asyncio.run(discover(timeout_s=timeout, address=address, port=port))
    if as_json:
        echo_json([asdict(d) for d in devices])
        raise typer.Exit(0 if devices else 1)
    if not devices:
        typer.echo("no ONVIF device answered")
        raise typer.Exit(1)
    for d in devices:
        typer.echo(f"{d.name or '(no name)'}  [{d.sender}]")
        typer.echo(f"  endpoint  {d.endpoint}")
        typer.echo(f"  xaddrs    {' '.join(d.xaddrs)}")
        typer.echo(f"  hardware  {d.hardware or '-'}")
        typer.echo(f"  location  {d.location or '-'}")
        typer.echo(f"  profiles  {', '.join(d.profiles) or '-'}")
    typer.echo(f"{len(devices)} device(s)")


@dataclass(frozen=True, slots=True)
class CheckResult:
    camera: CameraConfig
    summary: CameraSummary | None
    stream: StreamProbe | None
    error: CameraError | None
    events: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.stream is not None and self.stream.opened


@cameras_app.command("check")
def check_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="site file (YAML)")],
    seconds: Annotated[float, typer.Option(help="seconds of stream to measure")] = 3.0,
    camera: Annotated[
        list[str] | None, typer.Option("--camera", help="only this camera id (repeatable)")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Connect to every camera of a site file: identity, profiles, stream, fps, clock."""
    configure_logging(json=False, level="warning")
    settings = settings_or_exit(config)
    cams = [c for c in settings.cameras if not camera or c.id in camera]
    if not cams:
        typer.echo("no cameras to check")
        raise typer.Exit(1)
    results = asyncio.run(_check_all(cams, seconds))
    failed = [r.camera.id for r in results if not r.ok]
    if as_json:
        echo_json([result_json(r) for r in results])
        raise typer.Exit(1 if failed else 0)
    for result in results:
        typer.echo(render(result))
    typer.echo(f"{len(results) - len(failed)}/{len(results)} camera(s) ok")
    if failed:
        raise typer.Exit(1)


async def _check_all(cams: list[CameraConfig], seconds: float) -> list[CheckResult]:
    return list(await asyncio.gather(*(check_camera(c, seconds) for c in cams)))


async def check_camera(camera: CameraConfig, seconds: float = 3.0) -> CheckResult:
    """What ``cameras check`` prints for one camera, as a value."""
    from cameras.onvif_client import OnvifClient
    from cameras.stream_probe import probe_stream_async, with_userinfo

    ep = camera.onvif
    try:
        async with OnvifClient(camera.id, ep) as client:
            device = await client.connect()
            profiles = await client.profiles()
            pref = ep.profile
            problems: list[str] = []
            chosen = None
            try:
                chosen = choose_profile(
                    profiles,
                    encoding=pref.encoding,
                    width=pref.width,
                    height=pref.height,
                    min_fps=pref.min_fps,
                    token=pref.token,
                )
            except CameraError as exc:
                if camera.stream_uri is None:
                    raise
                problems.append(exc.message)
            stream_uri = camera.stream_uri or (
                await client.stream_uri(chosen.token) if chosen else None
            )
            snapshot = await client.snapshot_uri(chosen.token) if chosen else None
            events = await _check_events(client) if ep.events.enabled else "disabled"
            summary = CameraSummary(
                camera_id=camera.id,
                device=device,
                clock_offset=client.clock_offset,
                services=client.services(),
                profiles=profiles,
                chosen=chosen,
                stream_uri=stream_uri,
                snapshot_uri=snapshot,
                problems=tuple(problems),
                media_version=client.media_version,
                media_note=client.media_note,
            )
    except CameraError as exc:
        return CheckResult(camera, None, None, exc)
    stream = None
    if stream_uri:
        password = ep.password.get_secret_value() if ep.password else None
        url = with_userinfo(stream_uri, ep.username, password)
        stream = await probe_stream_async(url, seconds, open_timeout_s=ep.timeout_s)
    return CheckResult(camera, summary, stream, None, events)


async def _check_events(client: OnvifClient) -> str:
    """Subscribe and unsubscribe once: does the camera take a PullPoint subscription?"""
    try:
        sub = await client.subscribe(30)
    except CameraError as exc:
        if exc.reason is CameraErrorReason.NO_EVENTS:
            return f"none: {exc.advice}"
        return f"NO PullPoint subscription: {exc.message}"
    await sub.unsubscribe()
    granted = f"{sub.granted.total_seconds():.0f} s" if sub.granted else "unknown"
    absolute = ", absolute times" if client.absolute_times else ""
    return f"PullPoint subscription ok (granted {granted}{absolute})"


def result_json(result: CheckResult) -> dict[str, Any]:
    """What ``render`` prints, as data; URIs without their userinfo, no password."""
    c = result.camera
    doc: dict[str, Any] = {
        "camera": c.id,
        "name": c.name,
        "host": c.onvif.host,
        "port": c.onvif.port,
        "ok": result.ok,
        "error": result.error.message if result.error else None,
        "reachable": not (result.error and result.error.reason.value == "unreachable"),
    }
    s = result.summary
    if s is not None:
        doc |= {
            "device": {
                "manufacturer": s.device.manufacturer,
                "model": s.device.model,
                "firmware": s.device.firmware,
                "serial": s.device.serial,
            },
            "clock_offset_s": s.clock_offset.total_seconds(),
            "media_version": s.media_version,
            "profiles": [p.describe() for p in s.profiles],
            "chosen_profile": s.chosen.token if s.chosen else None,
            "stream_uri": scrub_text(s.stream_uri) if s.stream_uri else None,
            "snapshot_uri": scrub_text(s.snapshot_uri) if s.snapshot_uri else None,
            "stream": result.stream.describe() if result.stream else None,
            "events": result.events,
            "problems": list(s.problems),
        }
    return doc


def render(result: CheckResult) -> str:
    c = result.camera
    lines = [f"camera {c.id} ({c.name}) at {c.onvif.host}:{c.onvif.port}"]

    def row(key: str, value: str) -> None:
        lines.append(f"  {key:<13} {value}")

    if result.error is not None or result.summary is None:
        row(
            "reachable",
            "no" if result.error and result.error.reason.value == "unreachable" else "yes",
        )
        row("error", result.error.message if result.error else "unknown")
        return "\n".join(lines)
    s = result.summary
    row("reachable", "yes")
    row("device", f"{s.device.manufacturer} {s.device.model}")
    row("firmware", f"{s.device.firmware} (serial {s.device.serial or '-'})")
    offset = s.clock_offset.total_seconds()
    adjusted = "signing on the camera's clock" if c.onvif.adjust_clock else "not adjusted"
    warn = "  WARNING: set the camera's NTP" if abs(offset) > c.onvif.max_clock_skew_s else ""
    row("clock offset", f"{offset:+.1f} s ({adjusted}){warn}")
    row("services", ", ".join(sorted({x.name for x in s.services})) or "-")
    row("media", s.media_note or ("Media2 (ver20)" if s.media_version == 2 else "Media (ver10)"))
    for i, p in enumerate(s.profiles):
        mark = "  <- chosen" if s.chosen and p.token == s.chosen.token else ""
        row("profiles" if i == 0 else "", p.describe() + mark)
    if not s.profiles:
        row("profiles", "none with video")
    row("stream uri", scrub_text(s.stream_uri) if s.stream_uri else "-")
    row("stream", result.stream.describe() if result.stream else "not probed")
    row("snapshot uri", scrub_text(s.snapshot_uri) if s.snapshot_uri else "-")
    row("events", result.events or "-")
    for problem in s.problems:
        row("problem", problem)
    return "\n".join(lines)
