#!/bin/bash
# Run once by the influxdb:2 image after its initial setup (DOCKER_INFLUXDB_INIT_*),
# with the influx CLI already configured with the admin token.
# Maps the InfluxQL database "floorwatch" (retention policy autogen) to the bucket,
# so that Grafana's InfluxQL datasource and the API's /query history work on 2.x.
set -euo pipefail
bucket="${DOCKER_INFLUXDB_INIT_BUCKET}"
bucket_id="$(influx bucket list --name "$bucket" --hide-headers | awk '{print $1}')"
influx v1 dbrp create --db "${FLOORWATCH_INFLUXQL_DATABASE:-floorwatch}" --rp autogen \
  --bucket-id "$bucket_id" --default
