"""Camera events as observations: the long-running PullPoint loop of one camera.

``OnvifEventSource(camera, emit).run()`` connects, subscribes, pulls, renews
before expiry, and starts over (new connection, new clock handshake, new
subscription) whenever the camera reboots, the subscription dies, or the
camera stops answering; retries back off (capped, with jitter). The
quirks it copes with:

- a reboot or an expired subscription: Renew or PullMessages fails -> resubscribe;
- a subscription that dies silently (still answers, never delivers): every
  ``sync_interval_s`` we ask for a synchronization point, after which the
  camera must re-send its property states; silence means dead -> resubscribe;
- cameras that allow one subscription: ours is unsubscribed whenever the
  loop leaves it, and a refusal is retried with backoff (the camera frees a
  stale one when its short termination time passes);
- cameras without events (no event service listed, or
  UnableToCreatePullPointFault): said once, in words (``camera.no_events``
  and the health detail ``no_events``), and asked again every
  ``no_events_retry_s`` (an hour), not every minute.

A failure is logged as a warning when its reason changes; the same reason
again is logged at debug level, so an outage is not a log line a minute.

Observations (``cameras.onvif_events``): counting results of mapped Profile M
rules -> PeopleCount; line crossings (``LineDetector/Crossed``, or the totals
of a line-crossing ``CountAggregation/Counter``) of a rule in crossing_rules ->
DoorTraffic of its door; motion, tamper, video loss -> DeviceHealth of the
camera; the state of the ONVIF link itself -> DeviceHealth of
``<camera>/onvif`` (online, or offline with the CameraError reason).

The camera's event states are detail-only: their ``detail`` is one of the
stable tokens of ``onvif_events.DETAIL``, and the engine
(``gateway.floor_model``) keeps tamper and video loss as sticky per-camera
states instead of taking them as reports on the stream's health, which only
the capture worker gives (DeviceHealth of the camera id). So a
``video_restored`` never reports a camera online whose stream is down, and a
``video_lost`` raises ``camera_offline`` and makes the camera's counts
unusable until the camera reports ``video_restored``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta

import structlog

from cameras.onvif_client import OnvifClient, utc_now
from cameras.onvif_events import (
    CameraEvent,
    EventKind,
    door_observations,
    interpret,
    mapped_rule,
    renewal_delay,
    to_observations,
)
from cameras.onvif_models import (
    CameraError,
    CameraErrorReason,
    Notification,
    StreamChoice,
    choose_profile,
)
from cameras.onvif_pullpoint import PullPointSubscription
from gateway.observations import DeviceHealth, DeviceKind, Observation
from gateway.settings import CameraConfig
from sensors.backoff import backoff_delay

log = structlog.get_logger("floorwatch.cameras.onvif_events")
Emit = Callable[[Observation], None]
_OFFLINE = {
    CameraErrorReason.UNREACHABLE,
    CameraErrorReason.WRONG_PASSWORD,
    CameraErrorReason.CLOCK_SKEW,
}
NO_EVENTS_RETRY_S = 3600.0


class OnvifEventSource:
    """Constructed with values only; all work happens in ``run()`` (cancel to stop)."""

    def __init__(
        self,
        camera: CameraConfig,
        emit: Emit,
        *,
        rand: Callable[[], float] = random.random,
        no_events_retry_s: float = NO_EVENTS_RETRY_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.camera = camera
        self._emit = emit
        self._rand = rand
        self._no_events_retry_s = no_events_retry_s
        self._sleep = sleep  # the waits between attempts (tests record them)
        self._last_failure: CameraErrorReason | None = None
        self._unmapped: set[str] = set()
        # last total of each cumulative crossing counter; kept over resubscriptions, so
        # the first total after a reconnect brings the crossings made meanwhile
        self._counters: dict[str, int | None] = {}
        self._link: tuple[bool, str] | None = None
        self._delivered = False
        self.subscriptions = 0  # how many times we subscribed (tests, metrics)

    async def run(self) -> None:
        settings = self.camera.onvif.events
        attempt = 0
        while True:
            self._delivered = False
            try:
                await self._session()
            except CameraError as exc:
                self._link_state(exc.reason not in _OFFLINE, exc.reason.value, exc)
                if exc.reason is CameraErrorReason.NO_EVENTS:
                    await self._sleep(self._no_events_retry_s)
                    continue
            if self._delivered:  # it worked for a while: start the backoff over
                attempt = 0
            delay = backoff_delay(attempt, settings.retry_min_s, settings.retry_max_s, self._rand)
            attempt += 1
            await self._sleep(delay)

    async def _session(self) -> None:
        """One connection and subscription, until it fails (raises CameraError)."""
        async with OnvifClient(self.camera.id, self.camera.onvif) as client:
            await client.connect()
            sub = await client.subscribe(self.camera.onvif.events.termination_s)
            self.subscriptions += 1
            self._last_failure = None
            self._link_state(True, "events_subscribed")
            try:
                await self._pull_loop(client, sub)
            finally:
                await asyncio.shield(sub.unsubscribe())

    async def _pull_loop(self, client: OnvifClient, sub: PullPointSubscription) -> None:
        s = self.camera.onvif.events
        loop = asyncio.get_running_loop()
        requested = timedelta(seconds=s.termination_s)
        renew_at = loop.time() + renewal_delay(sub.granted, requested)
        sync_at = loop.time() + s.sync_interval_s
        awaiting_sync: float | None = None
        while True:
            now = loop.time()
            if now >= renew_at:
                granted = await sub.renew(s.termination_s)
                renew_at = loop.time() + renewal_delay(granted, requested)
            if now >= sync_at:
                await sub.synchronize()
                awaiting_sync, sync_at = now, now + s.sync_interval_s
            notes = await sub.pull(min(s.pull_timeout_s, max(1.0, renew_at - now)), s.message_limit)
            if notes:
                awaiting_sync = None
                self._delivered = True
                self._deliver(notes, client.clock_offset)
            elif awaiting_sync is not None and loop.time() - awaiting_sync > 2 * s.pull_timeout_s:
                raise CameraError(
                    CameraErrorReason.SUBSCRIPTION_LOST,
                    "no answer to a synchronization point: the subscription died silently",
                )

    def _deliver(self, notes: list[Notification], offset: timedelta) -> None:
        received = utc_now()
        for note in notes:
            try:
                event = interpret(note, received, offset)
                if event is not None:
                    for obs in self._observations(event):
                        self._emit(obs)
            except Exception:  # per-message guard: one bad message never stops the loop
                log.exception("camera.event_failed", camera=self.camera.id, topic=note.topic)

    def _observations(self, event: CameraEvent) -> list[Observation]:
        s = self.camera.onvif.events
        if event.kind in (EventKind.COUNT, EventKind.CROSSING):
            crossing = mapped_rule(event.rule, s.crossing_rules)
            if crossing is not None:
                key = event.rule or ""
                observations, self._counters[key] = door_observations(
                    event, self.camera.id, crossing, self._counters.get(key)
                )
                return observations
        observations = to_observations(
            event, self.camera.id, s.counting_rules, s.counting_confidence
        )
        if not observations and event.rule is not None and event.rule not in self._unmapped:
            self._unmapped.add(event.rule)
            log.warning(
                "camera.counting_rule_unmapped",
                camera=self.camera.id,
                rule=event.rule,
                kind=event.kind.value,
                hint="map it in onvif.events.crossing_rules (a line: door and direction)"
                if event.kind is EventKind.CROSSING
                else "map it in onvif.events.counting_rules (zone) or crossing_rules (door)",
            )
        return observations

    def _link_state(self, online: bool, detail: str, exc: CameraError | None = None) -> None:
        if exc is not None:
            again = exc.reason is self._last_failure
            self._last_failure = exc.reason
            if exc.reason is CameraErrorReason.NO_EVENTS:
                if not again:
                    log.info(
                        "camera.no_events",
                        camera=self.camera.id,
                        advice=exc.advice,
                        retry_in_s=self._no_events_retry_s,
                    )
            else:
                (log.debug if again else log.warning)(
                    "camera.onvif_failed",
                    camera=self.camera.id,
                    reason=exc.reason.value,
                    advice=exc.advice,
                    detail=exc.detail,
                )
        if self._link == (online, detail):
            return
        self._link = (online, detail)
        self._emit(
            DeviceHealth(
                device_id=f"{self.camera.id}/onvif",
                kind=DeviceKind.CAMERA,
                online=online,
                at=utc_now(),
                detail=detail,
            )
        )


async def run_onvif_events(
    camera: CameraConfig, emit: Emit, stop: asyncio.Event | None = None
) -> None:
    """Run a camera's event loop until ``stop`` is set (or the task is cancelled)."""
    source = OnvifEventSource(camera, emit)
    if not camera.onvif.events.enabled:
        return
    task = asyncio.create_task(source.run(), name=f"onvif-events-{camera.id}")
    if stop is None:
        await task
        return
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (task, stopper):
            t.cancel()
        await asyncio.gather(task, stopper, return_exceptions=True)


async def resolve_stream(camera: CameraConfig) -> StreamChoice:
    """Ask the camera which stream to capture: profile by ``onvif.profile``, then
    GetStreamUri / GetSnapshotUri. ``camera.stream_uri`` overrides the stream URI.

    For ``cameras.worker.loop_resolver``: called before each (re)connect, so a
    camera that changed its URIs after a reboot is followed. Raises CameraError.
    """
    pref = camera.onvif.profile
    async with OnvifClient(camera.id, camera.onvif) as client:
        await client.connect()
        profiles = await client.profiles()
        try:
            profile = choose_profile(
                profiles,
                encoding=pref.encoding,
                width=pref.width,
                height=pref.height,
                min_fps=pref.min_fps,
                token=pref.token,
            )
        except CameraError:
            if camera.stream_uri is None:
                raise
            return StreamChoice(None, camera.stream_uri, None)
        stream = camera.stream_uri or await client.stream_uri(profile.token)
        snapshot = await client.snapshot_uri(profile.token)
        return StreamChoice(profile, stream, snapshot)
