"""Local peer processes (mosquitto, InfluxDB 1.x, VictoriaMetrics) on free loopback ports.

Used by ``floorwatch demo`` to bring up a self-contained center and by the test
fixtures to talk to real servers. Each launcher writes its config and data
under a folder it is given and stops what it started.
"""
