#!/usr/bin/env bash
# The project's Redis testbed: real redis-server processes on 127.0.0.1, all state in one
# folder, no persistence. It kills only the processes it started.
#
#   scripts/redis-testbed.sh start         start every server (about 3 s), print the env
#   scripts/redis-testbed.sh env           print the environment the tests read
#   scripts/redis-testbed.sh check         ping every server through redis-cli
#   scripts/redis-testbed.sh kill-primary  SIGKILL one cluster primary (its replica takes over)
#   scripts/redis-testbed.sh restart-node PORT  start a killed node again (it rejoins as a replica)
#   scripts/redis-testbed.sh stop          stop every server and remove the folder
#
# Servers (ports from AWSMASK_TESTBED_PORT, default 7400):
#   +0        plain, `requirepass`, and an ACL user `awsmask`
#   +1        TLS only (CA and server certificate made here with openssl, EC keys, SANs
#             IP:127.0.0.1 and DNS:localhost), `requirepass`, the same ACL user
#   +10..+15  a 6-node TLS cluster (3 primaries, 3 replicas, tls-cluster, tls-replication,
#             masterauth, the same ACL user, cluster-node-timeout 2000)
# The folder is AWSMASK_TESTBED_DIR (default target/redis-testbed).
set -euo pipefail
cd "$(dirname "$0")/.."
base=${AWSMASK_TESTBED_PORT:-7400}
dir=${AWSMASK_TESTBED_DIR:-$PWD/target/redis-testbed}
# the default user's password, and the ACL user's: with characters that URLs must escape,
# as ElastiCache AUTH tokens have
pass='testbed-pass'
user=awsmask
user_pass='u#s&e$r^<pw>'
user_pass_url='u%23s%26e%24r%5E%3Cpw%3E'

die() { echo "redis-testbed: $*" >&2; exit 1; }

need() { command -v "$1" >/dev/null || die "$1 is missing (apt-get install -y redis-server redis-tools openssl)"; }

cli() { # cli PORT [tls] ARGS...
  local port=$1
  shift
  if [ "${1:-}" = tls ]; then
    shift
    REDISCLI_AUTH=$pass redis-cli --no-auth-warning --tls --cacert "$dir/ca.crt" -h 127.0.0.1 -p "$port" "$@"
  else
    REDISCLI_AUTH=$pass redis-cli --no-auth-warning -h 127.0.0.1 -p "$port" "$@"
  fi
}

certs() {
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 30 -subj "/CN=awsmask testbed CA" -out "$dir/ca.crt" 2>/dev/null
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/server.key" 2>/dev/null
  openssl req -new -key "$dir/server.key" -subj "/CN=localhost" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' > "$dir/san.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 30 -sha256 -extfile "$dir/san.ext" -out "$dir/server.crt" 2>/dev/null
  chmod 600 "$dir"/*.key
}

server() { # server NAME PORT tls|plain [EXTRA...]
  local name=$1 port=$2 mode=$3
  shift 3
  mkdir -p "$dir/$name"
  local args=(--bind 127.0.0.1 --protected-mode no --save "" --appendonly no --requirepass "$pass"
    --daemonize yes --dir "$dir/$name" --pidfile "$dir/$name/redis.pid" --logfile "$dir/$name/redis.log"
    --user "$user" on ">$user_pass" '~*' '&*' '+@all' --user default on ">$pass" '~*' '&*' '+@all')
  if [ "$mode" = tls ]; then
    args+=(--port 0 --tls-port "$port" --tls-cert-file "$dir/server.crt" --tls-key-file "$dir/server.key"
      --tls-ca-cert-file "$dir/ca.crt" --tls-auth-clients no)
  else
    args+=(--port "$port")
  fi
  redis-server "${args[@]}" "$@" || die "redis-server $name did not start (see $dir/$name/redis.log)"
}

cluster_node() { # cluster_node I: start cluster node I (its nodes.conf, if any, rejoins it)
  server "node$1" $((base + 10 + $1)) tls --cluster-enabled yes --cluster-config-file "$dir/node$1/nodes.conf" \
    --cluster-node-timeout 2000 --tls-cluster yes --tls-replication yes --masterauth "$pass" \
    --repl-diskless-sync-delay 0
}

until_cluster_ok() { # until_cluster_ok TRIES [REPLICA_PORT]: every node sees state ok (and
  # the replica on REPLICA_PORT is in sync with its primary); polls every 50 ms
  local ok
  for _ in $(seq 1 "$1"); do
    ok=1
    if [ -n "${2:-}" ]; then
      cli "$2" tls INFO replication 2>/dev/null | grep -q 'master_link_status:up' || ok=0
    fi
    for j in 0 1 2 3 4 5; do
      cli $((base + 10 + j)) tls CLUSTER INFO 2>/dev/null | grep -q 'cluster_state:ok' || ok=0
    done
    [ $ok = 1 ] && return 0
    sleep 0.05
  done
  return 1
}

wait_ping() { # wait_ping PORT [tls]
  for _ in $(seq 1 100); do
    [ "$(cli "$@" PING 2>/dev/null || true)" = PONG ] && return 0
    sleep 0.05
  done
  die "server on port $1 does not answer"
}

print_env() {
  cat <<EOF
export AWSMASK_TEST_REDIS_URL='redis://$user:$user_pass_url@127.0.0.1:$base/0'
export AWSMASK_TEST_REDIS_DEFAULT_URL='redis://default:$pass@127.0.0.1:$base/1'
export AWSMASK_TEST_REDISS_URL='rediss://$user:$user_pass_url@127.0.0.1:$((base + 1))/0'
export AWSMASK_TEST_CLUSTER_URL='rediss+cluster://$user:$user_pass_url@127.0.0.1:$((base + 10)),127.0.0.1:$((base + 11))'
export AWSMASK_TEST_CA_FILE='$dir/ca.crt'
export AWSMASK_TESTBED_DIR='$dir'
EOF
}

case "${1:-}" in
start)
  need redis-server
  need redis-cli
  need openssl
  [ -e "$dir/started" ] && die "already started in $dir (stop it first)"
  rm -rf "$dir"
  mkdir -p "$dir"
  certs
  server plain "$base" plain
  server tls $((base + 1)) tls
  nodes=()
  for i in 0 1 2 3 4 5; do
    port=$((base + 10 + i))
    cluster_node "$i"
    nodes+=("127.0.0.1:$port")
  done
  touch "$dir/started"
  wait_ping "$base"
  wait_ping $((base + 1)) tls
  for i in 0 1 2 3 4 5; do wait_ping $((base + 10 + i)) tls; done
  cli $((base + 10)) tls --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$dir/cluster-create.log" 2>&1 \
    || die "cluster create failed (see $dir/cluster-create.log)"
  until_cluster_ok 200 || die "the cluster did not reach state ok"
  print_env
  ;;
env)
  [ -e "$dir/started" ] || die "not started"
  print_env
  ;;
check)
  [ -e "$dir/started" ] || die "not started"
  [ "$(cli "$base" PING)" = PONG ] || die "plain server down"
  [ "$(REDISCLI_AUTH="$user_pass" redis-cli --no-auth-warning --user "$user" -h 127.0.0.1 -p "$base" PING)" = PONG ] \
    || die "ACL user refused on the plain server"
  [ "$(cli $((base + 1)) tls PING)" = PONG ] || die "TLS server down"
  # any live node will do: a killed primary stays dead
  node=""
  for i in 0 1 2 3 4 5; do
    if [ "$(cli $((base + 10 + i)) tls PING 2>/dev/null || true)" = PONG ]; then
      node=$((base + 10 + i))
      break
    fi
  done
  [ -n "$node" ] || die "no cluster node answers"
  cli "$node" tls CLUSTER INFO | grep -q 'cluster_state:ok' || die "cluster state not ok"
  cli "$node" tls -c SET awsmask:testbed:check 1 >/dev/null || die "cluster write failed"
  [ "$(cli "$node" tls -c GET awsmask:testbed:check)" = 1 ] || die "cluster read failed"
  cli "$node" tls -c DEL awsmask:testbed:check >/dev/null
  echo "redis-testbed: plain, TLS and cluster answer"
  ;;
kill-primary)
  [ -e "$dir/started" ] || die "not started"
  primary=$(cli $((base + 10)) tls CLUSTER NODES | awk '$3 ~ /master/ && $3 !~ /fail/ {split($2, a, "@"); print a[1]; exit}' || true)
  [ -n "$primary" ] || die "no primary found"
  port=${primary##*:}
  for i in 0 1 2 3 4 5; do
    if [ $((base + 10 + i)) = "$port" ]; then
      kill -9 "$(cat "$dir/node$i/redis.pid")"
      echo "$port"
      exit 0
    fi
  done
  die "no primary found"
  ;;
restart-node)
  [ -e "$dir/started" ] || die "not started"
  port=${2:?restart-node needs the port kill-primary printed}
  i=$((port - base - 10))
  [ "$i" -ge 0 ] && [ "$i" -le 5 ] || die "$port is not a cluster node's port"
  [ "$(cli "$port" tls PING 2>/dev/null || true)" = PONG ] && die "node $port is running"
  # not before the cluster marked it failed and its replica took its slots: a node that comes
  # back sooner is still their primary, and empty (no persistence)
  live=$((base + 10 + (i + 1) % 6))
  for _ in $(seq 1 400); do
    cli "$live" tls CLUSTER NODES 2>/dev/null | awk -v n="127.0.0.1:$port" \
      'index($2, n "@") == 1 && $3 ~ /fail/ && $3 !~ /fail\?/ && NF <= 8 {found = 1} END {exit !found}' && break
    sleep 0.05
  done
  cluster_node "$i"
  wait_ping "$port" tls
  # back as a replica of the node that took its place, in sync, and every node sees state ok
  until_cluster_ok 400 "$port" || die "node $port did not rejoin as an in-sync replica"
  echo "$port"
  ;;
stop)
  if [ -d "$dir" ]; then
    for pidfile in "$dir"/*/redis.pid; do
      [ -e "$pidfile" ] || continue
      pid=$(cat "$pidfile" 2>/dev/null) || continue
      # only our own servers: the pid must still be a redis-server started with this folder
      if { tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null | grep -q redis-server; then
        kill "$pid" 2>/dev/null || true
      fi
    done
    for _ in $(seq 1 100); do
      alive=0
      for pidfile in "$dir"/*/redis.pid; do
        [ -e "$pidfile" ] && kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null && alive=1
      done
      [ $alive = 0 ] && break
      sleep 0.05
    done
    rm -rf "$dir"
  fi
  ;;
*)
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
  ;;
esac
