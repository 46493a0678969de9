#!/usr/bin/env bash
# A Voltline cluster on this machine: three `voltline serve` nodes on one PostgreSQL and one Redis,
# HAProxy in front of them for OCPP (WebSocket) and HTTP, and a simulated fleet that the load
# balancer spreads over the nodes. Ctrl-C stops everything.
#   VOLTLINE_DATABASE_URL  PostgreSQL (default postgresql://postgres@127.0.0.1:5432/test)
#   VOLTLINE_REDIS_URL     a Redis of yours; unset, the script runs its own on REDIS_PORT (6380)
#   VOLTLINE_PORT / VOLTLINE_OCPP_PORT  HAProxy's HTTP and OCPP ports (8000, 9000); node n listens
#                          on port+n.   CHARGE_POINTS  the fleet's size (30).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VOLTLINE_VENV:-.venv}
HTTP_PORT=${VOLTLINE_PORT:-8000}
OCPP_PORT=${VOLTLINE_OCPP_PORT:-9000}
CHARGE_POINTS=${CHARGE_POINTS:-30}
RUN=$(mktemp -d -t voltline-cluster.XXXXXX)
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo

need() {  # a Debian package, installed when its command is missing
  command -v "$1" >/dev/null || { $SUDO apt-get install -qy "$2" || { $SUDO apt-get update -q && $SUDO apt-get install -qy "$2"; }; }
}
need haproxy haproxy
[ -n "${VOLTLINE_REDIS_URL:-}" ] || need redis-server redis-server
[ -x "$VENV/bin/voltline" ] || { python3 -m venv "$VENV" && "$VENV/bin/python" -m pip install --quiet -e .; }
voltline="$VENV/bin/voltline"

set -m  # each process in a group of its own: a Ctrl-C reaches the script alone, which stops them once
pids=()
stop() {
  trap - EXIT INT TERM
  echo; echo "stopping..."
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  echo "logs were in $RUN"
}
trap stop EXIT INT TERM

if [ -z "${VOLTLINE_REDIS_URL:-}" ]; then
  redis-server --port "${REDIS_PORT:-6380}" --bind 127.0.0.1 --save "" --appendonly no >"$RUN/redis.log" 2>&1 &
  pids+=($!)
  export VOLTLINE_REDIS_URL="redis://127.0.0.1:${REDIS_PORT:-6380}/0"
fi
export VOLTLINE_DATABASE_URL=${VOLTLINE_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}
export VOLTLINE_SECRET_KEY=${VOLTLINE_SECRET_KEY:-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}
export VOLTLINE_AUTO_REGISTER=true VOLTLINE_LOG_LEVEL=${VOLTLINE_LOG_LEVEL:-WARNING}

"$voltline" migrate
export VOLTLINE_USER_PASSWORD=cluster-demo
"$voltline" user create demo >/dev/null 2>&1 || "$voltline" user password demo >/dev/null
TOKEN=$("$voltline" token create --name cluster-demo | tail -n 1)

nodes=()
for n in 1 2 3; do
  VOLTLINE_NODE_ID=node$n "$voltline" serve --port $((HTTP_PORT + n)) --ocpp-port $((OCPP_PORT + n)) \
    >"$RUN/node$n.log" 2>&1 &
  nodes+=($!)
done
pids+=("${nodes[@]}")

cat >"$RUN/haproxy.cfg" <<EOF
defaults
  mode http
  timeout connect 5s
  timeout client 1h
  timeout server 1h
  timeout tunnel 1h   # WebSockets and event streams stay open
frontend ocpp
  bind 127.0.0.1:$OCPP_PORT
  default_backend ocpp_nodes
backend ocpp_nodes
  balance leastconn
  option httpchk GET /health
$(for n in 1 2 3; do echo "  server node$n 127.0.0.1:$((OCPP_PORT + n)) check port $((HTTP_PORT + n))"; done)
frontend http
  bind 127.0.0.1:$HTTP_PORT
  default_backend http_nodes
backend http_nodes
  balance roundrobin
  option httpchk GET /health
$(for n in 1 2 3; do echo "  server node$n 127.0.0.1:$((HTTP_PORT + n)) check"; done)
EOF

for n in 1 2 3; do  # each node up before the load balancer sends it anything
  until curl -fs "http://127.0.0.1:$((HTTP_PORT + n))/health" >/dev/null; do
    kill -0 "${nodes[n - 1]}" 2>/dev/null || { cat "$RUN/node$n.log"; exit 1; }
    sleep 0.5
  done
done
haproxy -db -f "$RUN/haproxy.cfg" >"$RUN/haproxy.log" 2>&1 &
pids+=($!)
until curl -fs "http://127.0.0.1:$HTTP_PORT/health" >/dev/null; do sleep 0.5; done

"$voltline" simulate --url "ws://127.0.0.1:$OCPP_PORT/ocpp" -n "$CHARGE_POINTS" --prefix CLUSTER- --speed 10 --quiet \
  >"$RUN/simulator.log" 2>&1 &
pids+=($!)
sleep 5
echo
echo "Dashboard: http://127.0.0.1:$HTTP_PORT/  (user demo, password cluster-demo), through HAProxy to any node"
echo "API token: $TOKEN"
echo "OCPP:      ws://127.0.0.1:$OCPP_PORT/ocpp/{chargePointId}"
for n in 1 2 3; do
  echo "node$n: $(curl -fs "http://127.0.0.1:$((HTTP_PORT + n))/health")"
done
echo "Ctrl-C stops everything."
wait
