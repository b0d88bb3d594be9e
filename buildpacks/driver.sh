#!/bin/bash
# driver.sh BUILDPACK_DIR...: runs in the build container. Each buildpack's
# bin/detect, then bin/compile, in order; the last one's bin/release goes to
# /tmp/release.yml. BUILD_DIR=/app, CACHE_DIR=/cache/<buildpack>, ENV_DIR=/env.
set -eo pipefail
last=""
for bp in "$@"; do
  name=$(basename "$bp")
  if ! detected=$("$bp/bin/detect" /app); then
    echo " !     The buildpack $name does not support this app (its bin/detect refused it)"
    exit 70
  fi
  echo "-----> ${detected:-$name} app detected"
  mkdir -p "/cache/$name"
  if ! "$bp/bin/compile" /app "/cache/$name" /env; then
    echo " !     Push rejected, failed to compile ${detected:-$name} app"
    exit 71
  fi
  last=$bp
done
if [ -x "$last/bin/release" ]; then
  "$last/bin/release" /app > /tmp/release.yml
else
  : > /tmp/release.yml
fi
