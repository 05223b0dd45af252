#!/usr/bin/env bash
# The local analytics warehouse: PostgreSQL behind pgbouncer, so redshift_connector (the Redshift driver) can
# reach it. The driver sends Redshift-only startup parameters that PostgreSQL refuses; pgbouncer drops them
# (ignore_startup_parameters) and checks md5 passwords against PostgreSQL's pg_shadow (auth_query), so each
# login role authenticates as it would on Redshift.
#
#   local_warehouse.sh install                          install Debian's pgbouncer if missing (root + apt-get)
#   local_warehouse.sh start [--port 6432] [--dir DIR]  start pgbouncer in front of $PGHOST:$PGPORT
#   local_warehouse.sh stop  [--dir DIR]                stop the pgbouncer started with that DIR
#
# Logins through it need md5 password hashes (SET password_encryption = 'md5' before CREATE/ALTER ROLE ...
# PASSWORD): redshift_connector's SCRAM exchange fails against pgbouncer. PostgreSQL itself is found or
# started by the caller (tests/control_plane/conftest.py starts it with pg_ctlcluster when needed).
set -euo pipefail

cmd="${1:-}"; shift || true
port=6432
dir="${TMPDIR:-/tmp}/lakehouse-warehouse"
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    *) echo "local_warehouse: unknown argument $1" >&2; exit 2 ;;
  esac
done

find_pgbouncer() {
  command -v pgbouncer 2>/dev/null || { [ -x /usr/sbin/pgbouncer ] && echo /usr/sbin/pgbouncer; } || true
}

case "$cmd" in
  install)
    if [ -n "$(find_pgbouncer)" ]; then exit 0; fi
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
      echo "local_warehouse: pgbouncer is missing; install it with: sudo apt-get install -y pgbouncer" >&2
      exit 0
    fi
    echo "local_warehouse: installing pgbouncer with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends pgbouncer >/dev/null
    # the package may start its own service on 6432; this project starts its own instances
    if command -v service >/dev/null 2>&1; then service pgbouncer stop >/dev/null 2>&1 || true; fi
    [ -n "$(find_pgbouncer)" ] || { echo "local_warehouse: pgbouncer still missing after apt-get" >&2; exit 1; }
    ;;
  start)
    bin="$(find_pgbouncer)"
    [ -n "$bin" ] || { echo "local_warehouse: pgbouncer is not installed (run: $0 install)" >&2; exit 1; }
    mkdir -p "$dir"
    cat >"$dir/pgbouncer.ini" <<EOF
[databases]
* = host=${PGHOST:-127.0.0.1} port=${PGPORT:-5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = md5
auth_file = $dir/users.txt
auth_user = ${PGUSER:-postgres}
auth_query = SELECT usename, passwd FROM pg_shadow WHERE usename = \$1
pool_mode = session
ignore_startup_parameters = client_protocol_version,driver_version,os_version,driver_discovery_version,extra_float_digits
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
    echo "\"${PGUSER:-postgres}\" \"\"" >"$dir/users.txt"
    run=("$bin" -d "$dir/pgbouncer.ini")
    if [ "$(id -u)" -eq 0 ]; then
      # pgbouncer refuses to run as root: run it as the PostgreSQL system user
      chown -R postgres "$dir"
      run=(runuser -u postgres -- "${run[@]}")
    fi
    "${run[@]}"
    for _ in $(seq 1 50); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "local_warehouse: pgbouncer on 127.0.0.1:$port (config and log in $dir)" >&2
        exit 0
      fi
      sleep 0.1
    done
    echo "local_warehouse: pgbouncer did not start; see $dir/pgbouncer.log" >&2
    exit 1
    ;;
  stop)
    if [ -f "$dir/pgbouncer.pid" ]; then
      kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
      rm -f "$dir/pgbouncer.pid"
    fi
    ;;
  *)
    echo "usage: $0 install | start [--port N] [--dir DIR] | stop [--dir DIR]" >&2
    exit 2
    ;;
esac
