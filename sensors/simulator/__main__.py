"""``python -m sensors.simulator``: publish a simulated day of a site over MQTT.

    python -m sensors.simulator -c config/demo-site.yaml --host 127.0.0.1 --port 1883 \\
        --seed 7 --speed 120 [--start 2026-11-23T07:00] [--duration-min 600] [--counter-reboot]

Ctrl-C (or SIGTERM) stops it after the broker has acknowledged what was sent.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo

from gateway.config_loader import ConfigError, load_settings
from gateway.logs import configure_logging
from sensors.simulator.publisher import SimulatorError, run_simulator

DAY_START = time(7, 0)


def default_start(now: datetime, tz: ZoneInfo) -> datetime:
    """07:00 local of the latest weekday (mon-fri) whose 07:00 has passed.

    A past start keeps device times behind the gateway's clock (it replaces
    readings from the future by their receipt time).
    """
    local = now.astimezone(tz)
    day: date = local.date() if local.time() >= DAY_START else local.date() - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return datetime.combine(day, DAY_START, tzinfo=tz)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m sensors.simulator",
        description="Publish a simulated day of a site over MQTT.",
    )
    p.add_argument("-c", "--config", type=Path, default=Path("config/demo-site.yaml"))
    p.add_argument("--host", help="MQTT broker (default: the site file's mqtt.host)")
    p.add_argument("--port", type=int, help="MQTT port (default: the site file's mqtt.port)")
    p.add_argument("--seed", type=int, default=7, help="same seed, same day")
    p.add_argument("--speed", type=float, default=120.0, help="simulated seconds per real second")
    p.add_argument(
        "--start",
        type=datetime.fromisoformat,
        help="simulated start, site-local unless an offset is given (default: latest weekday 07:00)",
    )
    p.add_argument(
        "--duration-min", type=float, help="simulated minutes to run (default: until stopped)"
    )
    p.add_argument(
        "--counter-reboot",
        action="store_true",
        help="reboot the first cumulative door counter at 10:00 each day (totals restart at 0)",
    )
    p.add_argument(
        "--live",
        action="store_true",
        help="stamp readings with the wall-clock time they are sent at (an accelerated day looks live)",
    )
    p.add_argument("--qos", type=int, choices=(0, 1), default=1)
    p.add_argument("--log-level", default="info")
    p.add_argument("--log-json", action="store_true", help="JSON log lines (default: on a pipe)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(json=True if args.log_json else None, level=args.log_level)
    try:
        settings = load_settings(args.config, os.environ).settings
    except ConfigError as exc:
        for issue in exc.issues:
            print(f"{exc.source}: {issue}", file=sys.stderr)
        return 2
    tz = ZoneInfo(settings.site.timezone)
    start: datetime = args.start or default_start(datetime.now(tz), tz)
    if start.tzinfo is None:
        start = start.replace(tzinfo=tz)
    until = start + timedelta(minutes=args.duration_min) if args.duration_min is not None else None
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stats = run_simulator(
            settings,
            host=args.host or settings.mqtt.host,
            port=args.port or settings.mqtt.port,
            seed=args.seed,
            start=start,
            speed=args.speed,
            stop=stop,
            qos=args.qos,
            until=until,
            counter_reboot=args.counter_reboot,
            live=args.live,
        )
    except SimulatorError as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 1
    return 0 if stats.dropped == 0 and stats.unacknowledged == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
