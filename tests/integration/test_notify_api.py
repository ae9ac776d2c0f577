"""GET /api/v1/alerts/{id}/notifications reads the outbox the alert store wrote."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from gateway.alert_store import AlertStore
from gateway.alerts import AlertBook, Condition
from gateway.live import Severity
from gateway.notify.config import NotificationSettings
from gateway.notify.outbox import Outbox
from gateway.notify.wiring import site_facts
from gateway.settings import Role
from tests.api_support import TOKENS, build_app, demo_settings

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tuesday 09:00 local: open


def test_an_alerts_deliveries_through_the_api(tmp_path: Path) -> None:
    base = demo_settings()
    site = base.model_copy(
        update={
            "gateway": base.gateway.model_copy(update={"state_dir": tmp_path}),
            "notifications": NotificationSettings.model_validate(
                {
                    "channels": [
                        {"id": "hook", "type": "http", "url": "http://127.0.0.1:9/"},
                        {"id": "lead", "type": "http", "url": "http://127.0.0.1:9/"},
                    ],
                    "routes": [
                        {
                            "escalation": [
                                {"after_min": 0, "notify": ["hook"]},
                                {"after_min": 10, "notify": ["lead"]},
                            ]
                        }
                    ],
                }
            ),
        }
    )

    async def record() -> str:
        store = AlertStore(
            tmp_path / "alerts.sqlite3", outbox=Outbox(site.notifications, site_facts(site))
        )
        await store.open()
        book = AlertBook(renotify_s=600, escalate_s=None, clear_s=60)
        c = Condition(
            "co2_high", "f2-waiting", Severity.WARNING, "CO₂ cao", 1250, 1000, zone_id="f2-waiting"
        )
        [t] = book.evaluate(T0, [c])
        await store.record([t], book.raises)
        await store.close()
        return t.alert.id

    alert_id = asyncio.run(record())
    app, floor, _ = build_app(site=site)
    floor.raise_alert(
        alert_id,
        rule="co2_high",
        severity=Severity.WARNING,
        message="CO₂ cao",
        zone_id="f2-waiting",
    )
    headers = {"Authorization": "Bearer " + TOKENS[Role.VIEWER]}
    with TestClient(app) as client:
        r = client.get(f"/api/v1/alerts/{alert_id}/notifications", headers=headers)
        assert r.status_code == 200, r.text
        rows = r.json()
        assert [(d["channel"], d["kind"], d["state"], d["attempts"]) for d in rows] == [
            ("hook", "raised", "queued", 0),
            ("lead", "escalated", "queued", 0),
        ]
        assert rows[1]["due_at"] == "2026-12-01T02:10:00Z"
        assert rows[0]["sent_at"] is None and rows[0]["reason"] is None
        r = client.get("/api/v1/alerts/co2_high:nowhere:1/notifications", headers=headers)
        assert r.status_code == 404 and r.json()["error"]["code"] == "alert_not_found"
        assert client.get(f"/api/v1/alerts/{alert_id}/notifications").status_code == 401
