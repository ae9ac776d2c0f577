"""The one configuration tree of floorwatch.

Loaded from a YAML site file, overridden from the environment
(``FLOORWATCH_MQTT__PORT=1884``), validated once. Every model rejects unknown
keys; secrets are references to an environment variable or a file and become
``SecretStr`` values that never render. Cross-references (a sensor's zone
exists, a camera ROI names a known zone) are checked at the top.

Loading (YAML, env, files) lives in ``gateway.config_loader``; this module only
describes and validates values.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from gateway.notify.config import NotificationSettings, route_reference_errors

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
Ident = Annotated[str, Field(pattern=ID_PATTERN, description="lower-case id: a-z, 0-9, '-', '_'")]
Point2 = tuple[float, float]

_HH_MM = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?$")


def local_time(value: object) -> time:
    """A time of day on the site's clock, written as a quoted "HH:MM".

    YAML 1.1 reads an unquoted ``10:00`` as the base-60 number 600, so a number
    is an error that says how to write it; an offset (``07:00+07:00``) is an
    error too: times of day are in ``site.timezone``.
    """
    if isinstance(value, bool):
        raise ValueError('expected a time of day in quotes, e.g. "07:30"')
    if isinstance(value, int | float):
        hours, minutes = divmod(int(value), 60)
        if value == int(value) and 0 <= value < 24 * 60:
            raise ValueError(
                f'write the time quoted: "{hours:02d}:{minutes:02d}"'
                f" (YAML reads an unquoted {hours}:{minutes:02d} as the number {int(value)})"
            )
        raise ValueError(f'expected a time of day in quotes, e.g. "07:30", not the number {value}')
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise ValueError("a time of day without UTC offset: it is in site.timezone")
        return value
    if isinstance(value, str):
        m = _HH_MM.match(value.strip())
        if m is None:
            raise ValueError(f'expected a time of day "HH:MM" (24-hour clock), not {value!r}')
        return time(int(m[1]), int(m[2]), int(m[3] or 0))
    raise ValueError(f'expected a time of day in quotes, e.g. "07:30", not {type(value).__name__}')


LocalTime = Annotated[time, BeforeValidator(local_time)]


class Model(BaseModel):
    """Base of every config model: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- secrets


class SecretRef(Model):
    """Where a secret comes from: an environment variable or a file (one of the two)."""

    env: str | None = Field(None, description="name of an environment variable")
    file: Path | None = Field(None, description="path of a file holding the secret")

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of 'env' or 'file'")
        return self


# Loaded secrets: the loader resolves every SecretRef before validation, so the
# models only ever see the resolved value.
Secret = SecretStr


# --------------------------------------------------------------------------- site


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


class OpeningSession(Model):
    start: LocalTime = Field(description='opening time, quoted "HH:MM", site time')
    end: LocalTime = Field(description='closing time, quoted "HH:MM", site time')

    @model_validator(mode="after")
    def _ordered(self) -> OpeningSession:
        if self.end <= self.start:
            raise ValueError(f"end {self.end:%H:%M} must be after start {self.start:%H:%M}")
        return self


class OpeningDays(Model):
    days: list[Weekday] = Field(min_length=1, description="mon, tue, wed, thu, fri, sat, sun")
    sessions: list[OpeningSession] = Field(
        min_length=1, description="morning and afternoon sessions; the gap is the lunch break"
    )

    @model_validator(mode="after")
    def _no_overlap(self) -> OpeningDays:
        ordered = sorted(self.sessions, key=lambda s: s.start)
        for a, b in zip(ordered, ordered[1:], strict=False):
            if b.start < a.end:
                raise ValueError(
                    f"sessions {a.start:%H:%M}-{a.end:%H:%M} and {b.start:%H:%M}-{b.end:%H:%M}"
                    " overlap"
                )
        return self


class SiteConfig(Model):
    id: Ident
    name: str = Field(min_length=1, description="the center's name, as the control room shows it")
    timezone: str = Field("Asia/Ho_Chi_Minh", description="IANA time zone of the center")
    opening_hours: list[OpeningDays] = Field(
        default_factory=list,
        description="open days and sessions; door balances reset and waiting tickets clear at"
        " closing",
    )

    @field_validator("timezone")
    @classmethod
    def _known_tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (expected e.g. Asia/Ho_Chi_Minh)"
            ) from exc
        return value


class FloorPlan(Model):
    width_m: float = Field(gt=0, description="extent of the floor plan along x, metres")
    depth_m: float = Field(gt=0, description="extent of the floor plan along y, metres")


class FloorConfig(Model):
    id: Ident
    name: str = Field(description="as the control room shows it")
    level: int = Field(1, description="storey number (1: ground floor)")
    area_m2: float = Field(gt=0, description="the floor's public area")
    plan: FloorPlan = Field(description="the floor plan's extent; zone polygons lie inside it")


class ZoneKind(StrEnum):
    ENTRANCE = "entrance"
    WAITING = "waiting"
    COUNTERS = "counters"
    SERVICE = "service"
    CANTEEN = "canteen"
    CIRCULATION = "circulation"
    OTHER = "other"


class CrowdLevel(StrEnum):
    CALM = "calm"
    BUSY = "busy"
    CROWDED = "crowded"
    CRITICAL = "critical"


class LevelOfService(StrEnum):
    """Fruin's Level of Service for queuing and waiting areas."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"


class OccupancyThresholds(Model):
    busy: float = Field(0.5, gt=0, description="occupancy / capacity at which a zone is busy")
    crowded: float = Field(0.8, gt=0)
    critical: float = Field(1.0, gt=0)

    @model_validator(mode="after")
    def _rising(self) -> OccupancyThresholds:
        if not self.busy < self.crowded < self.critical:
            raise ValueError("thresholds must rise: busy < crowded < critical")
        return self


class LosThresholds(Model):
    busy: LevelOfService = Field(LevelOfService.C, description="LOS from which a zone is busy")
    crowded: LevelOfService = LevelOfService.D
    critical: LevelOfService = LevelOfService.E

    @model_validator(mode="after")
    def _rising(self) -> LosThresholds:
        if not self.busy < self.crowded < self.critical:
            raise ValueError("levels of service must worsen: busy < crowded < critical")
        return self


class CrowdConfig(Model):
    occupancy: OccupancyThresholds = OccupancyThresholds()
    los: LosThresholds | None = Field(
        None, description="Fruin LOS thresholds; omit for seated areas where density is not used"
    )
    dwell_s: float = Field(60, ge=0, description="time a higher level must hold before it shows")
    hysteresis: float = Field(
        0.1, ge=0, lt=1, description="fraction below a threshold to fall back"
    )
    camera_max_age_s: float = Field(
        30, gt=0, description="a camera count older than this is stale and not used"
    )
    camera_min_confidence: float = Field(
        0.6,
        ge=0,
        le=1,
        description="camera counts below this confidence are not used (nor re-anchor doors)",
    )
    disagreement_ratio: float = Field(
        0.3,
        ge=0,
        description="sources disagree when they differ by more than this fraction of the larger",
    )
    disagreement_min_people: int = Field(
        5, ge=0, description="... and by more than this many people (small counts are noisy)"
    )
    people_per_ticket: float = Field(
        1.0, gt=0, description="people in the zone per waiting ticket (companions included)"
    )


class ComfortBand(Model):
    """Comfort band of an air-conditioned lobby in Vietnam (TCVN 5687)."""

    temperature_c: tuple[float, float] = (26.0, 28.0)
    humidity_pct: tuple[float, float] = (60.0, 70.0)
    co2_ppm_max: float = Field(1000, gt=0)

    @field_validator("temperature_c", "humidity_pct")
    @classmethod
    def _band(cls, value: tuple[float, float]) -> tuple[float, float]:
        if value[0] >= value[1]:
            raise ValueError("a band is [low, high] with low < high")
        return value


class ZoneConfig(Model):
    id: Ident
    name: str = Field(description="as the control room shows it")
    floor: Ident = Field(description="the floors[].id the zone is on")
    kind: ZoneKind = Field(
        ZoneKind.OTHER, description="waiting zones hold every service's tickets by default"
    )
    area_m2: float = Field(gt=0, description="usable floor area")
    seats: int = Field(0, ge=0, description="seats for visitors")
    capacity: int = Field(gt=0, description="seats for seated areas, the safety maximum otherwise")
    polygon: list[Point2] = Field(min_length=3, description="outline on the floor plan, metres")
    crowd: CrowdConfig = Field(
        CrowdConfig(), description="crowd-level thresholds and how sources are fused"
    )
    alert_level: CrowdLevel = Field(
        CrowdLevel.CROWDED, description="the crowd level at which a zone raises an alert"
    )
    comfort: ComfortBand = Field(
        ComfortBand(), description="climate band (TCVN 5687 defaults) for climate alerts"
    )
    services: list[Ident] | None = Field(
        None,
        description="service groups whose waiting tickets are in this zone;"
        " default: every service for a zone of kind 'waiting', none otherwise",
    )
    door_balance: bool = Field(
        True,
        description="the doors naming this zone (doors[].into_zone/from_zone) are its only ways"
        " in and out, so their running balance is an occupancy source",
    )
    door_reset_at_closing: bool = Field(
        True, description="set the door-counter balance to 0 when the site closes each day"
    )
    counted: bool = Field(
        True,
        description="false: the zone has no people source on purpose (an ATM corner); config"
        " check then does not warn about it, and the control room shows it as not counted",
    )


class DoorConfig(Model):
    id: Ident
    name: str
    floor: Ident
    into_zone: Ident = Field(description="zone a person is in after an entry")
    from_zone: Ident | None = Field(None, description="zone left on entry; none means outside")


class ServiceConfig(Model):
    id: Ident
    name: str
    counters: list[int] = Field(min_length=1, description="counter numbers serving this group")
    service_time_s: float = Field(600, gt=0, description="mean handling time when no ticket data")


# --------------------------------------------------------------------------- cameras


class OnvifProfilePreference(Model):
    """Which media profile to stream (docs/cameras.md#onvif)."""

    token: str | None = Field(None, description="use exactly this profile token")
    encoding: Literal["H264", "H265", "JPEG", "any"] = Field(
        "H264", description="wanted video encoding; 'any' takes the best other one when none"
    )
    width: int = Field(
        640, ge=16, description="target width: the smallest profile at least this wide wins"
    )
    height: int = Field(480, ge=16, description="target height, used with width")
    min_fps: float = Field(0, ge=0, description="ignore profiles whose frame-rate limit is lower")


class CrossingRule(Model):
    """A line-crossing rule of the camera's own analytics -> one direction through a door."""

    door: Ident = Field(description="the door (doors[].id) this line is drawn across")
    direction: Literal["entry", "exit"] = Field(
        description="what a crossing counted by this rule is: 'entry' (into the door's"
        " into_zone) or 'exit'; cameras count each direction with a rule of its own"
    )


class OnvifEventSettings(Model):
    """The PullPoint event subscription (motion, tamper, video loss, counting)."""

    enabled: bool = Field(True, description="subscribe to the camera's events")
    termination_s: float = Field(
        60, ge=10, le=3600, description="subscription lifetime asked for; renewed at 80 %"
    )
    pull_timeout_s: float = Field(
        5, gt=0, le=60, description="how long one PullMessages waits on the camera"
    )
    message_limit: int = Field(100, ge=1, le=1000, description="messages per PullMessages")
    sync_interval_s: float = Field(
        300,
        ge=1,
        description="ask for a synchronization point this often; silence afterwards means"
        " the subscription died silently, and floorwatch resubscribes",
    )
    retry_min_s: float = Field(1, gt=0, description="first retry delay after a failure")
    retry_max_s: float = Field(60, gt=0, description="cap of the retry backoff")
    counting_rules: dict[str, Ident] = Field(
        default_factory=dict,
        description="on-camera analytics (ONVIF Profile M) rule name -> zone id; counts of"
        " these rules become PeopleCount observations",
    )
    counting_confidence: float = Field(
        0.8, ge=0, le=1, description="confidence given to the camera's own counts"
    )
    crossing_rules: dict[str, CrossingRule] = Field(
        default_factory=dict,
        description="on-camera line-crossing rule name -> door and direction; its"
        " LineDetector/Crossed events, or its CountAggregation/Counter totals, become"
        " DoorTraffic observations",
    )

    @model_validator(mode="after")
    def _one_meaning_per_rule(self) -> OnvifEventSettings:
        both = sorted(set(self.counting_rules) & set(self.crossing_rules))
        if both:
            raise ValueError(
                f"rule(s) {', '.join(both)} in both counting_rules (a zone's count) and"
                " crossing_rules (a door's traffic): a rule means one of the two"
            )
        return self


class OnvifEndpoint(Model):
    host: str = Field(description="camera host name or address")
    port: int = Field(80, ge=1, le=65535, description="HTTP port of the ONVIF device service")
    username: str = "admin"
    password: Secret | None = Field(None, description="by reference: {env: NAME} or {file: PATH}")
    timeout_s: float = Field(10, gt=0, le=120, description="timeout of one ONVIF request")
    adjust_clock: bool = Field(
        True,
        description="sign requests with the camera's clock (GetSystemDateAndTime), so a"
        " drifting camera clock does not break authentication",
    )
    max_clock_skew_s: float = Field(
        5, gt=0, description="a camera clock further off than this is reported"
    )
    profile: OnvifProfilePreference = OnvifProfilePreference()
    events: OnvifEventSettings = OnvifEventSettings()


def _in_image(value: list[Point2]) -> list[Point2]:
    for x, y in value:
        if not (0 <= x <= 1 and 0 <= y <= 1):
            raise ValueError(f"point ({x}, {y}) is outside the image (0..1)")
    return value


class HomographyPair(Model):
    """One point seen in the image and the same point on the floor plan."""

    image: Point2 = Field(description="image coordinates, 0..1 (x right, y down)")
    floor: Point2 = Field(description="floor-plan coordinates, metres")

    @field_validator("image")
    @classmethod
    def _normalised(cls, value: Point2) -> Point2:
        _in_image([value])
        return value


class CameraRoi(Model):
    zone: Ident
    polygon: list[Point2] = Field(
        min_length=3, description="the zone's floor as seen in the image, coordinates 0..1"
    )
    area_m2: float | None = Field(
        None,
        gt=0,
        description="floor area inside the polygon; default: from the camera's homography,"
        " else the zone's area_m2",
    )
    person_area: float | None = Field(
        None,
        gt=0,
        description="density estimator calibration for this ROI: foreground area of one"
        " person in units of (person height)^2; default: counting.person_area",
    )
    overlap: float | None = Field(
        None,
        gt=0,
        le=2,
        description="density estimator calibration for this ROI: share of the ROI in which"
        " people hide one another; default: counting.overlap",
    )

    @field_validator("polygon")
    @classmethod
    def _normalised(cls, value: list[Point2]) -> list[Point2]:
        return _in_image(value)


class CountingConfig(Model):
    """How one camera counts people per ROI (docs/cameras.md, "Counting")."""

    estimator: Literal["density", "hog", "onnx"] = Field(
        "density",
        description="density: background model + perspective-weighted foreground area (fast,"
        " crowds); hog: OpenCV's HOG people detector; onnx: a YOLO-family ONNX model",
    )
    model_path: Path | None = Field(None, description="onnx: the model file (YOLOv5/v8 export)")
    input_size: int = Field(640, ge=32, le=2048, description="onnx: square network input, px")
    score_threshold: float = Field(
        0.35,
        ge=0,
        lt=1,
        description="detectors: minimum score (onnx: class probability; hog: SVM margin)",
    )
    nms_threshold: float = Field(0.45, gt=0, lt=1, description="detectors: NMS IoU threshold")
    person_class: int = Field(0, ge=0, description="onnx: class index of 'person'")
    detector_upscale: float = Field(
        1.0,
        ge=1,
        le=3,
        description="hog: enlarge frames before detection; HOG finds people from ~100 px"
        " tall, so 1.5 finds far people too, at about 2.3x the cost",
    )
    detect_every: int = Field(
        4,
        ge=1,
        description="hog/onnx: run the detector on every n-th analysed frame; the density"
        " estimator carries the count in between",
    )
    person_height: tuple[float, float] = Field(
        (0.08, 0.28),
        description="image height of a standing person, as a fraction of the image height,"
        " with feet on the top row and on the bottom row (linear in between)",
    )
    person_area: float = Field(
        0.22,
        gt=0,
        description="density: foreground area of one person in units of (person height)^2"
        " (calibrate per ROI: docs/cameras.md)",
    )
    overlap: float = Field(
        0.55,
        gt=0,
        le=2,
        description="density: share of an ROI in which people hide one another; lower for"
        " queues, higher for people spread out (calibrate per ROI)",
    )
    diff_threshold: int = Field(
        22, ge=1, le=255, description="density: gray-level difference that is foreground"
    )
    background_tau_s: float = Field(
        20.0, gt=0, description="density: time constant of learning the empty background"
    )
    still_tau_s: float = Field(
        3600.0,
        gt=0,
        description="density: time constant with which a still foreground (a seated person)"
        " fades into the background; long, so that seated people keep counting",
    )
    night_saturation: float = Field(
        6.0,
        ge=0,
        description="mean colour saturation (0..255) below which a frame is infrared night",
    )
    smoothing_tau_s: float = Field(
        2.0, ge=0, description="time constant of the exponential smoothing of counts; 0: none"
    )
    homography: list[HomographyPair] | None = Field(
        None,
        min_length=4,
        max_length=4,
        description="four image<->floor point pairs; gives each ROI's floor area in m2",
    )

    @model_validator(mode="after")
    def _model_needed(self) -> CountingConfig:
        if self.estimator == "onnx" and self.model_path is None:
            raise ValueError("estimator 'onnx' needs 'model_path'")
        top, bottom = self.person_height
        if not (0 < top <= 1 and 0 < bottom <= 1):
            raise ValueError("person_height fractions must be in (0, 1]")
        return self


class CaptureConfig(Model):
    """How frames are pulled from a camera (docs/cameras.md#capture).

    The stream is the camera's ``stream_uri`` (or the ONVIF stream URI): RTSP,
    HTTP MJPEG or a file. The camera's ONVIF credentials are put into the URL
    in memory only.
    """

    transport: Literal["tcp", "udp"] = Field(
        "tcp", description="RTSP transport: TCP (interleaved) survives NAT and packet loss"
    )
    max_sessions: int = Field(
        2,
        ge=1,
        le=32,
        description="stream sessions open at once per camera host (cameras on one host,"
        " e.g. the channels of an NVR, share them); many cameras allow only a few",
    )
    open_timeout_s: float = Field(10, gt=0, le=120, description="give up opening a stream after")
    stall_s: float = Field(
        5, gt=0, le=300, description="no frame for this long: offline, and the stream is reopened"
    )
    reconnect_min_s: float = Field(0.5, gt=0, description="first reconnect delay")
    reconnect_max_s: float = Field(30, gt=0, description="cap of the exponential reconnect backoff")
    snapshot_uri: str | None = Field(
        None, description="override of the ONVIF snapshot URI (an HTTP JPEG endpoint)"
    )
    snapshot_fallback: bool = Field(
        True, description="poll snapshots while the stream cannot be opened"
    )
    snapshot_after_failures: int = Field(
        3, ge=1, description="failed stream attempts in a row before snapshots take over"
    )
    snapshot_interval_s: float = Field(1.0, gt=0, le=3600, description="snapshot poll period")
    stream_retry_s: float = Field(
        60, gt=0, description="while on snapshots, try the stream again this often"
    )
    health_interval_s: float = Field(
        10, gt=0, description="DeviceHealth period (a change of online is sent at once)"
    )

    @model_validator(mode="after")
    def _backoff(self) -> CaptureConfig:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be >= reconnect_min_s")
        return self


class CameraConfig(Model):
    id: Ident
    name: str
    onvif: OnvifEndpoint
    stream_uri: str | None = Field(None, description="override of the ONVIF stream URI")
    analysis_fps: float = Field(2.0, gt=0, le=30)
    rois: list[CameraRoi] = Field(default_factory=list)
    counting: CountingConfig = CountingConfig()
    capture: CaptureConfig = CaptureConfig()


# --------------------------------------------------------------------------- sensors


class SensorKind(StrEnum):
    CLIMATE = "climate"
    PRESENCE = "presence"
    DOOR_COUNTER = "door_counter"
    QUEUE = "queue"


class Unit(StrEnum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"
    KELVIN = "kelvin"
    PERCENT = "percent"
    FRACTION = "fraction"
    PPM = "ppm"
    UGM3 = "ugm3"
    COUNT = "count"


class FieldMap(Model):
    path: str = Field(description="dotted path into the JSON document, e.g. data.temp or values.0")
    unit: Unit | None = Field(None, description="unit of the source value, converted to ours")
    scale: float = Field(1.0, description="multiplied after unit conversion")
    offset: float = 0.0
    values: dict[str, float] = Field(
        default_factory=dict,
        description="a value map: source values (text; true/false for JSON booleans) -> numbers,"
        " before unit conversion, e.g. {presence: 1, none: 0}; other text is an error",
    )


class TimestampMap(Model):
    path: str
    format: Literal["epoch_s", "epoch_ms", "iso8601"] = "iso8601"


class SensorBase(Model):
    id: Ident
    kind: SensorKind
    topic: str = Field(min_length=1, description="MQTT topic (wildcards + and # allowed)")
    zone: Ident | None = None
    door: Ident | None = None
    interval_s: float = Field(
        300, gt=0, description="expected reporting interval; silence past 3x this is stale"
    )
    envelope: Literal["none", "chirpstack_v4", "ttn_v3"] = Field(
        "none",
        description="LoRaWAN network server JSON around the device's decoded payload:"
        " chirpstack_v4 (object) or ttn_v3 (uplink_message.decoded_payload)",
    )
    profile: str | None = Field(
        None,
        description="the device profile (docs/sensors.md#device-profiles) this sensor's"
        " decoder settings come from: a shipped name (aqara-fp1) or a profile file;"
        " without 'decoder', the profile's settings apply and this sensor's keys override them",
    )
    counter: int | None = Field(
        None,
        description="presence sensors: the counter number whose seat this sensor watches (a"
        " counter with nobody behind it is closed); its occupied / vacant feeds the counter's"
        " seat state (seats:), never the zone's occupancy",
    )

    @field_validator("topic")
    @classmethod
    def _valid_filter(cls, value: str) -> str:
        parts = value.split("/")
        for i, part in enumerate(parts):
            if "#" in part and (part != "#" or i != len(parts) - 1):
                raise ValueError("'#' must be a whole last level")
            if "+" in part and part != "+":
                raise ValueError("'+' must be a whole level")
        return value

    @model_validator(mode="after")
    def _target(self) -> SensorBase:
        if self.kind is SensorKind.DOOR_COUNTER:
            if self.door is None:
                raise ValueError("a door_counter sensor needs 'door'")
        elif self.kind in (SensorKind.CLIMATE, SensorKind.PRESENCE) and self.zone is None:
            raise ValueError(f"a {self.kind.value} sensor needs 'zone'")
        return self


class GenericJsonSensor(SensorBase):
    """Any JSON payload; fields are mapped by dotted paths."""

    decoder: Literal["generic_json"]
    fields: dict[str, FieldMap] = Field(
        min_length=1,
        description="our field -> source path: temperature_c, humidity_pct, co2_ppm, pm25_ugm3,"
        " count, entries, exits, battery_pct",
    )
    timestamp: TimestampMap | None = None


OccupiedCount = Annotated[
    int | None,
    Field(
        None,
        ge=0,
        le=100,
        description="binary occupancy/presence: the people count 'occupied' stands for"
        " (1 for a counter-seat sensor); unset: binary occupancy is not stored",
    ),
]


DeviceZones = Annotated[
    dict[str, Ident],
    Field(
        default_factory=dict,
        description="wildcard topics: the device a '+' matched (e.g. lobby_t) -> zone;"
        " each device is stored as its own sensor <id>.<device>",
    ),
]


class Zigbee2MqttSensor(SensorBase):
    decoder: Literal["zigbee2mqtt"]
    devices: DeviceZones
    ignore: list[str] = Field(
        default_factory=list,
        description="Zigbee2MQTT keys not to read from this device, e.g. [temperature] for a"
        " presence sensor whose 'temperature' is its chip's",
    )
    occupied_count: OccupiedCount = None


class TasmotaSensor(SensorBase):
    decoder: Literal["tasmota"]
    devices: DeviceZones
    probe: str | None = Field(
        None,
        description="read only this driver (SHT3X) or probe (DS18B20-2, SHT3X-0x45)",
    )
    probes: dict[str, Ident] = Field(
        default_factory=dict,
        description="one Climate per probe: probe key (DS18B20-1) -> zone",
    )


class HomeAssistantSensor(SensorBase):
    """One value per topic, e.g. homeassistant/sensor/lobby_t/state -> "26.4"."""

    decoder: Literal["homeassistant"]
    quantity: Literal["temperature_c", "humidity_pct", "co2_ppm", "pm25_ugm3", "count", "occupancy"]
    unit: Unit | None = None
    occupied_count: OccupiedCount = None
    devices: DeviceZones


class DoorCounterSensor(SensorBase):
    decoder: Literal["door_counter"]
    mode: Literal["cumulative", "delta"] = Field(
        "cumulative",
        description="cumulative totals since power-up, or delta (period) counts since last report",
    )
    line: int = Field(1, ge=1, le=16, description="multi-line counters: the line to read")
    entries_path: str | None = Field(None, description="dotted path of the in count")
    exits_path: str | None = Field(None, description="dotted path of the out count")
    time_path: str | None = Field(None, description="dotted path of the report time")


class PresenceSensor(SensorBase):
    decoder: Literal["presence"]
    region: int | None = Field(
        None, ge=1, le=16, description="multi-region counters: the region to read (else total)"
    )
    occupied_count: OccupiedCount = None


class QueueTicketFields(Model):
    """Dotted paths of a ticket event's parts in a third-party system's payload."""

    event: str = "event"
    ticket: str = "ticket"
    service: str = "service"
    counter: str | None = Field(
        "counter", description="null: the system sends no counter (called/served without one)"
    )
    time: str | list[str] | None = Field(
        None,
        description="a path, or paths tried in order (the first present);"
        " default: the first of ts, timestamp, time",
    )


class QueueTicketMapping(Model):
    """How a ticket system's event reads: paths of its parts, its event and service codes.

    One model for both ways in: a queue_ticket sensor (MQTT) and a ticket source
    of the HTTP ingest (``ingest.tickets``).
    """

    fields: QueueTicketFields = QueueTicketFields()
    events: dict[str, Literal["issued", "called", "served", "no_show", "ignore"]] = Field(
        default_factory=dict,
        description="the system's event values -> ours, e.g. {CALL: called, FINISH: served};"
        " ignore: an event that is not a ticket's step (changed, updated)",
    )
    services: dict[str, Ident] = Field(
        default_factory=dict,
        description="the system's service codes -> service ids, e.g. {'1': land}",
    )


class QueueTicketSensor(QueueTicketMapping, SensorBase):
    decoder: Literal["queue_ticket"]


class ProfileSensorInput(BaseModel):
    """A sensor written with a device profile: ``profile`` and what differs from it.

    ``topic`` may be left out when the profile has a topic template and the
    sensor names its ``device``; every other key of the profile's decoder
    (ignore, region, line, probes, envelope, ...) overrides the profile's value.
    """

    model_config = ConfigDict(extra="allow")

    id: Ident
    profile: str = Field(description="a shipped profile name or a profile file (.yaml)")
    device: str | None = Field(None, description="fills {device} in the profile's topic")
    topic: str | None = None
    zone: Ident | None = None
    door: Ident | None = None


def _sensor_from_profile(value: object, info: ValidationInfo) -> object:
    """A sensor written with ``profile:`` and no ``decoder:``: the profile's settings under it.

    The profile is read by the resolver the config loader passes in the
    validation context (``profiles``: sensors.profiles.expand.expand_sensor),
    so this module reads no file.
    """
    if not isinstance(value, dict) or value.get("profile") is None or "decoder" in value:
        return value
    context = info.context if isinstance(info.context, dict) else {}
    expand = context.get("profiles")
    if not callable(expand):
        raise ValueError(
            "profile: a sensor written with a profile is read through the config loader"
            " (validation context 'profiles')"
        )
    base_dir = context.get("base_dir")
    expanded: object = expand(value, base_dir if isinstance(base_dir, Path) else None)
    return expanded


SensorConfig = Annotated[
    GenericJsonSensor
    | Zigbee2MqttSensor
    | TasmotaSensor
    | HomeAssistantSensor
    | DoorCounterSensor
    | PresenceSensor
    | QueueTicketSensor,
    Field(discriminator="decoder"),
    BeforeValidator(
        _sensor_from_profile,
        json_schema_input_type=GenericJsonSensor
        | Zigbee2MqttSensor
        | TasmotaSensor
        | HomeAssistantSensor
        | DoorCounterSensor
        | PresenceSensor
        | QueueTicketSensor
        | ProfileSensorInput,
    ),
]


class ValidationLimits(Model):
    """Plausibility limits applied by every decoder."""

    max_clock_skew_s: float = Field(
        300, gt=0, description="a sensor time further in the future is replaced by receipt time"
    )
    max_age_s: float = Field(86400, gt=0, description="a reading older than this is rejected")
    max_payload_bytes: int = Field(
        262144,
        ge=64,
        le=16 * 1024 * 1024,
        description="a larger payload is rejected to the dead letters without being parsed",
    )
    duplicate_window_s: float = Field(
        2.0,
        ge=0,
        le=3600,
        description="a payload identical to the one its sensor had on the same topic less than"
        " this long before is a duplicate, not stored (0: off)",
    )
    temperature_c: tuple[float, float] = Field(
        (0.0, 50.0), description="indoors: outside it is a faulty sensor, not a room"
    )
    humidity_pct: tuple[float, float] = (0.0, 100.0)
    co2_ppm: tuple[float, float] = (250.0, 10000.0)
    pm25_ugm3: tuple[float, float] = (0.0, 1000.0)
    pressure_hpa: tuple[float, float] = Field(
        (500.0, 1100.0), description="air pressure: sea level to well above Da Lat's altitude"
    )
    illuminance_lux: tuple[float, float] = Field(
        (0.0, 200000.0), description="light: darkness to full sun"
    )
    count: tuple[int, int] = (0, 2000)


# --------------------------------------------------------------------------- adapters


class TlsConfig(Model):
    enabled: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = Field(False, description="skip hostname verification (testing only)")


class HomeAssistantDiscovery(Model):
    """Publish the zones as Home Assistant MQTT discovery entities (docs/sensors.md)."""

    enabled: bool = Field(
        False,
        description="publish one device per site and people, crowd level and climate sensors"
        " per zone as retained discovery configs at every connect",
    )
    prefix: str = Field(
        "homeassistant",
        min_length=1,
        pattern=r"^[^#+]+$",
        description="Home Assistant's discovery prefix (its MQTT integration's setting)",
    )


class MqttConfig(Model):
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    protocol: Literal["3.1.1", "5"] = "3.1.1"
    client_id: str = Field("floorwatch", min_length=1, max_length=64)
    username: str | None = None
    password: Secret | None = None
    tls: TlsConfig = TlsConfig()
    keepalive_s: int = Field(30, ge=5, le=3600)
    qos: Literal[0, 1] = 1
    session_expiry_s: int = Field(
        7 * 86400, ge=0, description="MQTT 5 only: how long the broker keeps our session"
    )
    reconnect_min_s: float = Field(0.5, gt=0)
    reconnect_max_s: float = Field(30.0, gt=0)
    base_topic: str = Field("floorwatch", description="outbound topics live under <base>/<site>/")
    homeassistant_discovery: HomeAssistantDiscovery = Field(
        HomeAssistantDiscovery(),
        description="the zones as Home Assistant entities (off by default)",
    )

    @model_validator(mode="after")
    def _backoff(self) -> MqttConfig:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be >= reconnect_min_s")
        return self


class SpoolConfig(Model):
    """The durable on-disk queue of batches InfluxDB has not taken yet (docs/storage.md)."""

    path: Path | None = Field(None, description="default: <state_dir>/spool")
    max_bytes: int = Field(
        512 * 1024 * 1024,
        gt=0,
        description="bound of the spool; when full, MQTT messages stay unacknowledged",
    )
    warn_ratio: float = Field(0.5, gt=0, lt=1, description="warn when the spool is this full")
    max_rejected: int = Field(
        1000, ge=1, description="quarantined batches kept in <spool>/rejected (oldest go first)"
    )


class InfluxConfig(Model):
    """Where and how points are written (docs/storage.md)."""

    url: str = Field("http://127.0.0.1:8086", description="base URL of the InfluxDB HTTP API")
    protocol: Literal["v2", "v1"] = Field(
        "v2", description="v2: /api/v2/write (InfluxDB 2.x, 3.x, 1.8+); v1: /write (1.x)"
    )
    token: Secret | None = Field(
        None, description="v2: API token (InfluxDB 1.8 with v2 writes: 'username:password')"
    )
    org: str = Field("floorwatch", description="v2: organization")
    bucket: str = Field("floorwatch", description="v2: bucket")
    database: str = Field("floorwatch", description="v1: database")
    retention_policy: str | None = Field(
        None, description="v1: retention policy (default: the database's)"
    )
    username: str | None = Field(None, description="v1: basic-auth user")
    password: Secret | None = Field(None, description="v1: basic-auth password")
    create_database: bool = Field(
        True,
        description="v1: issue CREATE DATABASE on start and when a write finds no database"
        " (needs admin rights when auth is on; harmless when it exists)",
    )
    batch_size: int = Field(5000, ge=1, le=100000, description="lines per write request")
    flush_interval_s: float = Field(
        1.0, gt=0, description="the longest a line waits in memory before a write"
    )
    timeout_s: float = Field(10.0, gt=0, description="timeout of one write request")
    retry_min_s: float = Field(
        0.5, gt=0, description="first replay delay while the database is down"
    )
    retry_max_s: float = Field(30.0, gt=0, description="cap of the exponential replay backoff")
    max_pending_lines: int = Field(
        50000,
        ge=1,
        description="lines held in memory before submit() waits (backpressure to MQTT);"
        " at least batch_size is always allowed",
    )
    spool: SpoolConfig = SpoolConfig()


class Role(StrEnum):
    VIEWER = "viewer"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    FACILITY = "facility"
    ADMIN = "admin"


class ApiToken(Model):
    """One bearer token. Stored hashed at startup; the clear value never leaves the config."""

    name: str = Field(min_length=1, description="who holds the token; shown in audit records")
    role: Role = Field(description="viewer, supervisor, manager, facility or admin")
    token: Secret = Field(description="the token itself: give {env: NAME} or {file: PATH}")

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("an API token needs at least 16 characters")
        return value


class ApiConfig(Model):
    """The HTTP API and the control-room page (docs/api.md)."""

    enabled: bool = Field(True, description="serve the API and the control-room page")
    host: str = Field("127.0.0.1", description="address uvicorn listens on")
    port: int = Field(8080, ge=0, le=65535, description="port (0: any free port)")
    tokens: list[ApiToken] = Field(default_factory=list, description="who may use the API")
    cors_origins: list[str] = Field(
        default_factory=list, description="origins allowed cross-origin; empty: CORS closed"
    )
    session_ttl_s: float = Field(
        12 * 3600, gt=0, description="lifetime of a control-room login session"
    )
    max_sessions: int = Field(1000, ge=1, description="live sessions kept; the oldest go first")
    cookie_name: str = Field("floorwatch_session", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    cookie_secure: bool = Field(
        False, description="mark the session cookie Secure (set when served over HTTPS)"
    )
    auth_max_failures: int = Field(
        10, ge=1, description="failed logins per client address within auth_window_s"
    )
    auth_window_s: float = Field(60, gt=0, description="window over which failures count")
    auth_lockout_s: float = Field(
        300, gt=0, description="how long an address that failed too often is refused (429)"
    )
    max_stream_clients: int = Field(500, ge=1, description="open live-stream connections")
    stream_keepalive_s: float = Field(
        15, gt=0, description="idle live streams get a comment line this often"
    )
    shutdown_timeout_s: float = Field(
        5, gt=0, description="graceful shutdown: how long open requests may take to finish"
    )
    max_body_bytes: int = Field(
        64 * 1024,
        ge=1024,
        le=16 * 1024 * 1024,
        description="largest request body taken, on every route, checked before it is read (413)",
    )
    trusted_proxies: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description="reverse proxies (addresses or networks, e.g. 127.0.0.1, 10.0.0.0/24) whose"
        " X-Forwarded-For and X-Forwarded-Proto are believed; empty: none",
    )
    ready_max_point_age_s: float = Field(
        300,
        gt=0,
        description="/health/ready fails when no point has reached InfluxDB for this long",
    )


class _Named(Model):
    id: Ident = Field(description="the source's id: the URL's last part, and the events' source")


class TicketSource(QueueTicketMapping, _Named):
    """A ticket system that posts its events to ``POST /api/v1/ingest/tickets/{id}``.

    Its events are read with the same mapping as a queue_ticket sensor (fields,
    events, services). Its credential: a bearer ``token`` that is good for this
    source's ingest and nothing else, and/or an HMAC-SHA256 ``secret`` the
    system signs each body with; when both are given, both are required.
    """

    token: Secret | None = Field(
        None, description="bearer token of this source only: give {env: NAME} or {file: PATH}"
    )
    secret: Secret | None = Field(
        None, description="HMAC-SHA256 key of the body's signature: {env: NAME} or {file: PATH}"
    )
    signature_header: str = Field(
        "X-Signature-256",
        pattern=r"^[A-Za-z0-9-]{1,64}$",
        description="the header carrying the signature: hex or base64, 'sha256=' prefix optional",
    )
    event_id: str | None = Field(
        None,
        description="dotted path of the system's own event id: a retried event is counted once"
        " by it; unset: by a hash of the event's content",
    )

    @field_validator("token", "secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("needs at least 16 characters")
        return value

    @model_validator(mode="after")
    def _has_credential(self) -> TicketSource:
        # "given" (not "not None"): a reference left unresolved by a command that
        # needs no secrets is None here; the ingest then refuses every request.
        if not {"token", "secret"} & self.model_fields_set:
            raise ValueError("give a 'token', a 'secret' (HMAC signature), or both")
        return self


class IngestConfig(Model):
    """HTTP ingest for systems that can only call a webhook (docs/api.md, Ingest)."""

    tickets: list[TicketSource] = Field(
        default_factory=list, description="ticket systems posting their events"
    )
    max_events: int = Field(100, ge=1, le=1000, description="events in one request (an array)")
    answer_within_s: float = Field(
        10,
        gt=0,
        le=120,
        description="how long a request waits for its events to be durable before 503",
    )
    retry_after_s: int = Field(30, ge=1, le=3600, description="Retry-After of a 503")
    dedup_window_s: float = Field(
        86400,
        ge=0,
        le=7 * 86400,
        description="an event posted again within this long is counted once (0: off)",
    )
    dedup_max_events: int = Field(
        100_000, ge=1, le=10_000_000, description="events remembered for that, per source"
    )


class MaintenanceWindow(Model):
    """A time when a device is expected to be down: its device alerts are not raised."""

    device: Ident = Field(description="camera or sensor id")
    start: datetime = Field(description="ISO 8601 with offset, e.g. 2026-12-01T12:00+07:00")
    end: datetime
    note: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceWindow:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end need a UTC offset, e.g. 2026-12-01T12:00+07:00")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class AlertRules(Model):
    """The alert engine's rules and lifecycle (docs/alerts.md)."""

    sensor_stale_factor: float = Field(
        3.0, gt=1, description="a sensor is stale after interval_s x this with no data"
    )
    battery_low_pct: float = Field(15, ge=0, le=100)
    climate_dwell_s: float = Field(
        600, ge=0, description="temperature/humidity/CO2 out of band this long raises"
    )
    waiting_target_s: float = Field(900, gt=0, description="expected wait over this raises")
    waiting_dwell_s: float = Field(120, ge=0, description="expected wait over target this long")
    crowd_dwell_s: float = Field(
        0, ge=0, description="extra hold after the level's own dwell (the level already has one)"
    )
    capacity_ratio: float = Field(
        1.0, gt=0, description="occupancy / capacity above this is 'capacity exceeded'"
    )
    capacity_dwell_s: float = Field(30, ge=0)
    device_dwell_s: float = Field(
        30, ge=0, description="a camera offline/stalled/tampered this long raises"
    )
    clear_s: float = Field(
        60, ge=0, description="a condition must be gone this long before its alert resolves"
    )
    renotify_s: float = Field(600, gt=0, description="re-notify an unacknowledged alert")
    escalate_s: float | None = Field(
        1800,
        gt=0,
        description="raise the severity of an alert unacknowledged this long (null: never)",
    )
    counter_idle_s: float = Field(
        1800, gt=0, description="a counter with no call/serve for this long counts as closed"
    )
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)


class FleetConfig(Model):
    """The site uplink to the province's NATS JetStream (docs/fleet.md). Off by default."""

    enabled: bool = Field(False, description="publish to the fleet; off: nothing connects")
    url: str = Field(
        "nats://127.0.0.1:4222",
        pattern=r"^(nats|tls)://[^@/\s]+$",
        description="the NATS server (the site's leaf node); no credentials in it",
    )
    province: Ident | None = Field(None, description="the province's id: required when enabled")
    subject_prefix: Ident = Field(
        "floorwatch", description="subjects are <prefix>.<province>.<site>.<kind>"
    )
    stream: str = Field(
        "FLOORWATCH",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="the JetStream stream that stores the site's subjects",
    )
    create_stream: bool = Field(
        True, description="create the stream if missing (off where credentials may only publish)"
    )
    duplicate_window_s: float = Field(
        600, gt=0, le=86400, description="new stream: how long JetStream remembers message ids"
    )
    max_age_days: float = Field(30, gt=0, description="new stream: how long it keeps messages")
    user: str | None = Field(None, description="user name, with password")
    password: Secret | None = Field(None, description="by reference: {env: NAME} or {file: PATH}")
    token: Secret | None = Field(None, description="by reference: {env: NAME} or {file: PATH}")
    queue_size: int = Field(
        10000, ge=1, description="messages held while NATS is slow or away; the oldest go first"
    )
    publish_timeout_s: float = Field(5, gt=0, le=60, description="wait for JetStream's ack")
    retry_min_s: float = Field(0.5, gt=0, description="first wait after a failed publish")
    retry_max_s: float = Field(30, gt=0, description="cap of the retry backoff")
    heartbeat_s: float = Field(
        60,
        ge=0,
        le=3600,
        description="a heartbeat (clock, uptime, queue, devices online) every so many seconds,"
        " so the province page sees the link while no zone changes; 0: none",
    )
    # TLS as the central file's nats: (gateway/fleet/nats_tls.py); paths from the working directory
    tls_ca_file: Path | None = Field(
        None,
        description="TLS: the CA file of the server's certificate (none: the system's CAs"
        " for a tls:// URL, no TLS for nats://)",
    )
    tls_cert_file: Path | None = Field(
        None, description="TLS: this gateway's client certificate, where the server verifies one"
    )
    tls_key_file: Path | None = Field(None, description="TLS: that certificate's key")
    cert_warn_days: float = Field(
        30, gt=0, description="fleet status warns when a certificate has fewer days left"
    )
    link_cert_file: Path | None = Field(
        None,
        description="the client certificate this center's leaf presents on the link (fleet"
        " config site --client-cert): its end is reported to the province with the heartbeat"
        " (as tls_cert_file's); none: not reported",
    )

    @model_validator(mode="after")
    def _consistent(self) -> FleetConfig:
        if self.enabled and self.province is None:
            raise ValueError("fleet.enabled needs fleet.province")
        if (self.user is None) != (self.password is None):
            raise ValueError("give both user and password, or neither")
        if self.token is not None and self.user is not None:
            raise ValueError("give a token or a user and password, not both")
        if self.retry_max_s < self.retry_min_s:
            raise ValueError("retry_max_s must be >= retry_min_s")
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("give both tls_cert_file and tls_key_file, or neither")
        for name in ("tls_ca_file", "tls_cert_file", "tls_key_file", "link_cert_file"):
            path: Path | None = getattr(self, name)
            try:
                if path is not None:
                    path.open("rb").close()
            except OSError as exc:
                raise ValueError(f"{name}: cannot read {path} ({exc.strerror})") from None
        return self


class GatewayConfig(Model):
    state_dir: Path = Field(Path("state"), description="spool, alert store, dead letters")
    queue_size: int = Field(20000, ge=100, description="bound of the inbound message queue")
    dead_letter_size: int = Field(1000, ge=10)
    health_interval_s: float = Field(10, gt=0)


# --------------------------------------------------------------------------- planning


class VentilationRates(Model):
    """Outdoor-air rates: TCVN 5687 per person, ASHRAE 62.1 per person plus per area."""

    tcvn_m3h_per_person: float = Field(
        25.0, gt=0, description="TCVN 5687 fresh air for reception and waiting rooms, m3/h/person"
    )
    ashrae_ls_per_person: float = Field(
        2.5, ge=0, description="ASHRAE 62.1 people outdoor-air rate Rp (lobbies), L/s/person"
    )
    ashrae_ls_per_m2: float = Field(
        0.3, ge=0, description="ASHRAE 62.1 area outdoor-air rate Ra (lobbies), L/s/m2"
    )


class PlanningConfig(Model):
    """Staffing plan and HVAC advice (docs/planning.md)."""

    service_level_fraction: float = Field(
        0.8, gt=0, lt=1, description="share of visitors to be called within the target wait"
    )
    target_wait_s: float = Field(900, gt=0, description="the target wait, issue -> call, seconds")
    wrap_up_ratio: float = Field(
        0.0,
        ge=0,
        description="counter time after each visitor (back office), as a share of service time",
    )
    history_weeks: int = Field(
        6, ge=1, le=52, description="weeks of history behind a forecast (same weekday and hour)"
    )
    robust_method: Literal["median", "trimmed_mean"] = Field(
        "median", description="how the reference days are combined, robust to outliers"
    )
    trim_fraction: float = Field(
        0.2, ge=0, lt=0.5, description="trimmed_mean: share cut from each end"
    )
    closed_days: list[date] = Field(
        default_factory=list,
        description="extra closures to skip (bridge days, local events) besides public holidays",
    )
    entries_per_ticket: float = Field(
        1.6,
        gt=0,
        description="people through the entrance doors per ticket, when only door counts exist",
    )
    min_service_samples: int = Field(
        20, ge=1, description="called->served pairs needed before ticket data replaces config"
    )
    ventilation_standard: Literal["tcvn5687", "ashrae62_1"] = Field(
        "tcvn5687", description="which outdoor-air rule the advice uses"
    )
    ventilation: VentilationRates = VentilationRates()
    outdoor_co2_ppm: float = Field(420, gt=0, description="CO2 of the outdoor air")
    precool_lead_min: float = Field(
        45, ge=0, description="start cooling the hall this long before the forecast rise"
    )
    precool_occupancy_ratio: float = Field(
        0.3, gt=0, le=1, description="occupancy / capacity that counts as the rise to pre-cool for"
    )
    setback_c: float = Field(
        2.0, ge=0, description="raise the set point by this much when a zone is empty and closed"
    )
    hvac_interval_s: float = Field(
        300, gt=0, description="how often HVAC advice is worked out and published on MQTT"
    )
    publish_at: LocalTime = Field(
        time(18, 0),
        description=(
            'local time of day (quoted, "HH:MM") the next open day\'s staffing plan is'
            " written to InfluxDB (measurement staffing_plan); also once at start"
        ),
    )


class SeatTimings(Model):
    """Counter seats: how a seat sensor's occupied / vacant becomes open / closed (docs/planning.md)."""

    open_after_s: float = Field(
        10, ge=0, description="a seat occupied this long (without a vacant reading) is open"
    )
    vacant_after_s: float = Field(
        300,
        ge=0,
        description="a seat vacant this long is a closed counter (a PIR that saw no motion for"
        " 30 s is somebody sitting still, not a closed counter)",
    )
    point_s: float = Field(
        60, gt=0, description="a seat's state is stored (counter_seat) at least this often"
    )


# --------------------------------------------------------------------------- root


class Settings(Model):
    site: SiteConfig
    floors: list[FloorConfig] = Field(min_length=1)
    zones: list[ZoneConfig] = Field(min_length=1)
    doors: list[DoorConfig] = Field(default_factory=list)
    services: list[ServiceConfig] = Field(default_factory=list)
    cameras: list[CameraConfig] = Field(default_factory=list)
    sensors: list[SensorConfig] = Field(default_factory=list)
    validation: ValidationLimits = ValidationLimits()
    mqtt: MqttConfig = MqttConfig()
    influxdb: InfluxConfig = InfluxConfig()
    api: ApiConfig = ApiConfig()
    ingest: IngestConfig = Field(
        IngestConfig(), description="webhooks of systems that cannot publish to MQTT"
    )
    alerts: AlertRules = AlertRules()
    gateway: GatewayConfig = GatewayConfig()
    planning: PlanningConfig = PlanningConfig()
    seats: SeatTimings = Field(
        SeatTimings(),
        description="counter-seat presence: open / closed debounce (docs/planning.md)",
    )
    notifications: NotificationSettings = Field(
        NotificationSettings(), description="channels, routes, escalation (docs/alerts.md)"
    )
    fleet: FleetConfig = Field(
        FleetConfig(), description="uplink to the province's NATS JetStream (docs/fleet.md)"
    )

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> Settings:
        # The loader defers this check to report each problem with its YAML line.
        if info.context and info.context.get("defer_references"):
            return self
        problems = reference_errors(self)
        if problems:
            raise ValueError("; ".join(f"{dotted(loc)}: {msg}" for loc, msg in problems))
        return self

    def zone(self, zone_id: str) -> ZoneConfig:
        for z in self.zones:
            if z.id == zone_id:
                return z
        raise KeyError(zone_id)


Loc = tuple[str | int, ...]


def reference_errors(settings: Settings) -> list[tuple[Loc, str]]:
    """Duplicate ids and references to unknown floors, zones, doors, services and devices."""
    errors: list[tuple[Loc, str]] = []
    floors = _unique(errors, "floors", [f.id for f in settings.floors])
    zones = _unique(errors, "zones", [z.id for z in settings.zones])
    doors = _unique(errors, "doors", [d.id for d in settings.doors])
    services = _unique(errors, "services", [s.id for s in settings.services])
    cameras = _unique(errors, "cameras", [c.id for c in settings.cameras])
    sensors = _unique(errors, "sensors", [s.id for s in settings.sensors])
    for i, z in enumerate(settings.zones):
        _ref(errors, ("zones", i, "floor"), z.floor, floors, "floor")
        for k, service in enumerate(z.services or []):
            _ref(errors, ("zones", i, "services", k), service, services, "service")
    for i, d in enumerate(settings.doors):
        _ref(errors, ("doors", i, "floor"), d.floor, floors, "floor")
        _ref(errors, ("doors", i, "into_zone"), d.into_zone, zones, "zone")
        if d.from_zone is not None:
            _ref(errors, ("doors", i, "from_zone"), d.from_zone, zones, "zone")
    _camera_refs(errors, settings.cameras, zones, doors)
    for i, s in enumerate(settings.sensors):
        if s.zone is not None:
            _ref(errors, ("sensors", i, "zone"), s.zone, zones, "zone")
        if s.door is not None:
            _ref(errors, ("sensors", i, "door"), s.door, doors, "door")
        for key, zone in _sensor_zone_maps(s):
            _ref(errors, ("sensors", i, *key), zone, zones, "zone")
    _maintenance_refs(errors, settings.alerts.maintenance, cameras, sensors)
    _ingest_refs(errors, settings, sensors)
    errors.extend(route_reference_errors(settings.notifications, zones, floors, services))
    return errors


def _camera_refs(
    errors: list[tuple[Loc, str]], cameras: list[CameraConfig], zones: set[str], doors: set[str]
) -> None:
    for i, c in enumerate(cameras):
        for j, roi in enumerate(c.rois):
            _ref(errors, ("cameras", i, "rois", j, "zone"), roi.zone, zones, "zone")
        for rule, zone in c.onvif.events.counting_rules.items():
            loc: Loc = ("cameras", i, "onvif", "events", "counting_rules", rule)
            _ref(errors, loc, zone, zones, "zone")
        for rule, crossing in c.onvif.events.crossing_rules.items():
            loc = ("cameras", i, "onvif", "events", "crossing_rules", rule, "door")
            _ref(errors, loc, crossing.door, doors, "door")


def _sensor_zone_maps(sensor: SensorBase) -> list[tuple[Loc, str]]:
    """The zones a sensor names per device (devices:) or per probe (probes:)."""
    found: list[tuple[Loc, str]] = []
    for name in ("devices", "probes"):
        mapping = getattr(sensor, name, None)
        if isinstance(mapping, dict):
            found.extend(((name, str(key)), str(zone)) for key, zone in mapping.items())
    return found


def _maintenance_refs(
    errors: list[tuple[Loc, str]],
    windows: list[MaintenanceWindow],
    cameras: set[str],
    sensors: set[str],
) -> None:
    devices = cameras | sensors | {"gateway"}
    for i, w in enumerate(windows):
        _ref(errors, ("alerts", "maintenance", i, "device"), w.device, devices, "device")


def _ingest_refs(errors: list[tuple[Loc, str]], settings: Settings, sensors: set[str]) -> None:
    """Ticket sources: ids unique and apart from the sensors', tokens apart from the API's."""
    ids: set[str] = set()
    tokens = {t.token.get_secret_value() for t in settings.api.tokens}
    for i, t in enumerate(settings.ingest.tickets):
        if t.id in ids or t.id in sensors:
            what = "another ticket source's" if t.id in ids else "a sensor's"
            errors.append(((*_INGEST, i, "id"), f"{t.id!r} is {what} id too: choose another"))
        ids.add(t.id)
        token = t.token.get_secret_value() if t.token is not None else None
        if token is not None and token in tokens:
            errors.append(
                ((*_INGEST, i, "token"), "the same value as another token: give each its own")
            )
        if token is not None:
            tokens.add(token)


_INGEST: Loc = ("ingest", "tickets")


def _unique(errors: list[tuple[Loc, str]], where: str, ids: list[str]) -> set[str]:
    seen: set[str] = set()
    for i, ident in enumerate(ids):
        if ident in seen:
            errors.append(((where, i, "id"), f"duplicate id {ident!r}"))
        seen.add(ident)
    return seen


def _ref(errors: list[tuple[Loc, str]], loc: Loc, value: str, known: set[str], what: str) -> None:
    if value not in known:
        choices = ", ".join(sorted(known)) or "none defined"
        errors.append((loc, f"unknown {what} {value!r} (known: {choices})"))


def dotted(loc: Loc) -> str:
    """('sensors', 3, 'topic') -> 'sensors[3].topic'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"
