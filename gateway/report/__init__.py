"""The manager's daily report: figures of one open day as HTML (e-mail) and PDF, with charts.

``model`` (pure) turns the queried figures into a report, ``texts`` holds its words in
Vietnamese and English, ``render`` draws the charts (matplotlib) and writes HTML and PDF,
``reader`` queries InfluxDB through the planning readers, ``cli`` is ``floorwatch report``.
"""
