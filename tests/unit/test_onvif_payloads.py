"""Vendor-shaped PullMessages answers, parsed by the library (zeep, the events WSDL)
exactly as a live pull would be, then turned into our Notification values."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from onvif.client import ONVIFService
from onvif.definition import SERVICES
from onvif.settings import DEFAULT_SETTINGS
from onvif.transport import ASYNC_TRANSPORT
from zeep.loader import parse_xml

from cameras.onvif_events import EventKind, interpret, to_observations
from cameras.onvif_messages import notification_from_zeep
from gateway.observations import DeviceHealth, PeopleCount

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "onvif"
WSDL = Path(str(__import__("onvif").__file__)).parent / "wsdl" / "events.wsdl"


def pull_reply(name: str) -> Any:
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
            content = (FIXTURES / name).read_bytes()
            envelope = parse_xml(content, ASYNC_TRANSPORT, settings=DEFAULT_SETTINGS)  # type: ignore[arg-type]
            return operation.process_reply(envelope)
        finally:
            await service.close()

    return asyncio.run(main())


def test_vendor_shaped_pull_messages() -> None:
    reply = pull_reply("pull_messages_vendor_shaped.xml")
    parsed = [notification_from_zeep(m) for m in reply.NotificationMessage]
    notes = [n for n in parsed if n is not None]
    assert len(notes) == len(parsed) == 4
    motion, counter, scene, vendor = notes
    assert motion.topic == "tns1:RuleEngine/CellMotionDetector/Motion"
    assert motion.source_value("Rule") == "MyMotionDetectorRule"
    assert motion.data_value("IsMotion") == "true"
    assert motion.utc_time == datetime(2026, 12, 1, 9, 2, tzinfo=UTC)
    assert counter.data_value("Count") == "23"
    assert scene.operation == "Initialized"

    received = datetime(2026, 12, 1, 9, 2, 1, tzinfo=UTC)
    events = [interpret(n, received, timedelta(0)) for n in notes]
    kinds = [e.kind if e else None for e in events]
    assert kinds == [EventKind.MOTION, EventKind.COUNT, EventKind.TAMPER, None]
    assert events[2] is not None and events[2].at == received  # 1970: receipt time instead
    rules = {"Queue counter 1": "waiting"}
    obs = [o for e in events if e for o in to_observations(e, "cam-9", rules, 0.8)]
    assert [type(o) for o in obs] == [DeviceHealth, PeopleCount, DeviceHealth]
    count = obs[1]
    assert isinstance(count, PeopleCount) and (count.zone_id, count.count) == ("waiting", 23)
    assert vendor.topic == "tnsvendor:VMD/Camera"


def test_unusable_messages_are_none() -> None:
    class Empty:
        pass

    assert notification_from_zeep(Empty()) is None
    assert notification_from_zeep(None) is None


def test_reference_parameters_are_copied_as_marked_header_blocks() -> None:
    """Axis' SubscriptionId (an element zeep leaves raw) -> a header block to echo."""
    from types import SimpleNamespace

    from lxml import etree  # type: ignore[import-untyped]

    from cameras.onvif_messages import WSA_NS, reference_parameters

    axis = etree.fromstring(
        b'<d:SubscriptionId xmlns:d="http://www.axis.com/2009/event">7</d:SubscriptionId>'
    )
    reference = SimpleNamespace(ReferenceParameters=SimpleNamespace(_value_1=[axis, "text"]))
    [block] = reference_parameters(reference)
    assert block.tag == "{http://www.axis.com/2009/event}SubscriptionId" and block.text == "7"
    assert block.get(f"{{{WSA_NS}}}IsReferenceParameter") == "true"
    assert axis.get(f"{{{WSA_NS}}}IsReferenceParameter") is None  # the answer is left alone
    assert reference_parameters(SimpleNamespace(ReferenceParameters=None)) == []
    assert reference_parameters(None) == []
