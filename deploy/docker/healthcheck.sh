#!/bin/sh
# Image-level health check (the Dockerfile's HEALTHCHECK); docker-compose.yml spells the same
# checks out per service. Exit 0 = healthy.
#   gateway:          GET http://127.0.0.1:${KB_GATEWAY_PORT:-8080}/healthz must answer 2xx
#   everything else:  the NATS micro-service must answer $SRV.PING.<service>
#                     (libs/runtime/dist/healthcheck.js, using KB_NATS_URL)
set -eu

case "${KB_SERVICE:-}" in
  "")
    echo "healthcheck: KB_SERVICE is not set" >&2
    exit 1
    ;;
  gateway)
    exec node -e "fetch('http://127.0.0.1:${KB_GATEWAY_PORT:-8080}/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
    ;;
  *)
    exec node /app/libs/runtime/dist/healthcheck.js "$KB_SERVICE"
    ;;
esac
