"""StateWriter: zone states and alerts out to MQTT. Shell module (calls the MQTT client).

- ``zone(state)``: ``<base>/<site>/zones/<zone>/state``, retained;
- ``alert(alert, transition)``: ``<base>/<site>/alerts/<id>``, retained while
  the alert is active or acknowledged; a resolve publishes the resolved alert
  once (not retained), then clears the retained message (empty payload);
- ``republish()``: on every (re)connect, the Home Assistant discovery configs
  when switched on (``gateway.ha_discovery``, retained), then all zone states
  and active alerts again, and the clear of every recently resolved alert, so
  a control room that (re)subscribes never sees stale or empty values.

Publishing goes through ``publish(topic, payload, retain)`` (the MQTT source's
client, which queues the message for its own network thread: never blocks).
Call every method from the event loop; the MQTT thread's connect callback
gets here through ``loop.call_soon_threadsafe(writer.republish)``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence

import structlog

from gateway.ha_discovery import DiscoveryMessage
from gateway.live import Alert, AlertState, ZoneState
from gateway.outbound import OutboundTopics, to_json

log = structlog.get_logger("floorwatch.state_writer")

Publish = Callable[[str, bytes, bool], None]
RECENTLY_RESOLVED = 500


class StateWriter:
    def __init__(
        self,
        topics: OutboundTopics,
        publish: Publish,
        discovery: Sequence[DiscoveryMessage] = (),
    ) -> None:
        self._topics = topics
        self._publish = publish
        self._discovery = tuple(discovery)
        self._zones: dict[str, ZoneState] = {}
        self._alerts: dict[str, Alert] = {}
        self._resolved: OrderedDict[str, None] = OrderedDict()
        self._restored = False
        self._connected_early = False
        self.published = 0
        self.republished = 0

    def zone(self, state: ZoneState) -> None:
        self._zones[state.zone_id] = state
        self._send(self._topics.zone_state(state.zone_id), to_json(state), retain=True)

    def alert(self, alert: Alert, transition: str) -> None:
        topic = self._topics.alert(alert.id)
        if alert.state is AlertState.RESOLVED:
            self._alerts.pop(alert.id, None)
            self._forget_later(alert.id)
            self._send(topic, to_json(alert, transition=transition), retain=False)
            self._send(topic, b"", retain=True)
        else:
            self._alerts[alert.id] = alert
            self._send(topic, to_json(alert, transition=transition), retain=True)

    def restore(self, active: Iterable[Alert], resolved: Iterable[Alert]) -> None:
        """What the store says at start; a connect that came before it is served now."""
        for a in active:
            self._alerts[a.id] = a
        for a in resolved:
            self._forget_later(a.id)
        self._restored = True
        if self._connected_early:
            self._connected_early = False
            self.republish()

    def republish(self) -> None:
        """Everything we stand for, again (after a (re)connect)."""
        if not self._restored:
            self._connected_early = True  # the store is still being read: see restore()
            return
        for message in self._discovery:
            self._send(message.topic, message.payload, retain=True)
        for state in self._zones.values():
            self._send(self._topics.zone_state(state.zone_id), to_json(state), retain=True)
        for alert in self._alerts.values():
            self._send(self._topics.alert(alert.id), to_json(alert), retain=True)
        for alert_id in self._resolved:
            self._send(self._topics.alert(alert_id), b"", retain=True)
        self.republished += 1
        log.info(
            "state.republished",
            zones=len(self._zones),
            alerts=len(self._alerts),
            cleared=len(self._resolved),
            discovery=len(self._discovery),
        )

    def _forget_later(self, alert_id: str) -> None:
        self._resolved[alert_id] = None
        self._resolved.move_to_end(alert_id)
        while len(self._resolved) > RECENTLY_RESOLVED:
            self._resolved.popitem(last=False)

    def _send(self, topic: str, payload: bytes, *, retain: bool) -> None:
        self._publish(topic, payload, retain)
        self.published += 1
