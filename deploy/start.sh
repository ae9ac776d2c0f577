#!/bin/sh
# start.sh [--env NAME=FILE | --env NAME=FILE#USER]... -- COMMAND [ARG]...
#
# The first process of every compose.yaml service (mounted at /floorwatch/start.sh):
# 1. refuses to start while a secret is still a placeholder: any file in /run/secrets
#    (compose's `secrets:`) that is empty or holds "change-me" (alone, or after the ':'
#    of a NAME:PASSWORD line) stops the container with exit 78 and names the file;
# 2. exports NAME with the content of FILE, for programs that take a secret only from
#    their environment (Grafana's provisioning); FILE#USER takes USER's password from a
#    file of NAME:PASSWORD lines (the device accounts);
# 3. execs COMMAND.
# POSIX sh and grep only: it runs in the mosquitto (busybox), InfluxDB, Grafana and
# floorwatch images alike. Tested by tests/unit/test_compose.py.
set -eu

secrets="${FLOORWATCH_SECRETS_DIR:-/run/secrets}"
die() {
  printf 'floorwatch start: %s\n' "$*" >&2
  exit 78
}

bad=""
for file in "$secrets"/*; do
  [ -f "$file" ] || continue
  if [ ! -s "$file" ] || grep -Eq '(^|:)[[:space:]]*change-me[[:space:]]*$' "$file"; then
    bad="$bad ${file##*/}"
  fi
done
[ -z "$bad" ] || die "refusing to start: placeholder (change-me) or empty secrets in $secrets:$bad; put real values in the files of ./secrets (docs/deploy.md \"First deployment\")"

while [ "$#" -gt 0 ]; do
  case "$1" in
    --env)
      [ "$#" -ge 2 ] || die "--env needs NAME=FILE"
      name="${2%%=*}"
      source="${2#*=}"
      case "$source" in
        *'#'*)
          user="${source##*#}"
          file="${source%#*}"
          [ -r "$file" ] || die "cannot read $file for $name"
          value="$(grep -E "^$user:" "$file" | head -n 1 | cut -d: -f2-)"
          [ -n "$value" ] || die "no line '$user:PASSWORD' in $file for $name"
          ;;
        *)
          [ -r "$source" ] || die "cannot read $source for $name"
          value="$(cat "$source")"
          ;;
      esac
      export "$name=$value"
      shift 2
      ;;
    --)
      shift
      break
      ;;
    *) break ;;
  esac
done
[ "$#" -gt 0 ] || die "no command to start"
exec "$@"
