"""The central stream on the cluster: create it, add, remove or restart a site's source.

Shell module (nats-py). The configuration is
``gateway.fleet.topology.central_stream_config``: no subjects of its own, one
source per site domain. With ``nats.partitions`` above 1 the sites are spread
over that many such streams (gateway.fleet.partitions: ``<stream>``,
``<stream>_1``, ...). ``add_sites`` puts each new site in the partition with the
fewest sources, creating that stream when it is missing or adding the source
to it (JetStream's stream update): adding a site is adding a source, and a
source added later catches up from the site stream's first message. Sources
already there (in any partition) are left where they are; one made before sources
had their site's own delivery prefix (``site_deliver_prefix``) is restarted with it.
``remove_sites`` takes sources out (the messages
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

from gateway.fleet.partitions import partition_names, place
from gateway.fleet.topology import (
    STREAM,
    central_stream_config,
    site_deliver_prefix,
    site_source,
)


@dataclass(frozen=True, slots=True)
class SourcesChange:
    placed: dict[str, tuple[str, ...]]  # stream -> the domains whose source it got now
    present: tuple[str, ...]  # domains that were already sourced
    new_streams: tuple[str, ...] = ()  # the (partition) streams created now
    # present sources set up again with their site's own delivery prefix (sources made
    # before it existed deliver on $JS.S.<random>, which the links no longer allow)
    renewed: tuple[str, ...] = ()

    @property
    def added(self) -> tuple[str, ...]:
        """The domains whose source was added now."""
        return tuple(d for domains in self.placed.values() for d in domains)

    @property
    def created(self) -> bool:
        """A (partition) stream was created now."""
        return bool(self.new_streams)


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


async def partition_infos(
    js: JetStreamContext, name: str = STREAM, partitions: int = 1
) -> dict[str, StreamInfo | None]:
    """Each partition stream's info, None for one not created yet."""
    out: dict[str, StreamInfo | None] = {}
    for stream in partition_names(name, partitions):
        try:
            out[stream] = await js.stream_info(stream)
        except nats.js.errors.NotFoundError:
            out[stream] = None
    return out


async def add_sites(
    js: JetStreamContext,
    domains: Sequence[str],
    *,
    name: str = STREAM,
    partitions: int = 1,
    replicas: int = 3,
    duplicate_window_s: float = 600,
    max_age_days: float = 400,
    site_stream: str = STREAM,
) -> SourcesChange:
    """Source the ``domains`` the central stream lacks: each new one in the partition
    with the fewest sources (gateway.fleet.partitions.place), the partition's stream
    created with it when missing. A domain sourced by any partition stays where it is."""
    infos = await partition_infos(js, name, partitions)
    sourced = {stream: sourced_domains(i) if i else () for stream, i in infos.items()}
    placed = place(domains, sourced)
    created: list[str] = []
    for stream, new in placed.items():
        extra = central_stream_config(
            new,
            name=stream,
            replicas=replicas,
            duplicate_window_s=duplicate_window_s,
            max_age_days=max_age_days,
            site_stream=site_stream,
        )
        info = infos[stream]
        if info is None:
            await js.add_stream(StreamConfig.from_response(extra))
            created.append(stream)
            continue
        config = info.config
        config.sources = [
            *(config.sources or []),
            *(StreamConfig.from_response(extra).sources or []),
        ]
        await js.update_stream(config)
    present = {d for ds in sourced.values() for d in ds}
    renewed = await _renew_prefixes(js, infos, [d for d in domains if d in present])
    return SourcesChange(
        {stream: tuple(new) for stream, new in placed.items()},
        tuple(d for d in dict.fromkeys(domains) if d in present),
        tuple(created),
        renewed,
    )


async def _renew_prefixes(
    js: JetStreamContext, infos: dict[str, StreamInfo | None], domains: Sequence[str]
) -> tuple[str, ...]:
    """Restart these domains' sources that lack their site's delivery prefix, each
    stream's in two updates (``_restart``): they resume after the last message the
    stream holds from their site."""
    wanted = set(domains)
    renewed: list[str] = []
    for stream, seen in infos.items():
        if seen is None:
            continue
        info = await js.stream_info(stream)  # as add_sites left it
        stale: dict[str, str] = {}
        for src in info.config.sources or []:
            domain = _domain_of(src.external.api if src.external else None)
            deliver = src.external.deliver if src.external else None
            if domain in wanted and deliver != site_deliver_prefix(domain):
                stale[domain] = src.name
        if stale:
            renewed += await _restart(js, stream, info, stale)
    return tuple(renewed)


async def remove_sites(
    js: JetStreamContext, domains: Sequence[str], *, name: str = STREAM, partitions: int = 1
) -> tuple[str, ...]:
    """Take these domains' sources out of the central stream (each of its partitions);
    returns the ones it had."""
    removed: list[str] = []
    for info in (await partition_infos(js, name, partitions)).values():
        if info is not None:
            removed += await _remove_from(js, info, domains)
    return tuple(removed)


async def _remove_from(
    js: JetStreamContext, info: StreamInfo, domains: Sequence[str]
) -> tuple[str, ...]:
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
    info = await js.stream_info(name)
    return bool(await _restart(js, name, info, {domain: site_stream}))


async def _restart(
    js: JetStreamContext, name: str, info: StreamInfo, site_streams: dict[str, str]
) -> tuple[str, ...]:
    """Remove these domains' sources (domain -> the site stream's name) and add them
    again, two stream updates whatever their number; the domains it had."""
    removed = await _remove_from(js, info, list(site_streams))
    if not removed:
        return ()
    config = (await js.stream_info(name)).config
    extra = StreamConfig.from_response(
        {"name": name, "sources": [site_source(d, site_streams[d]) for d in removed]}
    )
    config.sources = [*(config.sources or []), *(extra.sources or [])]
    await js.update_stream(config)
    return removed
