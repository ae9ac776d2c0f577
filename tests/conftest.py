"""Shared fixtures: real peers are started once per session by the plugins below.

Hypothesis runs derandomized under CI (``CI`` set, as .ci/run is): the same
examples on every run, so a red CI is reproducible and never a dice roll; a
developer's run explores new examples (profile ``dev``). Choose one with
``HYPOTHESIS_PROFILE=ci|dev``.
"""

import logging
import os
from collections.abc import Iterator

import pytest
import structlog
from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev")
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)

pytest_plugins = [
    "tests.peers.mosquitto",
    "tests.peers.influxdb1",
    "tests.peers.victoriametrics",
    "tests.peers.rtsp",
    "tests.peers.certs",
    "tests.peers.nats",
]


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """Logging set up by a test (a CLI run in-process) does not outlive it.

    ``configure_logging`` binds structlog and the root handler to the streams of
    the moment; after a CliRunner test those are closed, and the next test's first
    log line would raise "I/O operation on closed file".
    """
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.configure(**saved)
    root.handlers[:] = handlers
    root.setLevel(level)
