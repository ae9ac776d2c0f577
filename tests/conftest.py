"""Shared fixtures: real peers are started once per session by the plugins below."""

pytest_plugins = [
    "tests.peers.mosquitto",
    "tests.peers.influxdb1",
    "tests.peers.victoriametrics",
    "tests.peers.rtsp",
    "tests.peers.certs",
]
