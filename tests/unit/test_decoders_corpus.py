"""The public device corpus, replayed through the decoders, table-driven.

Every payload in tests/fixtures/devices/ was taken from the public
documentation of a real device or project (each case cites its source), and
says what it must decode to, or which error it must give.
"""

from __future__ import annotations

from collections import Counter

import pytest

from sensors.decoders import decode
from sensors.models import DecodeError
from sensors.topics import TopicRouter
from tests.unit.decoding_support import CTX, CorpusCase, corpus

CASES = corpus()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.family}-{c.id}" for c in CASES])
def test_corpus_payload(case: CorpusCase) -> None:
    assert case.source.startswith("https://"), "every corpus payload cites its public source"
    if case.error is not None:
        with pytest.raises(DecodeError) as caught:
            decode(case.sensor, CTX, case.message)
        assert case.error in caught.value.reason
    else:
        assert decode(case.sensor, CTX, case.message) == case.expected


def test_corpus_ids_are_unique() -> None:
    ids = Counter((c.family, c.id) for c in CASES)
    assert [key for key, n in ids.items() if n > 1] == []


@pytest.mark.parametrize("case", CASES, ids=[f"{c.family}-{c.id}" for c in CASES])
def test_corpus_topic_is_one_its_sensor_subscribes_to(case: CorpusCase) -> None:
    # a broker delivers only what the sensor's filter matches: a case on another
    # topic could pass here and never reach the gateway (tests/integration/test_corpus_e2e.py)
    assert TopicRouter([(case.sensor.topic, case.sensor)]).route(case.message.topic)
