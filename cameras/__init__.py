"""ONVIF infrared cameras: client, capture and people counting (see issue 3)."""
