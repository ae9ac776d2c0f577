"""The virtual ONVIF infrared camera: Device, Media and Events SOAP endpoints.

An aiohttp server on 127.0.0.1 answering what ``cameras.onvif_client`` asks
through onvif-zeep-async, with WS-UsernameToken digest checking (a wrong
password gets the SOAP fault ``ter:NotAuthorized``, as real cameras answer),
a configurable clock offset (requests signed with our clock fail beyond
``auth_window_s``), PullPoint subscriptions with termination times, and
events a test or the demo injects: motion, tamper, video loss, Profile M
counts (a region's count, ``publish_count``), line crossings
(``cross_line``: one ``LineDetector/Crossed`` per person) and line-crossing
counters (``count_crossings``: the rule's running total as
``CountAggregation/Counter``, sent ``Initialized`` to every new subscription
as cameras send properties; ``reset_counter`` as at the reset interval).

It is as strict as camera firmware where firmware is strict: digest-only
WS-UsernameToken (a PasswordText token is refused), Media2 ``GetProfiles``
returns configurations only for the ``Type`` asked (bare profiles without
one), profile tokens must be echoed exactly, and stream URIs carry no
credentials. Quirks of real cameras can be switched on: ``media1=False``
(Media2 only), ``media2=False`` (Media ver10 only), ``media2_bare`` (Media2
lists bare profiles whatever ``Type`` asks: nothing usable there), ``events="refused"`` (the
event service is listed but CreatePullPointSubscription answers
UnableToCreatePullPointFault) or ``"absent"`` (not listed at all),
``max_subscriptions`` (many allow one), ``broken_relative_times`` (grants
2 s whatever relative duration is asked, as some firmwares do), ``reboot()``
(all subscriptions gone), ``go_silent()`` (subscriptions still answer but
deliver nothing), ``analytics_rules`` (every profile carries an analytics
configuration with that many rules and a metadata configuration: Hanwha's
large GetProfiles answers), ``reference_parameters`` (Axis: one shared
subscription address, the subscription named by a ``SubscriptionId``
reference parameter that must come back as a header; see
``cameras.simulator.onvif_quirks``) and ``zulu_only`` (Hikvision: a token whose
``Created`` time has a numeric offset such as ``+00:00`` instead of ``Z`` is
refused).

Its stream and snapshot URIs are constructor arguments: the MJPEG/RTSP
servers live elsewhere (``cameras.simulator.mjpeg`` and the RTSP server).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from aiohttp import web

from cameras.simulator import onvif_quirks as quirks
from cameras.simulator import onvif_soap as soap
from cameras.simulator.discovery_responder import DiscoveryResponder
from cameras.simulator.onvif_soap import EventMessage, Request, VirtualProfile

DEFAULT_PROFILES = (
    VirtualProfile("main", "mainStream", "H264", 1920, 1080, 25, 4096),
    VirtualProfile("sub", "subStream", "H264", 640, 480, 15, 512),
    VirtualProfile("mjpeg", "mjpegStream", "JPEG", 640, 480, 10, 2048),
)
SOURCE = (("VideoSourceConfigurationToken", "vsc1"),)
PRE_AUTH = {"GetSystemDateAndTime"}  # ONVIF Core: answered without credentials
MAX_PULL_WAIT_S = 10.0


@dataclass(frozen=True, slots=True)
class Identity:
    manufacturer: str = "Floorwatch"
    model: str = "FW-IR4 virtual infrared camera"
    firmware: str = "4.3.0-sim"
    serial: str = "FW0001"
    hardware: str = "FW-IR4"
    name: str = "Virtual IR camera"
    location: str = "lobby"


@dataclass(slots=True)
class _Subscription:
    ident: int
    until: datetime
    queue: list[EventMessage] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    silent: bool = False


class OnvifCameraServer:
    """One virtual camera. ``await start()``, ``await stop()``; inject events any time."""

    def __init__(
        self,
        *,
        username: str,
        password: str,
        stream_uri: str | Mapping[str, str],
        snapshot_uri: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        profiles: tuple[VirtualProfile, ...] = DEFAULT_PROFILES,
        clock_offset_s: float = 0.0,
        auth_window_s: float = 10.0,
        max_subscriptions: int | None = None,
        broken_relative_times: bool = False,
        media2: bool = True,
        media1: bool = True,
        media2_bare: bool = False,
        events: Literal["pullpoint", "refused", "absent"] = "pullpoint",
        http_401: bool = False,
        analytics_rules: int = 0,
        reference_parameters: bool = False,
        zulu_only: bool = False,
        identity: Identity = Identity(),
        discovery_port: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.username = username
        self._password = password
        self.stream_uri = stream_uri
        self.snapshot_uri = snapshot_uri
        self.host = host
        self._port = port
        self.profiles = profiles
        self.clock_offset_s = clock_offset_s
        self.auth_window_s = auth_window_s
        self.max_subscriptions = max_subscriptions
        self.broken_relative_times = broken_relative_times
        self.media2 = media2
        self.media1 = media1
        self.media2_bare = media2_bare
        self.events = events
        self.http_401 = http_401
        self.analytics_rules = analytics_rules
        self.reference_parameters = reference_parameters
        self.zulu_only = zulu_only
        self.identity = identity
        self._discovery_port = discovery_port
        self._clock = clock
        self._subs: dict[int, _Subscription] = {}
        self._ids = itertools.count(1)
        self._state: dict[str, bool] = {"motion": False, "tamper": False, "video_loss": False}
        self._counters: dict[str, int] = {}  # line-crossing counting rule -> running total
        self._object_ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._responder: DiscoveryResponder | None = None
        self.requests: list[str] = []  # operations served, for tests
        self.answers: list[tuple[str, int]] = []  # (operation, bytes answered), for tests
        self.auth_failures = 0

    # ------------------------------------------------------------------ lifecycle

    @property
    def port(self) -> int:
        return self._port

    @property
    def device_url(self) -> str:
        return f"http://{self.host}:{self._port}/onvif/device_service"

    @property
    def discovery_port(self) -> int | None:
        return self._responder.port if self._responder else None

    async def start(self) -> None:
        app = web.Application(client_max_size=soap.MAX_REQUEST)
        app.router.add_post("/onvif/{service}", self._handle)
        app.router.add_post("/onvif/subscription/{ident}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._port)
        await site.start()
        server = site._server
        if self._port == 0 and server is not None:
            self._port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        if self._discovery_port is not None:
            self._responder = DiscoveryResponder(
                host=self.host,
                port=self._discovery_port,
                endpoint=f"urn:uuid:00000000-0000-4000-8000-{self.identity.serial.encode().hex()[:12]:0>12}",
                xaddrs=(self.device_url,),
                scopes=self.scopes(),
            )
            await self._responder.start()

    async def stop(self) -> None:
        if self._responder:
            self._responder.stop()
        for sub in self._subs.values():
            sub.wake.set()
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    def scopes(self) -> tuple[str, ...]:
        from urllib.parse import quote

        base = "onvif://www.onvif.org/"
        return (
            f"{base}type/video_encoder",
            f"{base}Profile/Streaming",
            f"{base}hardware/{quote(self.identity.hardware)}",
            f"{base}name/{quote(self.identity.name)}",
            f"{base}location/{quote(self.identity.location)}",
        )

    # ------------------------------------------------------------------ injection

    def camera_now(self) -> datetime:
        return datetime.fromtimestamp(self._clock() + self.clock_offset_s, UTC)

    def set_motion(self, active: bool) -> None:
        self._set_state("motion", active)

    def set_tamper(self, active: bool) -> None:
        self._set_state("tamper", active)

    def set_video_loss(self, active: bool) -> None:
        self._set_state("video_loss", active)

    def publish_count(self, rule: str, count: int) -> None:
        """A Profile M counting result of an on-camera analytics rule."""
        self._broadcast(
            EventMessage(
                topic="tns1:RuleEngine/CountAggregation/Counter",
                utc_time=self.camera_now(),
                operation="Changed",
                source=(*SOURCE, ("VideoAnalyticsConfigurationToken", "vac1"), ("Rule", rule)),
                data=(("Count", str(count)),),
            )
        )

    def publish_counts(self, counts: Mapping[str, int]) -> None:
        """One count per rule, e.g. a scene's ground truth keyed by zone id (rule = zone)."""
        for rule, count in counts.items():
            self.publish_count(rule, count)

    def cross_line(self, rule: str, people: int = 1) -> None:
        """``people`` cross the line of a LineDetector rule: one pulse each, its own ObjectId."""
        for _ in range(people):
            self._broadcast(
                EventMessage(
                    topic="tns1:RuleEngine/LineDetector/Crossed",
                    utc_time=self.camera_now(),
                    operation="Changed",
                    source=(*SOURCE, ("VideoAnalyticsConfigurationToken", "vac1"), ("Rule", rule)),
                    data=(("ObjectId", str(next(self._object_ids))),),
                )
            )

    def count_crossings(self, rule: str, people: int) -> int:
        """A line-crossing counting rule counted ``people`` more; publishes its total."""
        self._counters[rule] = self._counters.get(rule, 0) + people
        self._broadcast(self._counter_message(rule, "Changed"))
        return self._counters[rule]

    def reset_counter(self, rule: str) -> None:
        """The rule's reset interval ended: its total starts again from zero."""
        self._counters[rule] = 0
        self._broadcast(self._counter_message(rule, "Changed"))

    def _counter_message(self, rule: str, operation: str) -> EventMessage:
        return EventMessage(
            topic="tns1:RuleEngine/CountAggregation/Counter",
            utc_time=self.camera_now(),
            operation=operation,
            source=(*SOURCE, ("VideoAnalyticsConfigurationToken", "vac1"), ("Rule", rule)),
            data=(("Count", str(self._counters[rule])),),
        )

    def _initial_messages(self) -> list[EventMessage]:
        """What a new subscription or a synchronization point gets: every property's state."""
        return [self._state_message(name, "Initialized") for name in self._state] + [
            self._counter_message(rule, "Initialized") for rule in self._counters
        ]

    def reboot(self) -> None:
        """Forget every subscription, as a camera does when it restarts."""
        for sub in self._subs.values():
            sub.wake.set()
        self._subs.clear()

    def go_silent(self) -> None:
        """Existing subscriptions keep answering but never deliver again."""
        for sub in self._subs.values():
            sub.silent = True

    @property
    def subscriptions(self) -> int:
        self._expire()
        return len(self._subs)

    def _set_state(self, name: str, active: bool) -> None:
        self._state[name] = active
        self._broadcast(self._state_message(name, "Changed"))

    def _state_message(self, name: str, operation: str) -> EventMessage:
        value = "true" if self._state[name] else "false"
        topic, source, item = {
            "motion": ("tns1:VideoSource/MotionAlarm", (("Source", "vs1"),), "State"),
            "tamper": (
                "tns1:RuleEngine/TamperDetector/Tamper",
                (*SOURCE, ("Rule", "MyTamperDetectorRule")),
                "IsTamper",
            ),
            "video_loss": ("tns1:VideoSource/SignalLoss", (("Source", "vs1"),), "State"),
        }[name]
        return EventMessage(topic, self.camera_now(), operation, source, ((item, value),))

    def _broadcast(self, message: EventMessage) -> None:
        self._expire()
        for sub in self._subs.values():
            if not sub.silent:
                sub.queue.append(message)
                sub.wake.set()

    def _expire(self) -> None:
        now = self.camera_now()
        for ident in [i for i, s in self._subs.items() if s.until <= now]:
            self._subs.pop(ident).wake.set()

    # ------------------------------------------------------------------ SOAP

    async def _handle(self, request: web.Request) -> web.Response:
        req = soap.parse_envelope(await request.read())
        if req is None:
            return _reply(soap.fault("Sender", "ter:WellFormed", "not a SOAP envelope"), 400)
        self.requests.append(req.operation)
        if req.operation not in PRE_AUTH and not self._authorised(req):
            self.auth_failures += 1
            if self.http_401:  # some firmwares refuse at the HTTP level, without a SOAP fault
                return web.Response(status=401, headers={"WWW-Authenticate": 'Digest realm="cam"'})
            return _reply(soap.fault("Sender", "ter:NotAuthorized", "Sender not Authorized"), 400)
        ident = request.match_info.get("ident")
        try:
            body = await self._dispatch(req, int(ident) if ident else None)
        except _Fault as f:
            return _reply(soap.fault(f.code, f.subcode, f.reason, f.detail), f.status)
        payload = soap.envelope(body)
        self.answers.append((req.operation, len(payload)))
        return _reply(payload, 200)

    def _authorised(self, req: Request) -> bool:
        if not soap.digest_ok(req, self.username, self._password):
            return False
        created = soap.parse_time(req.created)
        if created is None or (self.zulu_only and not (req.created or "").endswith("Z")):
            return False
        return abs((created - self.camera_now()).total_seconds()) <= self.auth_window_s

    async def _dispatch(self, req: Request, ident: int | None) -> str:
        op = req.operation
        if req.namespace == soap.NS["tr2"]:
            return self._media2_answer(req)
        if req.namespace == soap.NS["trt"] and not self.media1:
            raise _Fault("Receiver", "ter:ActionNotSupported", "no Media service", 400)
        simple = self._simple_answers()
        if op in simple:
            return simple[op]()
        if op in ("GetStreamUri", "GetSnapshotUri"):
            return self._media_uri(req)
        if op == "CreatePullPointSubscription":
            if self.events != "pullpoint":
                raise _Fault(
                    "Receiver",
                    None,
                    "Unable to create pull point",
                    400,
                    soap.unable_to_create_pull_point(self.camera_now()),
                )
            return self._subscribe(req)
        if op in ("PullMessages", "Renew", "Unsubscribe", "SetSynchronizationPoint"):
            if self.reference_parameters:
                ident = _echoed_subscription(req)
            return await self._on_subscription(req, ident)
        raise _Fault("Receiver", "ter:ActionNotSupported", f"{op} is not supported", 400)

    def _simple_answers(self) -> dict[str, Callable[[], str]]:
        base = f"http://{self.host}:{self._port}/onvif"
        xaddrs = {soap.NS["tds"]: f"{base}/device_service"}
        if self.media1:
            xaddrs[soap.NS["trt"]] = f"{base}/media_service"
        if self.events != "absent":
            xaddrs[soap.NS["tev"]] = f"{base}/events_service"
        if self.media2:
            xaddrs[soap.NS["tr2"]] = f"{base}/media2_service"
        i = self.identity
        return {
            "GetSystemDateAndTime": lambda: soap.date_and_time(self.camera_now()),
            "GetDeviceInformation": lambda: soap.device_information(
                i.manufacturer, i.model, i.firmware, i.serial, i.hardware
            ),
            "GetServices": lambda: soap.services(xaddrs),
            "GetCapabilities": lambda: soap.capabilities(
                xaddrs[soap.NS["tds"]], xaddrs.get(soap.NS["trt"]), xaddrs.get(soap.NS["tev"])
            ),
            # Media (ver10) cannot describe H.265: such profiles show in Media2 only.
            "GetProfiles": lambda: soap.profiles(
                tuple(p for p in self.profiles if p.encoding != "H265"),
                quirks.media1_extra(self.analytics_rules),
            ),
        }

    def _media2_answer(self, req: Request) -> str:
        if not self.media2:
            raise _Fault("Receiver", "ter:ActionNotSupported", "no Media2 service", 400)
        if req.operation == "GetProfiles":
            types = () if self.media2_bare else req.texts("Type")
            extra = quirks.media2_extra(self.analytics_rules, types)
            return soap.profiles2(self.profiles, types, extra)
        if req.operation in ("GetStreamUri", "GetSnapshotUri"):
            return soap.media2_uri(req.operation, self._uri_for(req))
        raise _Fault("Receiver", "ter:ActionNotSupported", f"{req.operation} is not supported", 400)

    def _media_uri(self, req: Request) -> str:
        return soap.media_uri(req.operation, self._uri_for(req))

    def _uri_for(self, req: Request) -> str:
        token = req.text("ProfileToken") or ""
        if token not in {p.token for p in self.profiles}:
            raise _Fault("Sender", "ter:NoProfile", f"no profile {token!r}", 400)
        if req.operation == "GetSnapshotUri":
            if self.snapshot_uri is None:
                raise _Fault("Receiver", "ter:ActionNotSupported", "no snapshot", 400)
            return self.snapshot_uri
        return self.stream_uri if isinstance(self.stream_uri, str) else self.stream_uri[token]

    def _subscribe(self, req: Request) -> str:
        self._expire()
        if self.max_subscriptions is not None and len(self._subs) >= self.max_subscriptions:
            raise _Fault("Receiver", "ter:TooManySubscriptions", "subscription limit reached", 400)
        now = self.camera_now()
        until = self._termination(req.text("InitialTerminationTime"), now)
        sub = _Subscription(next(self._ids), until)
        # A new subscription first gets the current state of every property.
        sub.queue.extend(self._initial_messages())
        self._subs[sub.ident] = sub
        if self.reference_parameters:  # Axis: one address, the subscription named in a header
            address = f"http://{self.host}:{self._port}/onvif/services"
            params = quirks.reference_parameters_xml(sub.ident)
            return soap.subscription_created(address, now, until, params)
        address = f"http://{self.host}:{self._port}/onvif/subscription/{sub.ident}"
        return soap.subscription_created(address, now, until)

    def _termination(self, text: str | None, now: datetime) -> datetime:
        until = soap.parse_termination(text, now, timedelta(seconds=60))
        if self.broken_relative_times and (text or "").startswith("P"):
            until = min(until, now + timedelta(seconds=2))
        return until

    async def _on_subscription(self, req: Request, ident: int | None) -> str:
        self._expire()
        sub = self._subs.get(ident) if ident is not None else None
        if sub is None:
            raise _Fault("Sender", "wsrf-rw:ResourceUnknownFault", "unknown subscription", 400)
        now = self.camera_now()
        if req.operation == "Renew":
            sub.until = self._termination(req.text("TerminationTime"), now)
            return soap.renewed(now, sub.until)
        if req.operation == "Unsubscribe":
            self._subs.pop(sub.ident, None)
            sub.wake.set()
            return "<wsnt:UnsubscribeResponse/>"
        if req.operation == "SetSynchronizationPoint":
            if not sub.silent:
                sub.queue.extend(self._initial_messages())
                sub.wake.set()
            return "<tev:SetSynchronizationPointResponse/>"
        return await self._pull(req, sub)

    async def _pull(self, req: Request, sub: _Subscription) -> str:
        limit = int(req.text("MessageLimit") or "100")
        wait = min(soap.parse_duration_s(req.text("Timeout"), 5.0), MAX_PULL_WAIT_S)
        if not sub.queue:
            sub.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sub.wake.wait(), timeout=wait)
        if self._subs.get(sub.ident) is not sub:
            raise _Fault("Sender", "wsrf-rw:ResourceUnknownFault", "unknown subscription", 400)
        batch, sub.queue[:] = sub.queue[:limit], sub.queue[limit:]
        return soap.pulled(self.camera_now(), sub.until, batch)


def _echoed_subscription(req: Request) -> int:
    """The SubscriptionId reference parameter the request echoes; Axis' fault without it."""
    text = req.header(quirks.SUBSCRIPTION_ID)
    if text is None or not text.isdigit():
        raise _Fault("Sender", "ter:InvalidArgs", "SubscriptionId reference parameter missing", 400)
    return int(text)


class _Fault(Exception):
    def __init__(
        self, code: str, subcode: str | None, reason: str, status: int, detail: str = ""
    ) -> None:
        super().__init__(reason)
        self.code, self.subcode, self.reason, self.status = code, subcode, reason, status
        self.detail = detail


def _reply(payload: bytes, status: int) -> web.Response:
    return web.Response(
        body=payload, status=status, content_type="application/soap+xml", charset="utf-8"
    )
