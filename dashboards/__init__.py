"""Grafana dashboards as code (see issue 7)."""

# floorwatch_main checks this mark at start: the package is floorwatch's, not a namesake.
DISTRIBUTION = "floorwatch"
