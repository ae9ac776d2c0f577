"""The central stream on the cluster: create it, add, remove or restart a site's source.

Shell module (nats-py). The configuration is
``gateway.fleet.topology.central_stream_config``: no subjects of its own, one
source per site domain. ``add_sites`` creates the stream with those sources
when it is missing, or adds the missing ones to the existing stream
(JetStream's stream update): adding a site is adding a source, and a source
added later catches up from the site stream's first message. Sources already
there are left as they are. ``remove_sites`` takes sources out (the messages
they brought stay). ``restart_source`` removes a source and adds it again,
two updates: nats-server then sets the new source up from the last message
the stream holds from that site (the ``Nats-Stream-Source`` header sourcing
writes), so it resumes where it stopped; ``gateway.fleet.source_watch`` uses
it on a source the engine left stalled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import StreamConfig, StreamInfo

from gateway.fleet.topology import STREAM, central_stream_config, site_source


@dataclass(frozen=True, slots=True)
class SourcesChange:
    created: bool
    added: tuple[str, ...]  # domains whose source was added now
    present: tuple[str, ...]  # domains that were already sourced


def _domain_of(api: str | None) -> str | None:
    """``$JS.<domain>.API`` -> ``<domain>``."""
    if api and api.startswith("$JS.") and api.endswith(".API"):
        return api[len("$JS.") : -len(".API")]
    return None


def sourced_domains(info: StreamInfo) -> tuple[str, ...]:
    """The site domains a stream sources, in its order."""
    out = []
    for src in info.config.sources or []:
        domain = _domain_of(src.external.api if src.external else None)
        if domain is not None:
            out.append(domain)
    return tuple(out)


async def add_sites(
    js: JetStreamContext,
    domains: Sequence[str],
    *,
    name: str = STREAM,
    replicas: int = 3,
    duplicate_window_s: float = 600,
    max_age_days: float = 400,
    site_stream: str = STREAM,
) -> SourcesChange:
    """Create the central stream sourcing ``domains``, or add the ones it lacks."""
    try:
        info = await js.stream_info(name)
    except nats.js.errors.NotFoundError:
        wanted = central_stream_config(
            list(dict.fromkeys(domains)),
            name=name,
            replicas=replicas,
            duplicate_window_s=duplicate_window_s,
            max_age_days=max_age_days,
            site_stream=site_stream,
        )
        await js.add_stream(StreamConfig.from_response(wanted))
        return SourcesChange(True, tuple(dict.fromkeys(domains)), ())
    present = sourced_domains(info)
    new = [d for d in dict.fromkeys(domains) if d not in present]
    if new:
        extra = central_stream_config(new, name=name, site_stream=site_stream)
        config = info.config
        config.sources = [
            *(config.sources or []),
            *(StreamConfig.from_response(extra).sources or []),
        ]
        await js.update_stream(config)
    return SourcesChange(False, tuple(new), tuple(d for d in domains if d in present))


async def remove_sites(
    js: JetStreamContext, domains: Sequence[str], *, name: str = STREAM
) -> tuple[str, ...]:
    """Take these domains' sources out of the central stream; returns the ones it had."""
    info = await js.stream_info(name)
    gone = set(domains)
    config = info.config
    kept = [
        src
        for src in config.sources or []
        if _domain_of(src.external.api if src.external else None) not in gone
    ]
    removed = tuple(d for d in sourced_domains(info) if d in gone)
    if removed:
        config.sources = kept
        await js.update_stream(config)
    return removed


async def restart_source(
    js: JetStreamContext, domain: str, *, name: str = STREAM, site_stream: str = STREAM
) -> bool:
    """Remove ``domain``'s source and add it again (it resumes after the last message the
    stream holds from it). False: the stream does not source that domain."""
    if not await remove_sites(js, [domain], name=name):
        return False
    info = await js.stream_info(name)
    config = info.config
    extra = StreamConfig.from_response(
        {"name": name, "sources": [site_source(domain, site_stream)]}
    )
    config.sources = [*(config.sources or []), *(extra.sources or [])]
    await js.update_stream(config)
    return True
