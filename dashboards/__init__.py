"""Grafana dashboards as code (see issue 7)."""
