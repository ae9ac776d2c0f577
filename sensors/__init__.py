"""MQTT sensors: the source adapter, payload decoders per device family, a simulator."""
