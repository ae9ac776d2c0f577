"""floorwatch core: settings, observations, hub, storage and the composition root."""
