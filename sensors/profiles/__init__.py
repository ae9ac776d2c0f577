"""Device profiles: devices described as data, compiled into decoder configs at config load.

A site sensor says ``profile: aqara-fp1`` (and its id, zone and device
name); the profile file says which decoder reads the device and how
(sensors/profiles/model.py). ``catalog`` reads profile files (shipped in
``devices/``, or a site's own), ``expand`` makes a site sensor of them,
``cli`` lists and shows them.
"""
