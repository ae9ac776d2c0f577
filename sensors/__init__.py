"""MQTT sensors: the source adapter, payload decoders per device family, a simulator."""

# floorwatch_main checks this mark at start: the package is floorwatch's, not a namesake.
DISTRIBUTION = "floorwatch"
