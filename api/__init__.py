"""FastAPI service and the control-room page (see issue 5)."""

# floorwatch_main checks this mark at start: the package is floorwatch's, not a namesake.
DISTRIBUTION = "floorwatch"
