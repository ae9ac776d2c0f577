"""The fleet uplink: a site's zone states, alert transitions and device health to NATS JetStream.

``messages`` is pure (subjects, message ids, payloads); ``uplink`` is the shell
adapter the composition root runs when the site file's ``fleet:`` is enabled.
The design and what is left to build: docs/fleet.md.
"""
