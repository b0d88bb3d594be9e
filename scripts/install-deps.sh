#!/usr/bin/env bash
# Installs on Debian/Ubuntu what Wharf and its tests need and is missing:
# git, the OpenSSH client, Postgres server binaries, a static busybox (for
# the locally made test base image) and the Docker Engine. Run as root.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
pg_bin() { have initdb || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }

have git || need+=(git)
have ssh || need+=(openssh-client)
have ssh-keygen || need+=(openssh-client)
pg_bin || need+=(postgresql)
{ [ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q static; } || need+=(busybox-static)
have file || need+=(file)
have docker || need+=(docker.io)
have make || need+=(make)
have openssl || need+=(openssl)
have chromium || need+=(chromium) # the dashboard's browser tests
{ have debootstrap || [ -x /usr/sbin/debootstrap ]; } || need+=(debootstrap) # the buildpack stack's base image
# Optional group, only for `make bench-router` (not for `make test`): WHARF_BENCH_DEPS=1.
if [ "${WHARF_BENCH_DEPS:-}" = 1 ]; then
  have wrk || need+=(wrk)
  have nginx || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
fi

if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  echo "the Docker Engine is not running: start it (e.g. 'service docker start' or 'dockerd &')" >&2
  exit 1
fi
echo "dependencies ready"
