"""Channels against real receivers on loopback: Apprise e-mail to an SMTP server (aiosmtpd),
webhook, Zalo-OA-shaped and SMS-gateway-shaped calls to an HTTP server; `floorwatch notify test`.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gateway.notify.channels import ChannelError, Outgoing, sender
from gateway.notify.config import AppriseChannel, HttpChannel
from tests.integration.notify_support import HttpReceiver, Request, SmtpReceiver, free_port

ROOT = Path(__file__).resolve().parents[2]
MESSAGE = Outgoing(
    key="fw-0123456789abcdef",
    title="[KHẨN CẤP] Khu chờ (118 ghế) (Tầng 2) – TTHCC",
    body='Khu chờ (118 ghế): vượt sức chứa (190 người, sức chứa 180)\nghi chú: "cửa B" {x}',
    severity="critical",
    kind="raised",
    alert_ids="capacity:f2-waiting:1",
    zone="f2-waiting",
    site="TTHCC",
)


def send(channel: AppriseChannel | HttpChannel, already: frozenset[int] = frozenset()) -> None:
    async def once() -> None:
        s = sender(channel)
        try:
            await s.send(MESSAGE, already)
        finally:
            await s.close()

    asyncio.run(once())


def test_apprise_mail_reaches_a_real_smtp_server() -> None:
    smtp = SmtpReceiver().start()
    try:
        channel = AppriseChannel(id="mail", type="apprise", url=smtp.url("truc-ban@hcc.example.vn"))
        send(channel)
        smtp.wait_for(lambda mails: len(mails) == 1)
        [mail] = smtp.mails
        assert mail.to == ["truc-ban@hcc.example.vn"]
        assert mail.subject == MESSAGE.title  # Vietnamese diacritics intact
        assert "vượt sức chứa (190 người, sức chứa 180)" in mail.text
    finally:
        smtp.stop()
    # the server is gone: a failure with Apprise's reason
    with pytest.raises(ChannelError) as err:
        send(channel)
    assert err.value.reason == 'Connection error while submitting email to "127.0.0.1"'


def test_apprise_secrets_go_into_the_url_and_never_into_the_reason() -> None:
    port = free_port()  # nothing listens
    channel = AppriseChannel.model_validate(
        {
            "id": "mail",
            "type": "apprise",
            "url": f"mailto://alerts:{{password}}@127.0.0.1:{port}?to=a@hcc.example.vn"
            "&from=floorwatch@hcc.example.vn&mode=insecure",
            "password": "pa55-w0rd-xyz",
        }
    )
    with pytest.raises(ChannelError) as err:
        send(channel)
    assert "Connection error" in err.value.reason  # the URL was taken: it failed connecting
    assert "pa55-w0rd-xyz" not in err.value.reason
    bad = AppriseChannel(id="x", type="apprise", url="nosuchscheme://host")
    with pytest.raises(ChannelError, match="does not accept"):
        send(bad)


def test_webhook_json_with_idempotency_key() -> None:
    http = HttpReceiver().start()
    try:
        channel = HttpChannel.model_validate(
            {
                "id": "hook",
                "type": "http",
                "url": f"{http.url}/hooks/floorwatch",
                "json_body": {
                    "title": "{title}",
                    "text": "{body}",
                    "severity": "{severity}",
                    "alerts": "{alert_ids}",
                },
            }
        )
        send(channel)
        [req] = http.requests
        assert (req.method, req.path) == ("POST", "/hooks/floorwatch")
        assert req.headers["Idempotency-Key"] == MESSAGE.key
        assert req.json() == {
            "title": MESSAGE.title,
            "text": MESSAGE.body,
            "severity": "critical",
            "alerts": "capacity:f2-waiting:1",
        }
    finally:
        http.stop()


def zalo_channel(url: str) -> HttpChannel:
    """As docs/alerts.md configures a Zalo Official Account (API v3, customer-service message)."""
    return HttpChannel.model_validate(
        {
            "id": "zalo-ca-truc",
            "type": "http",
            "url": f"{url}/v3.0/oa/message/cs",
            "headers": {"access_token": "{token}"},
            "token": "oa-access-token-123",
            "recipients": ["8123456789012345678", "8765432109876543210"],
            "json_body": {
                "recipient": {"user_id": "{recipient}"},
                "message": {"text": "{text}"},
            },
            "success": {"field": "error", "ok": [0]},
            "max_chars": 2000,
        }
    )


def test_zalo_shaped_calls_and_a_refusal_in_a_200_answer() -> None:
    answers = iter(
        [(200, {"error": 0, "message": "Success"})] * 2
        + [(200, {"error": -216, "message": "Access token is invalid"})]
    )
    http = HttpReceiver(answer=lambda r: next(answers)).start()
    try:
        channel = zalo_channel(http.url)
        send(channel)
        assert [r.path for r in http.requests] == ["/v3.0/oa/message/cs"] * 2
        first, second = http.requests
        assert first.headers["access_token"] == "oa-access-token-123"
        assert first.json() == {
            "recipient": {"user_id": "8123456789012345678"},
            "message": {"text": MESSAGE.text},
        }
        assert second.json()["recipient"] == {"user_id": "8765432109876543210"}
        assert [first.headers["Idempotency-Key"], second.headers["Idempotency-Key"]] == [
            f"{MESSAGE.key}-0",
            f"{MESSAGE.key}-1",
        ]
        with pytest.raises(ChannelError) as err:
            send(channel)
        assert "error=-216" in err.value.reason and err.value.delivered == frozenset()
        assert "oa-access-token-123" not in err.value.reason
    finally:
        http.stop()


def sms_channel(url: str) -> HttpChannel:
    """A generic Vietnamese SMS gateway: form POST, API key and brand name, one call per phone."""
    return HttpChannel.model_validate(
        {
            "id": "sms-lanh-dao",
            "type": "http",
            "url": f"{url}/api/sms/send",
            "form_body": {
                "ApiKey": "{token}",
                "SecretKey": "{secret}",
                "Phone": "{recipient}",
                "Content": "{text}",
                "Brandname": "TTHCC",
                "RequestId": "{idempotency_key}",
            },
            "token": "api-key-1",
            "secret": "secret-key-2",
            "recipients": ["0901234567", "0912345678"],
            "success": {"field": "CodeResult", "ok": ["100"]},
            "idempotency_header": None,
            "max_chars": 160,
        }
    )


def test_sms_shaped_calls_resume_after_a_partial_failure_without_sending_twice() -> None:
    calls: list[str] = []

    def answer(r: Request) -> tuple[int, object]:
        phone = r.form()["Phone"]
        calls.append(phone)
        if phone == "0912345678" and calls.count(phone) == 1:
            return 503, {"CodeResult": "99", "ErrorMessage": "busy"}
        return 200, {"CodeResult": "100", "SMSID": "abc"}

    http = HttpReceiver(answer=answer).start()
    try:
        channel = sms_channel(http.url)
        with pytest.raises(ChannelError) as err:
            send(channel)
        assert err.value.delivered == frozenset({0})
        assert "HTTP 503" in err.value.reason
        send(channel, err.value.delivered)  # the retry: only the phone that did not get it
        assert calls == ["0901234567", "0912345678", "0912345678"]
        form = http.requests[0].form()
        assert form["ApiKey"] == "api-key-1" and form["Brandname"] == "TTHCC"
        assert form["RequestId"] == f"{MESSAGE.key}-0"
        assert len(form["Content"]) <= 160 and form["Content"].startswith("[KHẨN CẤP]")
        assert "Idempotency-Key" not in http.requests[0].headers
    finally:
        http.stop()


def test_a_channel_that_is_down_fails_with_the_reason() -> None:
    channel = HttpChannel(
        id="hook", type="http", url=f"http://127.0.0.1:{free_port()}/x", timeout_s=5
    )
    with pytest.raises(ChannelError, match="ConnectError"):
        send(channel)


def _site_file(tmp_path: Path, channels: list[dict[str, object]]) -> Path:
    data = yaml.safe_load((ROOT / "config" / "demo-site.yaml").read_text(encoding="utf-8"))
    data["notifications"] = {"channels": channels}
    data.setdefault("gateway", {})["state_dir"] = str(tmp_path / "state")
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def floorwatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("floorwatch")
    return subprocess.run(
        [str(exe), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_floorwatch_notify_test_sends_and_prints_the_outcome(tmp_path: Path) -> None:
    smtp = SmtpReceiver().start()
    http = HttpReceiver(answer=lambda r: (200, {"error": 0})).start()
    try:
        site = _site_file(
            tmp_path,
            [
                {"id": "mail", "type": "apprise", "url": smtp.url()},
                {
                    "id": "zalo",
                    "type": "http",
                    "url": f"{http.url}/v3.0/oa/message/cs",
                    "headers": {"access_token": "{token}"},
                    "token": {"env": "TEST_ZALO_TOKEN"},
                    "json_body": {"message": {"text": "{text}"}},
                    "success": {"field": "error", "ok": [0]},
                },
                {"id": "dead", "type": "http", "url": f"http://127.0.0.1:{free_port()}/"},
            ],
        )
        env = {"TEST_ZALO_TOKEN": "zalo-secret-token"}
        done = floorwatch("notify", "test", "mail", "-c", str(site), env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.startswith("mail (Apprise): sent in ")
        smtp.wait_for(lambda m: len(m) == 1)
        assert smtp.mails[0].subject.startswith("[THỬ] floorwatch – Trung tâm")
        done = floorwatch("notify", "test", "zalo", "-c", str(site), env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert http.requests[0].headers["access_token"] == "zalo-secret-token"
        assert "Tin nhắn thử của kênh zalo" in http.requests[0].json()["message"]["text"]
        done = floorwatch("notify", "test", "dead", "-c", str(site), env=env)
        assert done.returncode == 1 and "dead (HTTP POST): failed: ConnectError" in done.stdout
        done = floorwatch("notify", "test", "nope", "-c", str(site), env=env)
        assert (
            done.returncode == 2
            and "unknown channel 'nope' (channels: mail, zalo, dead)" in done.stderr
        )
        listed = floorwatch("notify", "channels", "-c", str(site))  # no secret needed
        assert listed.returncode == 0 and "zalo-secret-token" not in listed.stdout
        assert "mailto://…" in listed.stdout and str(smtp.port) not in listed.stdout
    finally:
        smtp.stop()
        http.stop()
