#!/usr/bin/env bash
# make bench-router: Wharf's router against nginx on this machine, over
# loopback. A trivial Go backend; interleaved rounds of `wrk -t2 -c64`
# against (a) the backend directly, (b) nginx as a reverse proxy with
# upstream keep-alive, (c) Wharf's router (router/internal/benchrouter,
# one static route; its event-loop front end, as wharfd serves plain HTTP),
# and (d) the same router on net/http alone (as it serves HTTPS, for
# reference); then unloaded (-c1) latency. Prints the medians of
# req/s, p50 and p99, the ratios router/nginx and router/direct, and the
# latency each proxy adds.
# Needs wrk and nginx: WHARF_BENCH_DEPS=1 make deps (or apt-get install wrk nginx-light).
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
BACKEND=127.0.0.1:18081 ROUTER=127.0.0.1:18082 NGINX=127.0.0.1:18083 NETHTTP=127.0.0.1:18084

for bin in wrk nginx go; do
  command -v "$bin" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin command -v "$bin" >/dev/null 2>&1 ||
    { echo "bench-router: $bin is missing; install it with: WHARF_BENCH_DEPS=1 make deps" >&2; exit 1; }
done
NGINX_BIN=$(PATH=$PATH:/usr/sbin command -v nginx)

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/benchrouter" ./router/internal/benchrouter
"$tmp/benchrouter" -backend -listen "$BACKEND" & pids+=($!)
"$tmp/benchrouter" -listen "$ROUTER" -route "$BACKEND" & pids+=($!)
"$tmp/benchrouter" -nethttp -listen "$NETHTTP" -route "$BACKEND" & pids+=($!)

cat >"$tmp/nginx.conf" <<CONF
worker_processes auto;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  upstream app { server $BACKEND; keepalive 128; }
  server {
    listen $NGINX;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Forwarded-Host \$host;
      proxy_set_header X-Forwarded-Port \$server_port;
      proxy_buffering off;
    }
  }
}
CONF
"$NGINX_BIN" -c "$tmp/nginx.conf" -p "$tmp" -e "$tmp/nginx-error.log"

for addr in $BACKEND $ROUTER $NGINX $NETHTTP; do
  for _ in $(seq 50); do curl -fsS -o /dev/null "http://$addr/" 2>/dev/null && break; sleep 0.1; done
  curl -fsS -o /dev/null "http://$addr/" || { echo "bench-router: nothing answers on $addr" >&2; exit 1; }
done

# run NAME ADDR CONNS THREADS SECONDS: one wrk run, appends "rps p50ms p99ms" to $tmp/NAME.
run() {
  wrk -t"$4" -c"$3" -d"$5s" --latency "http://$2/" | awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec/ { rps = $2 }
    $1 == "50.000%" || $1 == "50%" { p50 = ms($2) }
    $1 == "99.000%" || $1 == "99%" { p99 = ms($2) }
    /Non-2xx|Socket errors/ { print "bench-router: " $0 > "/dev/stderr" }
    END { printf "%s %.3f %.3f\n", rps, p50, p99 }' >>"$tmp/$1"
}

# median FILE COLUMN
median() { sort -g -k"$2","$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'; }

echo "warming up..."
for addr in $BACKEND $NGINX $ROUTER $NETHTTP; do wrk -t2 -c64 -d2s "http://$addr/" >/dev/null; done

for r in $(seq "$ROUNDS"); do
  echo "round $r/$ROUNDS: wrk -t2 -c64 -d${DURATION}s"
  run direct "$BACKEND" 64 2 "$DURATION"
  run nginx "$NGINX" 64 2 "$DURATION"
  run router "$ROUTER" 64 2 "$DURATION"
  run nethttp "$NETHTTP" 64 2 "$DURATION"
  run direct1 "$BACKEND" 1 1 3
  run nginx1 "$NGINX" 1 1 3
  run router1 "$ROUTER" 1 1 3
done

echo
printf '%-22s %12s %10s %10s\n' "target (-c64)" "req/s" "p50 ms" "p99 ms"
for t in direct nginx router nethttp; do
  printf '%-22s %12.0f %10.3f %10.3f\n' "$t" "$(median "$tmp/$t" 1)" "$(median "$tmp/$t" 2)" "$(median "$tmp/$t" 3)"
done
d=$(median "$tmp/direct" 1) n=$(median "$tmp/nginx" 1) w=$(median "$tmp/router" 1)
echo
awk -v d="$d" -v n="$n" -v w="$w" 'BEGIN {
  printf "nginx/direct   %.2fx\nrouter/direct  %.2fx\nrouter/nginx   %.2fx\n", n/d, w/d, w/n }'
h=$(median "$tmp/nethttp" 1)
awk -v n="$n" -v h="$h" 'BEGIN { printf "(net/http-only router/nginx %.2fx)\n", h/n }'
d1=$(median "$tmp/direct1" 2) n1=$(median "$tmp/nginx1" 2) w1=$(median "$tmp/router1" 2)
echo
awk -v d="$d1" -v n="$n1" -v w="$w1" 'BEGIN {
  printf "unloaded (-c1) p50: direct %.3f ms; nginx adds %.3f ms, router adds %.3f ms\n", d, n-d, w-d }'
echo "medians of $ROUNDS interleaved rounds; p99 nginx $(median "$tmp/nginx" 3) ms, router $(median "$tmp/router" 3) ms"
