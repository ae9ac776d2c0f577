"""ONVIF infrared cameras: client, capture and people counting (see issue 3)."""

# floorwatch_main checks this mark at start: the package is floorwatch's, not a namesake.
DISTRIBUTION = "floorwatch"
