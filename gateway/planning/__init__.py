"""Planning: arrivals forecast, staffing plan (Erlang C) and HVAC advice (docs/planning.md).

Pure modules: ``erlang``, ``forecast``, ``staffing``, ``hvac``. Shell: ``history``
(InfluxQL over HTTP), ``service`` (``PlanningService``), ``cli`` (``floorwatch plan``).
"""
