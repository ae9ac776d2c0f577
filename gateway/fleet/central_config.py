"""The central service's own file (``floorwatch fleet run|serve -c central.yaml``).

A small YAML separate from any site file: where the province's NATS is, the
stream and durable consumer to read, the key-value bucket, and the central
store (the same ``influxdb:`` model and writer as a site's); for the province
page (``fleet serve``) the web service (the same ``api:`` model as a site's),
when a center counts as offline, and the registry of centers (``sites:``). Secrets only by
reference, ``{env: NAME}`` or ``{file: PATH}``, resolved by the site file's
loader rules (gateway.config_loader).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from gateway.config_loader import ConfigError, ConfigIssue, _resolve_secrets, _Sink
from gateway.fleet.partitions import MAX_PARTITIONS
from gateway.settings import ApiConfig, Ident, InfluxConfig, Model, Secret


class CentralNatsConfig(Model):
    """The province's NATS JetStream and what the workers read from it."""

    url: str = Field(
        "nats://127.0.0.1:4222",
        pattern=r"^(nats|tls)://[^@/\s]+$",
        description="the province's NATS server; no credentials in it",
    )
    user: str | None = Field(None, description="user name, with password")
    password: Secret | None = Field(None, description="by reference: {env: NAME} or {file: PATH}")
    token: Secret | None = Field(None, description="by reference: {env: NAME} or {file: PATH}")
    tls_ca_file: Path | None = Field(
        None,
        description="TLS: the CA file of the cluster's certificates (none: the system's CAs"
        " for a tls:// URL, no TLS for nats://)",
    )
    tls_cert_file: Path | None = Field(
        None, description="TLS: this client's certificate, where the cluster verifies one"
    )
    tls_key_file: Path | None = Field(None, description="TLS: that certificate's key")
    cert_warn_days: float = Field(
        30,
        gt=0,
        description="fleet status warns, and the province page shows a center's certificate,"
        " when it has fewer days left",
    )
    cert_ports: list[str] = Field(
        default_factory=list,
        description="host:port of further TLS ports whose certificate fleet status checks"
        " (the cluster's leafnode ports)",
    )
    subject_prefix: Ident = Field("floorwatch", description="subjects <prefix>.<province>.<site>.*")
    stream: str = Field(
        "FLOORWATCH", pattern=r"^[A-Za-z0-9_-]{1,64}$", description="the stream the workers read"
    )
    consumer: str = Field(
        "fleet-central",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="the durable pull consumer every worker process shares (they split the load)",
    )
    kv_bucket: str = Field(
        "fleet_sites",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="key-value bucket of each site's latest state (key <province>.<site>)",
    )
    kv_replicas: int = Field(1, ge=1, le=5, description="a new bucket's replicas (3 on a cluster)")
    kv_interval_s: float = Field(
        1.0,
        ge=0,
        le=60,
        description="a site's document written at most once in this many seconds by one process"
        " (the folds meanwhile written together; 0: once per batch); the wait ends when the"
        " batch's points are durable, so it delays no acknowledgement",
    )
    partitions: int = Field(
        1,
        ge=1,
        le=MAX_PARTITIONS,
        description="central streams the sites are spread over (<stream>, <stream>_1, ...), each"
        " read by one process at a time; 1: one stream that every process shares",
    )
    lease_s: float = Field(
        15,
        ge=3,
        le=600,
        description="with partitions: a process's hold on a partition lasts this long unless"
        " renewed (a process that dies frees its partitions within it)",
    )
    partition_bucket: str = Field(
        "fleet_partitions",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="key-value bucket of the partitions' leases",
    )
    batch: int = Field(100, ge=1, le=10000, description="messages per fetch")
    in_flight: int = Field(
        4,
        ge=1,
        le=64,
        description="batches one process handles at once (the next fetched and folded while"
        " the writer makes the previous ones durable)",
    )
    fetch_wait_s: float = Field(1.0, gt=0, le=60, description="how long a fetch waits for messages")
    ack_wait_s: float = Field(
        60,
        gt=0,
        description="a new consumer's ack wait: an unacknowledged message comes back after",
    )
    max_deliver: int = Field(-1, description="a new consumer's delivery limit (-1: no limit)")

    @model_validator(mode="after")
    def _consistent(self) -> CentralNatsConfig:
        if (self.user is None) != (self.password is None):
            raise ValueError("give both user and password, or neither")
        if self.token is not None and self.user is not None:
            raise ValueError("give a token or a user and password, not both")
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("give both tls_cert_file and tls_key_file, or neither")
        for port in self.cert_ports:
            host, _, number = port.rpartition(":")
            if not host or not number.isdigit() or not 0 < int(number) < 65536:
                raise ValueError(f"cert_ports: {port!r} is not host:port")
        return self


class WaitThresholds(Model):
    """An area's or a center's own thresholds on its longest expected wait (none: the
    province's, ``overview.wait_watch_min`` and ``wait_act_min``)."""

    wait_watch_min: float | None = Field(
        None, gt=0, description="longest wait over this many minutes: watch"
    )
    wait_act_min: float | None = Field(
        None, gt=0, description="longest wait over this many minutes: act"
    )


class CentralSite(WaitThresholds):
    """One center in the province's registry: how the province page names and groups it."""

    province: Ident = Field(description="the province id the site's uplink uses")
    id: Ident = Field(description="the site id (its site file's site.id)")
    name: str = Field(min_length=1, description="the center's name, as the province page shows it")
    area: str = Field(
        "", description="district, ward group or area the page filters by (free text)"
    )
    control_room: str | None = Field(
        None,
        pattern=r"^https?://[^\s@]+$",
        description="the center's own control-room URL (the page links to it); no credentials",
    )

    @property
    def key(self) -> str:
        return f"{self.province}.{self.id}"


class OverviewConfig(Model):
    """How the province page judges the centers."""

    offline_after_s: float = Field(
        600, gt=0, description="a center whose latest record is older than this is offline"
    )
    timezone: str = Field(
        "Asia/Ho_Chi_Minh", description="IANA time zone of the month and hours the page compares"
    )
    store: Literal["influxql", "victoriametrics"] = Field(
        "influxql",
        description="how the page reads a month from the central store (influxdb:): InfluxQL"
        " (InfluxDB 1.x; 2.x/3.x through their v1 API) or VictoriaMetrics' export API",
    )
    wait_watch_min: float | None = Field(
        30,
        gt=0,
        description="a live center whose longest expected wait is over this many minutes is"
        " watched, even without an alert of its own (null: not judged)",
    )
    wait_act_min: float | None = Field(
        60,
        gt=0,
        description="over this many minutes it is acted on, as a crowded center (null: not judged)",
    )
    area_waits: dict[str, WaitThresholds] = Field(
        default_factory=dict,
        description="an area's own wait thresholds (the registry's area, case-insensitive);"
        " a center's own (sites[].wait_watch_min, wait_act_min) come before them",
    )

    @field_validator("timezone")
    @classmethod
    def _known_tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class ProvinceApiConfig(ApiConfig):
    """The province page's web service: a site file's ``api:`` with its own defaults, so it can
    run on a control room's host (cookies are per host, not per port) without the two logins
    overwriting each other's cookie."""

    port: int = Field(8090, ge=0, le=65535, description="port (0: any free port)")
    cookie_name: str = Field("floorwatch_province_session", pattern=r"^[A-Za-z0-9_-]{1,64}$")


class WorkerMetricsConfig(Model):
    """``fleet run``'s own counters as Prometheus text on ``GET /metrics`` (off by default)."""

    host: str = Field("127.0.0.1", description="address the endpoint listens on (loopback)")
    port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="port (0: any free port; none: off); each process needs its own"
        " (--metrics-port)",
    )


class SourceWatchConfig(Model):
    """fleet run's watch over the central stream's sources (gateway/fleet/source_watch.py):
    a source silent while its site answers is restarted. One process watches at a time."""

    enabled: bool = Field(True, description="watch the sources (off: only the engine's retries)")
    check_s: float = Field(15, gt=0, le=3600, description="how often the sources are read")
    stall_after_s: float = Field(
        30,
        ge=5,
        description="a source silent this long is probed (a healthy one hears every second)",
    )
    probe_timeout_s: float = Field(
        2, gt=0, le=60, description="how long a site's server has to answer the probe"
    )
    lease_bucket: str = Field(
        "fleet_leases",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="key-value bucket of the lease that picks the one watching process",
    )


class DeadLettersConfig(Model):
    """Where fleet run keeps the messages it cannot decode (gateway/fleet/dead_letters.py):
    a JetStream stream of their own, read with ``floorwatch fleet dead-letters``."""

    enabled: bool = Field(
        True, description="keep undecodable messages (off: only logged and terminated)"
    )
    stream: str = Field(
        "FLEET_DEAD",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="the dead-letter stream (subjects <prefix>_dead.<province>.<site>)",
    )
    replicas: int | None = Field(
        None, ge=1, le=5, description="a new stream's replicas (none: nats.kv_replicas)"
    )
    max_age_days: float = Field(30, gt=0, description="a dead letter is kept this many days")
    max_bytes: int = Field(
        256 * 1024 * 1024, ge=1024, description="the stream's size limit (oldest dropped first)"
    )


class CentralConfig(Model):
    """``floorwatch fleet run`` and ``fleet serve``'s file."""

    nats: CentralNatsConfig = CentralNatsConfig()
    influxdb: InfluxConfig = InfluxConfig()
    state_dir: Path = Field(Path("state-central"), description="the writer's spool lives here")
    api: ProvinceApiConfig = Field(
        ProvinceApiConfig(), description="the province page's web service (fleet serve)"
    )
    overview: OverviewConfig = OverviewConfig()
    source_watch: SourceWatchConfig = Field(
        SourceWatchConfig(), description="restart a source the engine left stalled (fleet run)"
    )
    metrics: WorkerMetricsConfig = Field(
        WorkerMetricsConfig(), description="fleet run's counters for Prometheus (fleet serve: no)"
    )
    dead_letters: DeadLettersConfig = Field(
        DeadLettersConfig(), description="keep undecodable messages for an operator (fleet run)"
    )
    sites: list[CentralSite] = Field(
        default_factory=list,
        description="the registry of centers (optional: a site that reports and is not listed"
        " is shown under its ids)",
    )

    @model_validator(mode="after")
    def _unique_sites(self) -> CentralConfig:
        keys = [s.key for s in self.sites]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise ValueError(f"sites listed twice: {', '.join(twice)}")
        return self

    def wait_thresholds(self, site: CentralSite | None) -> tuple[float | None, float | None]:
        """(watch, act) minutes for a center: its own, else its area's, else the province's."""
        o = self.overview
        watch, act = o.wait_watch_min, o.wait_act_min
        areas = {a.strip().casefold(): t for a, t in o.area_waits.items()}
        for t in (areas.get(site.area.strip().casefold()), site) if site is not None else ():
            if t is not None:
                watch = t.wait_watch_min if t.wait_watch_min is not None else watch
                act = t.wait_act_min if t.wait_act_min is not None else act
        return watch, act

    @model_validator(mode="after")
    def _waits(self) -> CentralConfig:
        known = {s.area.strip().casefold() for s in self.sites}
        unknown = [a for a in self.overview.area_waits if a.strip().casefold() not in known]
        if unknown:
            raise ValueError(f"overview.area_waits: no site in area {', '.join(unknown)}")
        for who, site in [("overview", None), *((s.key, s) for s in self.sites)]:
            watch, act = self.wait_thresholds(site)
            if watch is not None and act is not None and watch > act:
                raise ValueError(f"{who}: wait_watch_min {watch:g} is over wait_act_min {act:g}")
        return self


def parse_central(
    text: str, environ: Mapping[str, str], *, source: str = "<text>", base_dir: Path | None = None
) -> CentralConfig:
    """Validate a central file's text; ConfigError lists every problem."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(source, [ConfigIssue("(file)", f"not valid YAML: {exc}")]) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, [ConfigIssue("(file)", "expected a mapping at the top level")])
    issues: list[ConfigIssue] = []
    warnings: list[ConfigIssue] = []
    _resolve_secrets(data, (), environ, base_dir, _Sink(issues, warnings, None), {})
    if issues:
        raise ConfigError(source, issues)
    try:
        return CentralConfig.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            where = ".".join(str(p) for p in err["loc"])
            issues.append(ConfigIssue(where, err["msg"]))
        raise ConfigError(source, issues) from exc


def load_central(path: Path, environ: Mapping[str, str] | None = None) -> CentralConfig:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, [ConfigIssue("(file)", f"cannot read: {exc}")]) from exc
    env = os.environ if environ is None else environ
    return parse_central(text, env, source=source, base_dir=path.parent)
