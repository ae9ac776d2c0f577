#!/bin/sh
# Writes mosquitto's password file from the environment, then runs the broker.
# The passwords come from .env (compose.yaml); mosquitto_passwd stores them hashed.
set -eu
: "${MQTT_PASSWORD:?set MQTT_PASSWORD in .env}"
: "${MQTT_DEVICE_PASSWORD:?set MQTT_DEVICE_PASSWORD in .env}"
dir=/mosquitto/passwords
mkdir -p "$dir"
umask 077
mosquitto_passwd -c -b "$dir/passwd" "${MQTT_USERNAME:-floorwatch}" "$MQTT_PASSWORD"
mosquitto_passwd -b "$dir/passwd" "${MQTT_DEVICE_USERNAME:-devices}" "$MQTT_DEVICE_PASSWORD"
chown -R mosquitto:mosquitto "$dir" /mosquitto/data
exec mosquitto -c /mosquitto/config/mosquitto.conf
