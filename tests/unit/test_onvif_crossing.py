"""Profile M counting on the camera: line crossings -> DoorTraffic, region counts ->
PeopleCount. Literal PullMessages answers in the shapes cameras send, parsed by the
library (zeep, the events WSDL) as a live pull would be; the configuration of the
rule -> door mapping."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from onvif.client import ONVIFService
from onvif.definition import SERVICES
from onvif.settings import DEFAULT_SETTINGS
from onvif.transport import ASYNC_TRANSPORT
from pydantic import ValidationError
from zeep.loader import parse_xml

from cameras.onvif_events import (
    CameraEvent,
    EventKind,
    counter_increase,
    door_observations,
    interpret,
    mapped_rule,
    to_observations,
)
from cameras.onvif_messages import notification_from_zeep
from cameras.onvif_models import Notification
from gateway.config_loader import ConfigError, parse_settings
from gateway.floor_model import FloorModel
from gateway.observations import DeviceHealth, DeviceKind, DoorTraffic, PeopleCount
from gateway.settings import CrossingRule, OnvifEventSettings
from gateway.zones import zone_specs

WSDL = Path(str(__import__("onvif").__file__)).parent / "wsdl" / "events.wsdl"
RECEIVED = datetime(2026, 12, 1, 9, 2, 1, tzinfo=UTC)

ENVELOPE = """<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"
              xmlns:tet="http://www.onvif.org/ver10/events/wsdl"
              xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2"
              xmlns:tt="http://www.onvif.org/ver10/schema"
              xmlns:tns1="http://www.onvif.org/ver10/topics">
  <env:Body>
    <tet:PullMessagesResponse>
      <tet:CurrentTime>2026-12-01T09:02:00Z</tet:CurrentTime>
      <tet:TerminationTime>2026-12-01T09:03:00Z</tet:TerminationTime>
      {messages}
    </tet:PullMessagesResponse>
  </env:Body>
</env:Envelope>"""


def message(
    topic: str,
    source: dict[str, str],
    data: dict[str, str],
    *,
    operation: str = "Changed",
    at: str = "2026-12-01T09:02:00Z",
) -> str:
    def items(pairs: dict[str, str]) -> str:
        return "".join(f'<tt:SimpleItem Name="{k}" Value="{v}"/>' for k, v in pairs.items())

    return (
        "<wsnt:NotificationMessage><wsnt:Topic"
        ' Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">'
        f"{topic}</wsnt:Topic><wsnt:Message>"
        f'<tt:Message UtcTime="{at}" PropertyOperation="{operation}">'
        f"<tt:Source>{items(source)}</tt:Source><tt:Data>{items(data)}</tt:Data>"
        "</tt:Message></wsnt:Message></wsnt:NotificationMessage>"
    )


def parse(*messages: str) -> list[Notification]:
    """The notifications of a PullMessagesResponse, as the event source gets them."""

    async def main() -> Any:
        spec = SERVICES["pullpoint"]
        service = ONVIFService(
            "http://127.0.0.1:9/onvif/events",
            "u",
            "p",
            str(WSDL),
            no_cache=True,
            binding_name=f"{{{spec['ns']}}}{spec['binding']}",
        )
        await service.setup()
        try:
            operation = service.document.bindings[service.binding_name].get("PullMessages")
            content = ENVELOPE.format(messages="".join(messages)).encode()
            envelope = parse_xml(content, ASYNC_TRANSPORT, settings=DEFAULT_SETTINGS)  # type: ignore[arg-type]
            return operation.process_reply(envelope)
        finally:
            await service.close()

    reply = asyncio.run(main())
    notes = [notification_from_zeep(m) for m in reply.NotificationMessage]
    assert all(n is not None for n in notes)
    return [n for n in notes if n is not None]


# A line-crossing rule as the analytics service names its sources (ONVIF Analytics
# Service spec, LineDetector; Hikvision/Uniview firmware): an ObjectId per crossing.
LINE_SOURCE = {
    "VideoSourceConfigurationToken": "VideoSourceToken",
    "VideoAnalyticsConfigurationToken": "VideoAnalyticsToken",
    "Rule": "EntranceIn",
}
ENTRY = CrossingRule(door="main", direction="entry")
EXIT = CrossingRule(door="main", direction="exit")


def events(notes: list[Notification]) -> list[CameraEvent]:
    found = [interpret(n, RECEIVED, timedelta(0)) for n in notes]
    return [e for e in found if e is not None]


def test_each_line_crossing_is_one_passage_through_its_door() -> None:
    notes = parse(
        message("tns1:RuleEngine/LineDetector/Crossed", LINE_SOURCE, {"ObjectId": "17"}),
        message(
            "tns1:RuleEngine/LineDetector/Crossed",
            {**LINE_SOURCE, "Rule": "EntranceOut"},
            {"ObjectId": "18"},
            at="2026-12-01T09:02:00.500Z",
        ),
        message("tns1:RuleEngine/LineDetector/Crossed", LINE_SOURCE, {"ObjectId": "21"}),
    )
    evs = events(notes)
    assert [(e.kind, e.rule, e.count) for e in evs] == [
        (EventKind.CROSSING, "EntranceIn", 1),
        (EventKind.CROSSING, "EntranceOut", 1),
        (EventKind.CROSSING, "EntranceIn", 1),
    ]
    rules = {"EntranceIn": ENTRY, "EntranceOut": EXIT}
    traffic = []
    for e in evs:
        rule = mapped_rule(e.rule, rules)
        assert rule is not None
        obs, remembered = door_observations(e, "cam-door", rule, None)
        assert remembered is None  # a pulse leaves no total to remember
        traffic += obs
    assert all(isinstance(t, DoorTraffic) for t in traffic)
    assert [(t.door_id, t.entries, t.exits) for t in traffic if isinstance(t, DoorTraffic)] == [
        ("main", 1, 0),
        ("main", 0, 1),
        ("main", 1, 0),
    ]
    second = traffic[1]
    assert isinstance(second, DoorTraffic)
    assert second.source_id == "cam-door/onvif/EntranceOut"
    assert second.at == datetime(2026, 12, 1, 9, 2, 0, 500000, tzinfo=UTC)  # camera's time


def test_a_crossing_without_a_mapped_rule_is_no_observation() -> None:
    (event,) = events(
        parse(message("tns1:RuleEngine/LineDetector/Crossed", LINE_SOURCE, {"ObjectId": "3"}))
    )
    assert mapped_rule(event.rule, {"OtherLine": ENTRY}) is None
    assert to_observations(event, "cam-door", {"EntranceIn": "hall"}, 0.8) == []  # not a zone


def test_initialized_or_deleted_crossing_messages_are_not_crossings() -> None:
    notes = parse(
        message(
            "tns1:RuleEngine/LineDetector/Crossed",
            LINE_SOURCE,
            {"ObjectId": "0"},
            operation="Initialized",
        ),
        message("tns1:RuleEngine/LineDetector/Crossed", LINE_SOURCE, {}, operation="Deleted"),
    )
    assert len(notes) == 2
    assert events(notes) == []


def test_cumulative_counter_totals_become_their_increases() -> None:
    # A line-crossing counting rule reporting totals (Bosch/Axis style): the total
    # at subscription (Initialized) is the baseline, then increases, a reset at midnight.
    counter = "tns1:RuleEngine/CountAggregation/Counter"
    source = {
        "VideoSourceConfigurationToken": "1",
        "VideoAnalyticsConfigurationToken": "1",
        "Rule": "Counter IN",
    }
    notes = parse(
        message(counter, source, {"Count": "412"}, operation="Initialized"),
        message(counter, source, {"Count": "415"}),
        message(counter, source, {"Count": "415"}),
        message(counter, source, {"Count": "2"}),
        message(counter, source, {"Count": "4"}),
    )
    evs = events(notes)
    assert [e.kind for e in evs] == [EventKind.COUNT] * 5
    previous: int | None = None
    passages = []
    for e in evs:
        obs, previous = door_observations(e, "cam-door", ENTRY, previous)
        passages += [(t.entries, t.exits) for t in obs if isinstance(t, DoorTraffic)]
    assert passages == [(3, 0), (2, 0), (2, 0)]
    assert previous == 4


def test_hikvision_counter_with_a_key_element() -> None:
    # The shape a Hikvision camera sent (home-assistant/core issue 70185): its default
    # rule MyCountAggregation1, a Key with the ObjectId between Source and Data.
    counter = (
        "<wsnt:NotificationMessage><wsnt:Topic"
        ' Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">'
        "tns1:RuleEngine/CountAggregation/Counter</wsnt:Topic><wsnt:Message>"
        '<tt:Message UtcTime="2026-12-01T09:02:00Z" PropertyOperation="{op}"><tt:Source>'
        '<tt:SimpleItem Name="VideoSourceConfigurationToken" Value="VideoSourceToken"/>'
        '<tt:SimpleItem Name="VideoAnalyticsConfigurationToken" Value="VideoAnalyticsToken"/>'
        '<tt:SimpleItem Name="Rule" Value="MyCountAggregation1"/></tt:Source>'
        '<tt:Key><tt:SimpleItem Name="ObjectId" Value="1"/></tt:Key>'
        '<tt:Data><tt:SimpleItem Name="Count" Value="{count}"/></tt:Data>'
        "</tt:Message></wsnt:Message></wsnt:NotificationMessage>"
    )
    notes = parse(
        counter.format(op="Initialized", count=0),
        counter.format(op="Changed", count=2),
    )
    evs = events(notes)
    assert [(e.rule, e.count) for e in evs] == [
        ("MyCountAggregation1", 0),
        ("MyCountAggregation1", 2),
    ]
    rules = {"MyCountAggregation1": EXIT}
    previous: int | None = None
    exits = 0
    for e in evs:
        rule = mapped_rule(e.rule, rules)
        assert rule is not None
        obs, previous = door_observations(e, "cam-door", rule, previous)
        exits += sum(o.exits for o in obs if isinstance(o, DoorTraffic))
    assert exits == 2
    # not mapped anywhere (Hikvision sends it for motion areas too): no observation
    assert to_observations(evs[1], "cam-door", {}, 0.8) == []


def test_region_object_count_becomes_the_zone_count() -> None:
    notes = parse(
        message(
            "tns1:RuleEngine/ObjectDetector/Count",
            {"VideoSourceConfigurationToken": "vsc", "Rule": "WaitingArea"},
            {"ObjectCount": "9"},
        ),
        message(
            "tns1:RuleEngine/CountAggregation/Counter",
            {"VideoSourceConfigurationToken": "vsc", "Rule": "CounterArea"},
            {"Count": "4"},
        ),
    )
    zones = {"WaitingArea": "waiting", "CounterArea": "counters"}
    obs = [o for e in events(notes) for o in to_observations(e, "cam-hall", zones, 0.8)]
    assert [(o.zone_id, o.count) for o in obs if isinstance(o, PeopleCount)] == [
        ("waiting", 9),
        ("counters", 4),
    ]


@pytest.mark.parametrize(
    ("previous", "current", "added"),
    [(None, 500, 0), (10, 10, 0), (10, 13, 3), (13, 1, 1), (13, 0, 0)],
)
def test_counter_increase(previous: int | None, current: int, added: int) -> None:
    assert counter_increase(previous, current) == added


@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=50))
def test_counter_never_loses_or_invents_monotone_crossings(totals: list[int]) -> None:
    totals = sorted(totals)  # a counter that never resets
    previous: int | None = None
    added = 0
    for total in totals:
        added += counter_increase(previous, total)
        previous = total
    assert added == totals[-1] - totals[0]


def test_a_rule_name_may_be_left_out_only_with_one_mapping() -> None:
    assert mapped_rule(None, {"A": ENTRY}) is ENTRY
    assert mapped_rule(None, {"A": ENTRY, "B": EXIT}) is None
    assert mapped_rule("B", {"A": ENTRY, "B": EXIT}) is EXIT


SITE = """
site: {id: t, name: T}
floors: [{id: f1, name: F1, area_m2: 100, plan: {width_m: 10, depth_m: 10}}]
zones: [{id: hall, name: H, floor: f1, area_m2: 50, capacity: 40, polygon: [[0, 0], [5, 0], [5, 5]]}]
doors: [{id: main, name: Main, floor: f1, into_zone: hall}]
cameras:
  - id: cam-door
    name: Door
    onvif:
      host: 10.0.0.31
      events:
        crossing_rules:
          EntranceIn: {door: %s, direction: entry}
          EntranceOut: {door: main, direction: exit}
"""


def test_crossing_rules_in_the_site_file() -> None:
    loaded = parse_settings(SITE % "main", {}, need_secrets=False)
    rules = loaded.settings.cameras[0].onvif
    assert rules is not None
    assert rules.events.crossing_rules == {"EntranceIn": ENTRY, "EntranceOut": EXIT}


def test_a_crossing_rule_naming_an_unknown_door_is_an_error_with_its_path() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(SITE % "back", {}, need_secrets=False)
    text = "; ".join(str(i) for i in info.value.issues)
    assert "crossing_rules" in text and "EntranceIn" in text and "back" in text


@pytest.mark.parametrize(
    "events_config",
    [
        {"crossing_rules": {"L": {"door": "main"}}},  # direction is required
        {"crossing_rules": {"L": {"door": "main", "direction": "in"}}},
        {"crossing_rules": {"L": {"door": "main", "direction": "entry", "zone": "hall"}}},
        {"crossing_rules": {"L": {"door": "Main Door", "direction": "entry"}}},
        {
            "counting_rules": {"L": "hall"},
            "crossing_rules": {"L": {"door": "main", "direction": "entry"}},
        },
    ],
)
def test_rejected_crossing_rules(events_config: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        OnvifEventSettings.model_validate(events_config)


def test_a_cameras_line_crossings_are_the_zones_door_balance() -> None:
    """Fusion takes the door balance of a zone whose door a camera counts (no door
    counter sensor), and says the doors are offline when the camera's ONVIF link is."""
    settings = parse_settings(SITE % "main", {}, need_secrets=False).settings
    (spec,) = zone_specs(settings)
    assert spec.door_sensors == ("cam-door/onvif",)
    start = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    model = FloorModel(settings, start=start)
    model.apply(DoorTraffic("main", "cam-door/onvif/EntranceIn", 5, 0, start))
    model.apply(DoorTraffic("main", "cam-door/onvif/EntranceOut", 0, 2, start))
    (hall,) = model.evaluate(start + timedelta(seconds=1))
    assert (hall.method, hall.occupancy) == ("doors", 3)
    model.apply(DeviceHealth("cam-door/onvif", DeviceKind.CAMERA, False, start, "unreachable"))
    (hall,) = model.evaluate(start + timedelta(seconds=2))
    assert hall.method != "doors"  # the doors are offline with the camera's ONVIF link
