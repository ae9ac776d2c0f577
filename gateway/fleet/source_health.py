"""Which of the central stream's sources look stalled. Pure module.

A healthy source hears from its site's server at least every second (the
source consumer's idle heartbeat), whether or not the site sends anything.
nats-server 2.9.10 can leave a source silent for good after its leaf link
dropped and came back quickly (seen in the fleet tests: five minutes and
more without a retry while the site answered), so the central service
watches: a source silent for longer than ``stall_after_s`` is a *suspect*.
Silence alone does not say stalled — a site whose link is down is silent
too — so the shell asks the site's server (``source_watch``) before it
restarts a suspect. A source restarted, or found unreachable, is left alone
for ``stall_after_s`` before it is a suspect again.

``parse_sources`` reads the sources out of the server's STREAM.INFO answer
(its JSON: nats-py's own type drops ``external``, and the central stream's
sources all share one name, so the domain is the only way to tell them apart).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SourceSeen:
    """One source as the stream's leader reports it."""

    domain: str
    silent_s: float | None  # since it last heard from the site; None: never heard yet
    lag: int  # messages the source knows it has yet to bring (0 when unknown)
    error: str | None = None


def _domain_of(api: object) -> str | None:
    if isinstance(api, str) and api.startswith("$JS.") and api.endswith(".API"):
        return api[len("$JS.") : -len(".API")]
    return None


def parse_sources(info: Mapping[str, Any]) -> list[SourceSeen]:
    """The sources of a STREAM.INFO answer that come from a site domain."""
    out = []
    for src in info.get("sources") or []:
        domain = _domain_of((src.get("external") or {}).get("api"))
        if domain is None:
            continue
        active = src.get("active")
        silent = None if not isinstance(active, int) or active < 0 else active / 1e9
        err = src.get("error")
        reason = err.get("description") if isinstance(err, Mapping) else None
        out.append(SourceSeen(domain, silent, int(src.get("lag") or 0), reason))
    return out


class StallTracker:
    """Remembers, per domain, when a source was first seen never-heard and when it was last
    acted on (restarted, or found unreachable); ``suspects`` are the sources to probe now."""

    def __init__(self, stall_after_s: float) -> None:
        if stall_after_s <= 0:
            raise ValueError("stall_after_s must be positive")
        self.stall_after_s = stall_after_s
        self._unheard_since: dict[str, float] = {}
        self._left_until: dict[str, float] = {}

    def suspects(self, now: float, sources: Sequence[SourceSeen]) -> list[str]:
        present = {s.domain for s in sources}
        for gone in [d for d in self._unheard_since if d not in present]:
            del self._unheard_since[gone]
        for gone in [d for d in self._left_until if d not in present]:
            del self._left_until[gone]
        out = []
        for s in sources:
            if s.silent_s is None:
                silent = now - self._unheard_since.setdefault(s.domain, now)
            else:
                self._unheard_since.pop(s.domain, None)
                silent = s.silent_s
            if silent <= self.stall_after_s:
                continue
            if now < self._left_until.get(s.domain, float("-inf")):
                continue
            out.append(s.domain)
        return out

    def acted(self, domain: str, now: float) -> None:
        """``domain``'s source was restarted or its site did not answer: leave it a while."""
        self._left_until[domain] = now + self.stall_after_s
        if domain in self._unheard_since:
            self._unheard_since[domain] = now
