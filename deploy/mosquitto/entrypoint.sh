#!/bin/sh
# Writes mosquitto's password file from compose's secrets, then runs the broker.
#   /run/secrets/mqtt_password   the gateway's password (user $MQTT_USERNAME, floorwatch)
#   /run/secrets/mqtt_devices    the devices' accounts, one NAME:PASSWORD per line
#                                (# comments allowed); NAME as in the ACL file
# mosquitto_passwd stores them hashed; the ACL file (`floorwatch mqtt acl`) says which
# topics each account may use. Started by /floorwatch/start.sh, which has already
# refused placeholder secrets.
set -eu
secrets="${FLOORWATCH_SECRETS_DIR:-/run/secrets}"
dir="${MOSQUITTO_PASSWORDS_DIR:-/mosquitto/passwords}"
mkdir -p "$dir"
umask 077
grep -Ev '^[[:space:]]*(#|$)' "$secrets/mqtt_devices" >"$dir/passwd.new" || true
if grep -Evq '^[^:[:space:]]+:.+$' "$dir/passwd.new"; then
  echo "mqtt_devices: every line must be NAME:PASSWORD" >&2
  exit 78
fi
mosquitto_passwd -U "$dir/passwd.new"
mosquitto_passwd -b "$dir/passwd.new" "${MQTT_USERNAME:-floorwatch}" "$(cat "$secrets/mqtt_password")"
mv "$dir/passwd.new" "$dir/passwd"
if [ "$(id -u)" -eq 0 ] && [ -d /mosquitto/data ]; then  # the image: mosquitto drops to its user
  chown -R mosquitto:mosquitto "$dir" /mosquitto/data
fi
exec mosquitto -c "${MOSQUITTO_CONF:-/mosquitto/config/mosquitto.conf}"
