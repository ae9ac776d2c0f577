"""A deterministic simulated day at a service center, published over MQTT.

``model`` (pure) runs visitors, the ticket queue and the zone climate and says
what each configured sensor reports; ``payloads`` (pure) encodes a reading in
its decoder family's wire format; ``publisher`` drives the model in simulated
time and publishes with paho-mqtt.
"""
