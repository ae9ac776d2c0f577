"""Templated HTTP calls: placeholders filled, JSON never broken, idempotency key, answer checks."""

from __future__ import annotations

from gateway.notify.config import HttpChannel
from gateway.notify.templating import answer_ok, field_value, fill, http_call


def channel(**extra: object) -> HttpChannel:
    base: dict[str, object] = {"id": "c", "type": "http", "url": "https://sms.example.vn/send"}
    base.update(extra)
    return HttpChannel.model_validate(base)


def test_placeholders_are_filled_and_nothing_else_is_interpreted() -> None:
    assert fill("{title}: {body}", {"title": "T", "body": "B"}) == "T: B"
    assert (
        fill("{unknown} {0} {title.__class__}", {"title": "T"}) == "{unknown} {0} {title.__class__}"
    )
    # a message with braces and quotes goes as written
    assert fill("{text}", {"text": 'a {title} "b"\n'}) == 'a {title} "b"\n'


def test_a_json_body_carries_any_text_intact() -> None:
    c = channel(
        json_body={"to": ["{recipient}"], "msg": "{text}", "n": 3, "flag": True},
        recipients=["0901"],
        headers={"Authorization": "Bearer {token}"},
        token="tok",
    )
    call = http_call(c, {"text": 'Khu chờ "A"\n{x}', "recipient": "0901"}, "fw-1")
    assert call.json == {"to": ["0901"], "msg": 'Khu chờ "A"\n{x}', "n": 3, "flag": True}
    assert call.headers == {"Authorization": "Bearer tok", "Idempotency-Key": "fw-1"}
    assert call.form is None and call.method == "POST"


def test_form_body_get_url_and_no_idempotency_header() -> None:
    c = channel(
        method="GET",
        url="https://sms.example.vn/send?phone={recipient}&msg={text}&key={secret}&id={idempotency_key}",
        recipients=["0901"],
        idempotency_header=None,
        secret="k",
    )
    call = http_call(c, {"text": "hi", "recipient": "0901"}, "fw-2")
    assert call.url == "https://sms.example.vn/send?phone=0901&msg=hi&key=k&id=fw-2"
    assert call.headers == {}


def test_sms_text_is_cut_to_max_chars() -> None:
    c = channel(form_body={"content": "{text}"}, max_chars=20)
    call = http_call(c, {"text": "x" * 50}, "k")
    assert call.form == {"content": "x" * 19 + "…"}


def test_answers_are_checked_by_a_dotted_field() -> None:
    assert field_value({"a": {"b": [1, {"c": 0}]}}, "a.b.1.c") == 0
    assert field_value({"a": 1}, "a.b") is None
    zalo = channel(success={"field": "error", "ok": [0]})
    assert answer_ok(zalo, {"error": 0, "message": "Success"}) == (True, "")
    ok, why = answer_ok(zalo, {"error": -216, "message": "Access token is invalid"})
    assert not ok and "error=-216" in why
    esms = channel(success={"field": "CodeResult", "ok": ["100"]})
    assert answer_ok(esms, {"CodeResult": "100"})[0]
    assert answer_ok(esms, {"CodeResult": 100})[0]  # numbers and their text agree
    assert not answer_ok(esms, {"CodeResult": "99"})[0]
    assert answer_ok(channel(), None) == (True, "")
