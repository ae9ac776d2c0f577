"""The worker's redelivery count from an ack subject, against nats-py's own parser."""

from __future__ import annotations

import pytest
from nats.aio.msg import Msg

from gateway.fleet.central_worker import _delivered

SUBJECTS = [
    # v1: $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<time>.<pending>
    "$JS.ACK.FLOORWATCH.fleet-central.1.42.40.1764990000000000000.7",
    "$JS.ACK.FLOORWATCH_3.fleet-central.12.9.9.1764990000000000000.0",
    # v2: with a domain and an account hash, and the token nats-server adds after
    "$JS.ACK.central.ACCHASH.FLOORWATCH.fleet-central.3.42.40.1764990000000000000.7",
    "$JS.ACK._.ACCHASH.FLOORWATCH_1.fleet-central.27.5.5.1764990000000000000.0.RANDOM",
]


@pytest.mark.parametrize("reply", SUBJECTS)
def test_the_count_is_the_one_nats_py_reads(reply: str) -> None:
    expected = Msg.Metadata._from_reply(reply).num_delivered  # noqa: SLF001 - the oracle
    assert _delivered(reply) == expected
    assert expected > 0


@pytest.mark.parametrize("reply", [None, "", "_INBOX.abc", "$JS.ACK.S.C.x.1.1.1.1"])
def test_a_message_not_from_jetstream_or_malformed_counts_zero(reply: str | None) -> None:
    assert _delivered(reply) == 0
