#!/usr/bin/env bash
# Starts, stops and reports a PostgreSQL and a Redis server for local
# development. Both listen on 127.0.0.1 only and keep data and logs in RUN_DIR.
#
# Usage: scripts/services.sh start|stop|status
#
# Environment:
#   RUN_DIR     directory for data, logs and PID files (default: .run in the
#               repository root)
#   PGPORT      PostgreSQL TCP port (default: 5432)
#   REDIS_PORT  Redis TCP port (default: 6379)
#
# As root, the script installs missing packages with apt-get and runs
# PostgreSQL as the postgres system user, because PostgreSQL does not run as
# root. status exits with 0 when both servers run and with 3 otherwise.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="${RUN_DIR:-$repo_root/.run}"
PGPORT="${PGPORT:-5432}"
REDIS_PORT="${REDIS_PORT:-6379}"
if [[ -d "$RUN_DIR" ]]; then
	RUN_DIR="$(cd "$RUN_DIR" && pwd)"
fi
database_name="eventpulse"
stop_timeout_seconds=10

log() {
	printf 'services: %s\n' "$*"
}

fail() {
	printf 'services: error: %s\n' "$*" >&2
	exit 1
}

is_root() {
	[[ "$(id -u)" -eq 0 ]]
}

# Runs apt-get install for the named packages, and runs apt-get update first
# if the install fails because the package lists are stale or missing.
apt_install() {
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y "$@"; then
		apt-get update
		apt-get install -y "$@"
	fi
}

# Prints the newest /usr/lib/postgresql/VERSION/bin with initdb and pg_ctl, or
# else the directory of initdb on PATH. Returns 1 if neither exists.
find_pg_bin() {
	local dir initdb_path
	while read -r dir; do
		if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
			printf '%s\n' "$dir"
			return 0
		fi
	done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t / -k 5 -V -r)

	if initdb_path="$(command -v initdb)"; then
		dirname "$initdb_path"
		return 0
	fi
	return 1
}

ensure_postgres_installed() {
	if pg_bin="$(find_pg_bin)"; then
		return 0
	fi

	if ! is_root; then
		fail "PostgreSQL (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin or PATH. Install it, for example with 'sudo apt-get install -y postgresql'."
	fi

	log "installing PostgreSQL with apt-get"
	apt_install postgresql
	pg_bin="$(find_pg_bin)" || fail "PostgreSQL binaries not found after 'apt-get install -y postgresql'"
}

ensure_redis_installed() {
	if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
		return 0
	fi

	if ! is_root; then
		fail "redis-server or redis-cli not found on PATH. Install them, for example with 'sudo apt-get install -y redis-server'."
	fi

	log "installing Redis with apt-get"
	apt_install redis-server
}

# Runs a command as the postgres system user when this script runs as root,
# and as the current user otherwise.
as_postgres() {
	if is_root; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# Makes RUN_DIR absolute and creates the directories and log files. As root,
# the PostgreSQL paths belong to the postgres user.
prepare_run_dir() {
	mkdir -p "$RUN_DIR"
	RUN_DIR="$(cd "$RUN_DIR" && pwd)"
	mkdir -p "$RUN_DIR/pg" "$RUN_DIR/pgsock" "$RUN_DIR/redis"
	chmod 0700 "$RUN_DIR/pg"
	touch "$RUN_DIR/pg.log"

	if is_root; then
		chmod 0755 "$RUN_DIR"
		chown postgres:postgres "$RUN_DIR/pg" "$RUN_DIR/pgsock" "$RUN_DIR/pg.log"
		if ! runuser -u postgres -- test -w "$RUN_DIR/pgsock"; then
			fail "the postgres user cannot write to $RUN_DIR/pgsock because a parent directory is not searchable by it. Set RUN_DIR to a directory such as /tmp/eventpulse-run."
		fi
	fi
}

# Prints the port in the postmaster.pid file of the data directory.
pg_running_port() {
	sed -n 4p "$RUN_DIR/pg/postmaster.pid" 2>/dev/null
}

pg_is_running() {
	[[ -n "${pg_bin:-}" && -f "$RUN_DIR/pg/PG_VERSION" ]] &&
		as_postgres "$pg_bin/pg_ctl" -D "$RUN_DIR/pg" status >/dev/null 2>&1
}

start_postgres() {
	if [[ ! -f "$RUN_DIR/pg/PG_VERSION" ]]; then
		log "initializing PostgreSQL data directory $RUN_DIR/pg"
		as_postgres "$pg_bin/initdb" -D "$RUN_DIR/pg" -A trust -U postgres -E UTF8 --locale=C >"$RUN_DIR/initdb.log" 2>&1 ||
			fail "initdb failed, see $RUN_DIR/initdb.log: $(tail -n 5 "$RUN_DIR/initdb.log")"
	fi

	if pg_is_running; then
		PGPORT="$(pg_running_port)"
		log "PostgreSQL is already running on 127.0.0.1:$PGPORT"
		return 0
	fi

	log "starting PostgreSQL on 127.0.0.1:$PGPORT"
	if ! as_postgres "$pg_bin/pg_ctl" -D "$RUN_DIR/pg" -l "$RUN_DIR/pg.log" -w -t 60 \
		-o "-p $PGPORT -c listen_addresses=127.0.0.1 -k '$RUN_DIR/pgsock'" start >/dev/null; then
		tail -n 10 "$RUN_DIR/pg.log" >&2
		fail "PostgreSQL did not start, see $RUN_DIR/pg.log. If port $PGPORT is in use, set PGPORT to another port."
	fi
}

psql_admin() {
	"$pg_bin/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"
}

create_database() {
	local exists
	exists="$(psql_admin -c "select 1 from pg_database where datname = '$database_name'")"
	if [[ "$exists" == "1" ]]; then
		return 0
	fi

	log "creating database $database_name"
	psql_admin -c "create database $database_name"
}

# Prints the PID in the Redis PID file if that process is a running
# redis-server, so that an unrelated process that reuses the PID is not
# signaled.
redis_pid() {
	local pid
	pid="$(cat "$RUN_DIR/redis.pid" 2>/dev/null)" || return 1
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	[[ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" == *redis-server* ]] || return 1
	printf '%s\n' "$pid"
}

redis_running_port() {
	cat "$RUN_DIR/redis.port" 2>/dev/null
}

start_redis() {
	if redis_pid >/dev/null; then
		REDIS_PORT="$(redis_running_port)"
		log "Redis is already running on 127.0.0.1:$REDIS_PORT"
		return 0
	fi

	# No redis-server runs with this PID file, so the file is stale.
	rm -f "$RUN_DIR/redis.pid"

	local log_offset=0
	if [[ -f "$RUN_DIR/redis.log" ]]; then
		log_offset="$(stat -c %s "$RUN_DIR/redis.log")"
	fi

	log "starting Redis on 127.0.0.1:$REDIS_PORT"
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$RUN_DIR/redis" \
		--appendonly yes --daemonize yes \
		--pidfile "$RUN_DIR/redis.pid" --logfile "$RUN_DIR/redis.log"
	printf '%s\n' "$REDIS_PORT" >"$RUN_DIR/redis.port"

	wait_for_redis "$log_offset" || {
		tail -n 10 "$RUN_DIR/redis.log" >&2
		fail "Redis failed to start on 127.0.0.1:$REDIS_PORT, see $RUN_DIR/redis.log. If the port is in use, set REDIS_PORT to another port."
	}
}

# Waits up to 10 seconds for PING to succeed. log_offset is the size of
# redis.log before the start.
wait_for_redis() {
	local log_offset="$1" attempt
	for attempt in $(seq 1 100); do
		if [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == "PONG" ]] && redis_pid >/dev/null; then
			return 0
		fi
		# The daemonized server leaves no process to wait for, so its log is
		# the early sign of a failed start. Redis 7.0 logs "Failed listening
		# on port N (TCP), aborting." when the port is in use.
		if [[ "$(tail -c "+$((log_offset + 1))" "$RUN_DIR/redis.log" 2>/dev/null)" == *aborting* ]]; then
			return 1
		fi
		sleep 0.1
	done
	return 1
}

stop_postgres() {
	if ! pg_is_running; then
		log "PostgreSQL is not running"
		return 0
	fi

	log "stopping PostgreSQL"
	as_postgres "$pg_bin/pg_ctl" -D "$RUN_DIR/pg" -m fast -w -t "$stop_timeout_seconds" stop >/dev/null
}

stop_redis() {
	local pid attempt
	if ! pid="$(redis_pid)"; then
		log "Redis is not running"
		return 0
	fi

	log "stopping Redis (pid $pid)"
	kill -TERM "$pid"
	for attempt in $(seq 1 $((stop_timeout_seconds * 10))); do
		if ! kill -0 "$pid" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	fail "Redis (pid $pid) did not exit within ${stop_timeout_seconds}s after SIGTERM"
}

print_urls() {
	printf 'DATABASE_URL=postgres://postgres@127.0.0.1:%s/%s?sslmode=disable\n' "$PGPORT" "$database_name"
	printf 'REDIS_URL=redis://127.0.0.1:%s/0\n' "$REDIS_PORT"
}

command_start() {
	ensure_postgres_installed
	ensure_redis_installed
	prepare_run_dir

	start_postgres
	create_database

	start_redis

	print_urls
}

command_stop() {
	pg_bin="$(find_pg_bin)" || true
	stop_postgres
	stop_redis
}

command_status() {
	local status=0 pid
	pg_bin="$(find_pg_bin)" || true

	if pg_is_running; then
		log "PostgreSQL: running on 127.0.0.1:$(pg_running_port) (data $RUN_DIR/pg)"
	else
		log "PostgreSQL: stopped"
		status=3
	fi

	if pid="$(redis_pid)"; then
		log "Redis: running on 127.0.0.1:$(redis_running_port) (pid $pid, data $RUN_DIR/redis)"
	else
		log "Redis: stopped"
		status=3
	fi

	return "$status"
}

main() {
	case "${1:-}" in
	start) command_start ;;
	stop) command_stop ;;
	status) command_status ;;
	*)
		printf 'Usage: %s start|stop|status\n' "$0" >&2
		exit 2
		;;
	esac
}

main "$@"
