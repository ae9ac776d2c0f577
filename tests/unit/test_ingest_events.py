"""The pure part of the HTTP ingest: bodies -> events, event identity, the window of seen events,
and the signature / token checks of a ticket source (api/ingest_auth.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from api.ingest_auth import IngestKeys, Verdict, parse_signature, sign, signature_matches
from gateway.config_loader import ConfigError, load_settings
from gateway.ingest_events import (
    BodyError,
    Fate,
    Seen,
    SeenEvents,
    canonical,
    event_key,
    split_events,
)
from gateway.settings import (
    ApiConfig,
    ApiToken,
    IngestConfig,
    Role,
    Settings,
    TicketSource,
    dotted,
    reference_errors,
)
from sensors.models import DecodeError

ROOT = Path(__file__).resolve().parents[2]
SECRET = b"a-shared-webhook-secret-0123"
KEY = b"k" * 32


# --------------------------------------------------------------------------- bodies


def test_one_object_is_one_event_and_an_array_a_batch() -> None:
    assert split_events(b'{"b": 1, "a": "x"}', 10) == [b'{"a":"x","b":1}']
    assert split_events(b'[{"a": 1}, {"a": 2}]', 10) == [b'{"a":1}', b'{"a":2}']


def test_spacing_and_key_order_do_not_change_an_event() -> None:
    one = split_events(b'{"ticket": "A012",  "event": "called"}', 1)
    other = split_events(b'{\n "event":"called","ticket":"A012"}', 1)
    assert one == other
    assert canonical({"t": "Hà Nội"}) == '{"t":"Hà Nội"}'.encode()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{", "not JSON"),
        (b"", "not JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[]", "empty array"),
    ],
)
def test_a_body_that_is_not_events_says_why(body: bytes, reason: str) -> None:
    with pytest.raises(BodyError, match=reason) as caught:
        split_events(body, 10)
    assert not caught.value.too_many


def test_a_batch_over_the_bound_is_refused_whole() -> None:
    with pytest.raises(BodyError, match="4 events in one request; at most 3") as caught:
        split_events(b"[{}, {}, {}, {}]", 3)
    assert caught.value.too_many
    assert len(split_events(b"[{}, {}, {}]", 3)) == 3


def test_a_scalar_is_one_event_for_the_decoder_to_refuse() -> None:
    assert split_events(b"42", 5) == [b"42"]


# --------------------------------------------------------------------------- identity


def test_without_an_id_path_the_content_is_the_identity() -> None:
    a, b = split_events(b'[{"ticket": "A1"}, {"ticket": "A2"}]', 5)
    assert event_key(a, None) == event_key(b'{"ticket":"A1"}', None)
    assert event_key(a, None) != event_key(b, None)


def test_with_an_id_path_the_id_is_the_identity() -> None:
    first = canonical({"id": "evt-7", "status": "called"})
    again = canonical({"id": "evt-7", "status": "called", "delivery": 2})
    other = canonical({"id": "evt-8", "status": "called"})
    assert event_key(first, "id") == event_key(again, "id")
    assert event_key(first, "id") != event_key(other, "id")
    assert event_key(canonical({"meta": {"seq": 12}}), "meta.seq") == event_key(
        canonical({"meta": {"seq": "12"}}), "meta.seq"
    )


@pytest.mark.parametrize("event", [{"status": "x"}, {"id": ""}, {"id": None}, {"id": [1]}, [1]])
def test_an_event_without_its_id_is_a_decode_error(event: object) -> None:
    with pytest.raises(DecodeError, match="event id id"):
        event_key(canonical(event), "id")


# --------------------------------------------------------------------------- the window


def test_a_key_is_remembered_for_the_window_then_forgotten() -> None:
    seen = SeenEvents(window_s=60, max_keys=10)
    seen.put(b"a", Seen(Fate.STORED, 100.0))
    assert seen.get(b"a", 159.9) == Seen(Fate.STORED, 100.0)
    assert seen.get(b"a", 160.0) is None


def test_a_pending_key_is_not_forgotten_until_it_settles() -> None:
    seen = SeenEvents(window_s=60, max_keys=10)
    seen.put(b"a", Seen(Fate.PENDING, 100.0))
    assert seen.get(b"a", 500.0) is not None
    seen.settle([b"a"])
    got = seen.get(b"a", 120.0)
    assert got is not None and got.fate is Fate.STORED
    assert seen.get(b"a", 500.0) is None


def test_the_bound_forgets_the_oldest_first_and_counts_it() -> None:
    seen = SeenEvents(window_s=60, max_keys=2)
    for i, key in enumerate([b"a", b"b", b"c"]):
        seen.put(key, Seen(Fate.STORED, 100.0 + i))
    assert seen.get(b"a", 103.0) is None and seen.get(b"c", 103.0) is not None
    assert len(seen) == 2 and seen.forgotten_early == 1


def test_a_new_fate_keeps_the_first_time() -> None:
    seen = SeenEvents(window_s=60, max_keys=10)
    seen.put(b"a", Seen(Fate.PENDING, 100.0))
    seen.put(b"a", Seen(Fate.REJECTED, 150.0, "bad"))
    assert seen.get(b"a", 150.0) == Seen(Fate.REJECTED, 100.0, "bad")


def test_a_window_of_zero_remembers_nothing() -> None:
    seen = SeenEvents(window_s=0, max_keys=10)
    seen.put(b"a", Seen(Fate.STORED, 1.0))
    assert seen.get(b"a", 1.0) is None


# --------------------------------------------------------------------------- signatures


def _hmac(body: bytes) -> bytes:
    return hmac.new(SECRET, body, hashlib.sha256).digest()


def test_a_signature_is_read_as_hex_or_base64_with_or_without_its_prefix() -> None:
    body = b'{"event":"called"}'
    digest = _hmac(body)
    for form in (
        "sha256=" + digest.hex(),
        "SHA256=" + digest.hex().upper(),
        digest.hex(),
        base64.b64encode(digest).decode(),
        base64.b64encode(digest).decode().rstrip("="),
        base64.urlsafe_b64encode(digest).decode(),
        f"  sha256={digest.hex()} ",
    ):
        assert parse_signature(form) == digest, form
        assert signature_matches(SECRET, body, form)
    assert sign(SECRET, body) == "sha256=" + digest.hex()


@pytest.mark.parametrize("value", ["", "sha256=", "zz" * 32, "abc", "sha256=" + "00" * 31])
def test_a_malformed_signature_never_matches(value: str) -> None:
    assert parse_signature(value) is None
    assert not signature_matches(SECRET, b"{}", value)


def test_a_signature_of_another_body_or_key_does_not_match() -> None:
    assert not signature_matches(SECRET, b'{"a":2}', sign(SECRET, b'{"a":1}'))
    assert not signature_matches(SECRET, b'{"a":1}', sign(b"another-secret-xxxxxx", b'{"a":1}'))


# --------------------------------------------------------------------------- credentials


def _source(**kw: object) -> TicketSource:
    return TicketSource.model_validate({"id": "qms", **kw})


def test_a_source_needs_a_token_or_a_secret_of_16_characters() -> None:
    with pytest.raises(ValidationError, match="give a 'token', a 'secret'"):
        _source()
    with pytest.raises(ValidationError, match="at least 16 characters"):
        _source(secret=SecretStr("short"))
    # a reference left unresolved (a command that needs no secrets) is still "given"
    assert _source(secret=None).secret is None


def test_a_token_source_takes_its_token_only() -> None:
    keys = IngestKeys([_source(token=SecretStr("ingest-token-0123456789"))], KEY)
    assert keys.check("qms", "ingest-token-0123456789", None, b"{}") is Verdict.OK
    assert keys.check("qms", None, None, b"{}") is Verdict.MISSING
    assert keys.check("qms", "ingest-token-0123456780", None, b"{}") is Verdict.BAD_TOKEN
    assert keys.is_ingest_token("ingest-token-0123456789")
    assert not keys.is_ingest_token("another")


def test_a_signed_source_takes_a_matching_signature_only() -> None:
    keys = IngestKeys([_source(secret=SecretStr(SECRET.decode()))], KEY)
    body = b'{"event":"issued"}'
    assert keys.check("qms", None, sign(SECRET, body), body) is Verdict.OK
    assert keys.check("qms", "any-bearer", sign(SECRET, body), body) is Verdict.OK
    assert keys.check("qms", None, None, body) is Verdict.MISSING
    assert keys.check("qms", None, sign(SECRET, body), body + b" ") is Verdict.BAD_SIGNATURE
    assert keys.signature_header("qms") == "X-Signature-256"


def test_a_source_with_both_needs_both() -> None:
    source = _source(token=SecretStr("ingest-token-0123456789"), secret=SecretStr(SECRET.decode()))
    keys = IngestKeys([source], KEY)
    body = b"[]"
    good = sign(SECRET, body)
    assert keys.check("qms", "ingest-token-0123456789", good, body) is Verdict.OK
    assert keys.check("qms", "ingest-token-0123456789", None, body) is Verdict.MISSING
    assert keys.check("qms", None, good, body) is Verdict.MISSING
    assert keys.check("qms", "wrong-token-0123456789", good, body) is Verdict.BAD_TOKEN


def test_a_source_whose_secret_was_not_loaded_refuses_everything() -> None:
    keys = IngestKeys([_source(secret=None)], KEY)
    assert keys.check("qms", None, sign(SECRET, b"{}"), b"{}") is Verdict.NOT_CONFIGURED


# --------------------------------------------------------------------------- any bytes


@given(st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_any_body_is_events_or_a_body_error(body: bytes) -> None:
    try:
        events = split_events(body, 5)
    except BodyError as exc:
        assert exc.reason
    else:
        assert 1 <= len(events) <= 5
        assert all(split_events(e, 1) == [e] for e in events)  # canonical bytes are stable


# --------------------------------------------------------------------------- the site file


def _site(**ingest: object) -> Settings:
    settings = load_settings(ROOT / "config" / "demo-site.yaml", {}).settings
    api = ApiConfig(tokens=[ApiToken(name="A", role=Role.ADMIN, token=SecretStr("x" * 20))])
    return settings.model_copy(update={"ingest": IngestConfig(**ingest), "api": api})


def test_ticket_sources_are_checked_against_sensors_and_other_tokens() -> None:
    sensor = load_settings(ROOT / "config" / "demo-site.yaml", {}).settings.sensors[0].id
    web = {"id": "qms-web"}
    site = _site(
        tickets=[
            TicketSource.model_validate({**web, "token": SecretStr("q" * 20)}),
            TicketSource.model_validate({**web, "secret": SecretStr("s" * 20)}),
            TicketSource.model_validate({"id": sensor, "token": SecretStr("x" * 20)}),
        ]
    )
    assert [(dotted(loc), msg) for loc, msg in reference_errors(site)] == [
        ("ingest.tickets[1].id", "'qms-web' is another ticket source's id too: choose another"),
        ("ingest.tickets[2].id", f"{sensor!r} is a sensor's id too: choose another"),
        (
            "ingest.tickets[2].token",
            "the same value as another token: give each its own",
        ),
    ]
    one = TicketSource.model_validate({**web, "token": SecretStr("q" * 20)})
    assert reference_errors(_site(tickets=[one])) == []


def test_a_site_file_names_the_secrets_by_reference(tmp_path: Path) -> None:
    text = (ROOT / "config" / "demo-site.yaml").read_text(encoding="utf-8")
    text += (
        "\ningest:\n  tickets:\n    - id: qms-web\n      secret: {env: QMS_SECRET}\n"
        "      fields: {event: type}\n      events: {CALL: called}\n"
    )
    (tmp_path / "site.yaml").write_text(text, encoding="utf-8")
    loaded = load_settings(tmp_path / "site.yaml", {"QMS_SECRET": "s" * 24}).settings
    [source] = loaded.ingest.tickets
    assert source.secret is not None and source.secret.get_secret_value() == "s" * 24
    assert "s" * 24 not in repr(loaded.ingest)
    with pytest.raises(ConfigError, match="QMS_SECRET is not set"):
        load_settings(tmp_path / "site.yaml", {})
