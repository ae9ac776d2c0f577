"""floorwatch core: settings, observations, hub, storage and the composition root."""

# floorwatch_main checks this mark at start: the package is floorwatch's, not a namesake.
DISTRIBUTION = "floorwatch"
