"""Shared fixtures: real peers are started once per session by the plugins below.

Hypothesis runs derandomized under CI (``CI`` set, as .ci/run is): the same
examples on every run, so a red CI is reproducible and never a dice roll; a
developer's run explores new examples (profile ``dev``). Choose one with
``HYPOTHESIS_PROFILE=ci|dev``.
"""

import os

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
