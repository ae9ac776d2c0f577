"""The public device corpus replayed through the device profiles (sensors/profiles).

Every case of tests/fixtures/devices/ is decoded a second time by its sensor
written with ``profile:`` (the family file's "profile_sensors"), and must give
exactly what the hand-written decoder config gives: the same observations, or
a DecodeError with the same reason. Every shipped profile is used by at least
one cited payload.
"""

from __future__ import annotations

from collections import Counter

import pytest

from sensors.decoders import decode
from sensors.models import DecodeError
from sensors.profiles.catalog import shipped_names
from sensors.topics import TopicRouter
from tests.unit.decoding_support import CTX, CorpusCase, corpus

CASES = corpus()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.family}-{c.id}" for c in CASES])
def test_corpus_payload_through_its_profile(case: CorpusCase) -> None:
    config = case.profile
    assert config is not None, "every corpus sensor is also written with a profile"
    assert config.profile is not None
    assert TopicRouter([(config.topic, config)]).route(case.message.topic)
    if case.error is not None:
        with pytest.raises(DecodeError) as caught:
            decode(config, CTX, case.message)
        assert case.error in caught.value.reason
    else:
        assert decode(config, CTX, case.message) == case.expected


def test_every_shipped_profile_is_replayed_by_cited_payloads() -> None:
    used = Counter(c.profile.profile for c in CASES if c.profile is not None)
    assert sorted(set(shipped_names()) - set(used)) == []


def test_corpus_size_per_profile_family() -> None:
    # the report's figure: every family of the issue has cited payloads
    families = Counter(c.family for c in CASES)
    assert families["zigbee2mqtt"] >= 40
    assert families["tasmota"] >= 40
    assert families["esphome_homeassistant"] >= 30
    assert families["people_counters"] >= 40
    assert sum(families.values()) >= 150
