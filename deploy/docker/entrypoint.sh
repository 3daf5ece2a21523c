#!/bin/sh
# Container entrypoint for every kb service image (see deploy/Dockerfile).
#
# With no arguments it starts the service the image was built for (KB_SERVICE, set from the SERVICE
# build arg); with arguments it runs them instead (e.g. `docker compose run --rm search node -v`).
# It always `exec`s, so node replaces this shell and receives SIGTERM/SIGINT directly.
#
# Run the container with an init process as PID 1 (`init: true` in compose, `docker run --init`):
# node as PID 1 gets no default signal handling and does not reap zombies.
set -eu

if [ "$#" -gt 0 ]; then
  exec "$@"
fi

if [ -z "${KB_SERVICE:-}" ]; then
  echo "entrypoint: KB_SERVICE is not set (build with --build-arg SERVICE=<gateway|tenant|ingestion|search|usage>)" >&2
  exit 64
fi

main="/app/services/${KB_SERVICE}/dist/main.js"
if [ ! -f "$main" ]; then
  echo "entrypoint: unknown service '${KB_SERVICE}': $main does not exist" >&2
  exit 64
fi

cd /app
# The Node flags the service's package.json asks for (`kb.nodeOptions`), as every launcher passes them.
flags=$(node -p "(require('/app/services/${KB_SERVICE}/package.json').kb?.nodeOptions ?? []).join(' ')")
# The telemetry preload instruments HTTP, Redis, MongoDB and fetch before the service loads them.
# shellcheck disable=SC2086 # the flags are separate words
exec node $flags --import /app/libs/telemetry/dist/register.js "$main"
