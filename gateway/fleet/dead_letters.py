"""The dead letters of ``floorwatch fleet run``: messages it cannot decode, kept. Shell module (nats-py).

A message the central worker cannot decode (not JSON, an unknown kind, a
subject that is not a site's, an envelope that disagrees with its subject) is
published, as it came, to a JetStream stream of its own (``dead_letters.stream``,
``FLEET_DEAD``) under ``<prefix>_dead.<province>.<site>`` (``unknown`` where the
subject has no site: gateway.fleet.messages.dead_letter_subject), a subject no
site's ``<prefix>.>`` can overlap. Its headers say why (``Floorwatch-Reason``)
and where it came from (``Floorwatch-Subject``, ``Floorwatch-Stream``,
``Floorwatch-Stream-Seq``); its ``Nats-Msg-Id`` ``<stream>:<seq>`` stores a
message rejected twice (delivered again before its ``term`` reached the
server) once within the stream's duplicate window.

The worker terminates the message only after JetStream acknowledged its dead
letter; when the dead letter cannot be stored, the message is handed back and
comes again. The stream is created on the first dead letter that finds none
(limits: ``max_age_days`` and ``max_bytes``, the oldest dropped first);
an existing one is used as it is. ``floorwatch fleet dead-letters`` lists and
purges them (gateway.fleet.dead_letters_cli).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

import nats.js.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

from gateway.fleet.central_config import DeadLettersConfig
from gateway.fleet.messages import (
    DEAD_REASON_HEADER,
    DEAD_SEQ_HEADER,
    DEAD_STREAM_HEADER,
    DEAD_SUBJECT_HEADER,
    dead_letter_headers,
    dead_letter_subject,
    dead_letter_wildcard,
)

DAY_S = 86400.0
PUBLISH_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One kept message as the dead-letter stream holds it."""

    seq: int  # in the dead-letter stream
    time: datetime
    subject: str  # the original subject
    reason: str
    size: int  # the payload's bytes
    stream: str | None  # the stream it came from, and its sequence there
    stream_seq: int | None
    payload: bytes

    def document(self, *, payload: bool = False) -> dict[str, object]:
        doc: dict[str, object] = {
            "seq": self.seq,
            "time": self.time.isoformat(),
            "subject": self.subject,
            "reason": self.reason,
            "size": self.size,
            "stream": self.stream,
            "stream_seq": self.stream_seq,
        }
        if payload:
            doc["payload"] = self.payload.decode("utf-8", "backslashreplace")
        return doc


class DeadLetters:
    """Publishes dead letters with the worker's connection; creates the stream when missing."""

    def __init__(self, config: DeadLettersConfig, *, prefix: str, replicas: int) -> None:
        self._cfg = config
        self._prefix = prefix
        self._replicas = config.replicas or replicas

    @property
    def stream(self) -> str:
        return self._cfg.stream

    def stream_config(self) -> StreamConfig:
        max_age = self._cfg.max_age_days * DAY_S
        return StreamConfig(
            name=self._cfg.stream,
            subjects=[dead_letter_wildcard(self._prefix)],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            max_age=max_age,
            max_bytes=self._cfg.max_bytes,
            num_replicas=self._replicas,
            duplicate_window=min(DAY_S, max_age),
        )

    async def ensure(self, js: JetStreamContext) -> None:
        """The stream, created when missing (an existing one is used as it is)."""
        try:
            await js.stream_info(self._cfg.stream)
        except nats.js.errors.NotFoundError:
            await js.add_stream(self.stream_config())

    async def put(self, js: JetStreamContext, msg: Msg, reason: str) -> None:
        """Store ``msg`` as a dead letter; returns once JetStream acknowledged it, raises
        (nats.errors.Error, OSError, TimeoutError) when it could not be stored."""
        stream = seq = None
        if msg.reply:  # a JetStream delivery (a plain message has no metadata)
            stream, seq = msg.metadata.stream, msg.metadata.sequence.stream
        subject = dead_letter_subject(self._prefix, msg.subject)
        headers = dead_letter_headers(reason, msg.subject, stream, seq)
        try:
            await self._publish(js, subject, msg.data, headers)
        except nats.js.errors.NoStreamResponseError:
            await self.ensure(js)
            await self._publish(js, subject, msg.data, headers)

    async def _publish(
        self, js: JetStreamContext, subject: str, data: bytes, headers: dict[str, str]
    ) -> None:
        # js.publish adds Nats-Expected-Stream to the dict it is given: a copy each time.
        await js.publish(
            subject, data, timeout=PUBLISH_TIMEOUT_S, stream=self._cfg.stream, headers={**headers}
        )


def as_dead_letter(seq: int, time: datetime, headers: dict[str, str], data: bytes) -> DeadLetter:
    stream_seq = None
    with contextlib.suppress(KeyError, ValueError):
        stream_seq = int(headers[DEAD_SEQ_HEADER])
    return DeadLetter(
        seq=seq,
        time=time,
        subject=headers.get(DEAD_SUBJECT_HEADER, ""),
        reason=headers.get(DEAD_REASON_HEADER, ""),
        size=len(data),
        stream=headers.get(DEAD_STREAM_HEADER),
        stream_seq=stream_seq,
        payload=data,
    )


async def read_dead_letters(js: JetStreamContext, stream: str, limit: int) -> list[DeadLetter]:
    """The newest ``limit`` dead letters, oldest first (NotFoundError: no stream yet)."""
    state = (await js.stream_info(stream)).state
    found: list[DeadLetter] = []
    seq = state.last_seq
    while seq >= max(state.first_seq, 1) and len(found) < limit:
        try:
            raw = await js.get_msg(stream, seq)
        except nats.js.errors.NotFoundError:  # deleted, or dropped by the limits meanwhile
            seq -= 1
            continue
        if raw.seq is not None and raw.time is not None:
            found.append(
                as_dead_letter(raw.seq, raw.time, dict(raw.headers or {}), raw.data or b"")
            )
        seq -= 1
    return found[::-1]
