"""Build the outbox and the notifier from the settings (for the composition root). Shell module."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from gateway.notify.notifier import Notifier
from gateway.notify.outbox import Outbox
from gateway.notify.routing import SiteFacts
from gateway.notify.texts import SiteNames
from gateway.settings import Settings


def site_names(settings: Settings) -> SiteNames:
    floors = {f.id: f.name for f in settings.floors}
    return SiteNames(
        site=settings.site.name,
        timezone=settings.site.timezone,
        zones={z.id: (z.name, floors.get(z.floor, "")) for z in settings.zones},
        services={s.id: s.name for s in settings.services},
    )


def site_facts(settings: Settings) -> SiteFacts:
    return SiteFacts(settings.site, {z.id: z.floor for z in settings.zones})


def build_notifications(
    settings: Settings, db_path: Path, clock: Callable[[], datetime]
) -> tuple[Outbox, Notifier] | None:
    """The outbox the alert store queues into and the notifier that sends; None: no channels."""
    cfg = settings.notifications
    if not cfg.enabled or not cfg.channels:
        return None
    outbox = Outbox(cfg, site_facts(settings))
    return outbox, Notifier(cfg, site_names(settings), db_path, outbox, clock)
