# Shared by bin/dev and bin/test: idempotent setup steps, each a no-op when already done.
# shellcheck shell=bash

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
warn() { printf '\033[33mWarning: %s\033[0m\n' "$*" >&2; }
die() {
    printf '\033[31mError: %s\033[0m\n' "$*" >&2
    exit "${2:-1}"
}

is_root() { [ "$(id -u)" = 0 ]; }

# Root on Debian/Ubuntu: missing system packages can be installed here and now.
can_apt() { is_root && command -v apt-get >/dev/null 2>&1; }

APT_UPDATED=""
# apt_install PACKAGE...: apt-get install (root only), with one `apt-get update` per run before it.
apt_install() {
    [ $# -gt 0 ] || return 0
    say "Installing with apt-get: $*"
    if [ -z "$APT_UPDATED" ]; then
        apt-get update -qq
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# The first Python 3.11+ on PATH (python3 first, then explicit versions).
find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3 python3.13 python3.12 python3.11; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

# .venv with uv in it, synced to uv.lock (runtime and dev dependencies).
ensure_venv() {
    if [ ! -x .venv/bin/python ]; then
        if can_apt && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
            apt_install python3-venv
        fi
        local python
        python=$(find_python) || die "Python 3.11 or newer is required (python3 --version says: $(python3 --version 2>&1))."
        say "Creating .venv with $python"
        if ! "$python" -m venv .venv; then
            rm -rf .venv
            die "Could not create .venv. On Debian/Ubuntu: sudo apt-get install python3-venv"
        fi
    fi
    if [ ! -x .venv/bin/uv ]; then
        say "Installing uv into .venv"
        .venv/bin/pip install --quiet --disable-pip-version-check uv
    fi
    # --frozen: install exactly what uv.lock says, never re-resolve. uv keeps itself and pip installed.
    UV_PROJECT_ENVIRONMENT=.venv .venv/bin/uv sync --frozen --quiet
}

ensure_npm() {
    command -v npm >/dev/null 2>&1 && return 0
    if can_apt; then
        # Node.js and npm are checked by command: a NodeSource nodejs bundles npm and conflicts with Debian's.
        if command -v node >/dev/null 2>&1; then apt_install npm; else apt_install nodejs npm; fi
        command -v npm >/dev/null 2>&1 && return 0
    fi
    die "npm is needed to fetch the front-end libraries (htmx, ECharts, hls.js).
Install Node.js with npm, e.g. on Debian/Ubuntu: sudo apt-get install nodejs npm
then run this command again."
}

VENDOR_FILES=(static/vendor/htmx.min.js static/vendor/echarts.min.js static/vendor/hls.min.js
    static/vendor/zxing-wasm-reader.js static/vendor/zxing_reader.wasm)

# node_modules from package-lock.json, then static/vendor/ from node_modules (both git-ignored).
ensure_static() {
    # npm writes node_modules/.package-lock.json on install; older than the lock file means stale.
    if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
        ensure_npm
        say "Installing front-end packages (npm ci)"
        npm ci --no-audit --no-fund --loglevel=error
    fi
    local file
    for file in "${VENDOR_FILES[@]}"; do
        if [ ! -f "$file" ] || [ node_modules/.package-lock.json -nt "$file" ]; then
            ensure_npm
            say "Building static/vendor (npm run build)"
            npm run --silent build
            break
        fi
    done
}

compile_translations() {
    .venv/bin/python manage.py compiletranslations >/dev/null
}

# --- Services for the tests: PostgreSQL and Redis ----------------------------------------------

# parse_url URL: sets URL_SCHEME, URL_USER, URL_PASSWORD, URL_HOST, URL_PORT and URL_REST (the path and
# query after the first "/"). Percent-escapes stay as written.
parse_url() {
    local rest=${1#*://} auth=""
    URL_SCHEME=${1%%://*}
    URL_REST=""
    if [[ $rest == */* ]]; then
        URL_REST=${rest#*/}
        rest=${rest%%/*}
    fi
    if [[ $rest == *@* ]]; then
        auth=${rest%@*}
        rest=${rest##*@}
    fi
    URL_USER=${auth%%:*}
    URL_PASSWORD=""
    if [[ $auth == *:* ]]; then URL_PASSWORD=${auth#*:}; fi
    URL_PORT=""
    if [[ $rest == \[* ]]; then # [::1]:5432
        URL_HOST=${rest%%]*}
        URL_HOST=${URL_HOST#[}
        rest=${rest#*]}
        URL_PORT=${rest#:}
    else
        URL_HOST=${rest%%:*}
        if [[ $rest == *:* ]]; then URL_PORT=${rest##*:}; fi
    fi
}

# The URL parse_url last read, with another port.
url_with_port() {
    local auth="" host=$URL_HOST
    if [ -n "$URL_USER" ]; then auth="$URL_USER${URL_PASSWORD:+:$URL_PASSWORD}@"; fi
    if [[ $host == *:* ]]; then host="[$host]"; fi
    printf '%s://%s%s:%s/%s' "$URL_SCHEME" "$auth" "$host" "$1" "$URL_REST"
}

is_local_host() {
    case "$1" in "" | 127.0.0.1 | localhost | ::1) return 0 ;; *) return 1 ;; esac
}

# Does anything accept TCP connections at HOST PORT?
tcp_open() {
    # shellcheck disable=SC2016  # expanded by the inner bash
    timeout 3 bash -c ': >"/dev/tcp/$1/$2"' _ "${1:-127.0.0.1}" "$2" 2>/dev/null
}

wait_for_tcp() { # HOST PORT WHAT
    local _
    for _ in $(seq 60); do
        tcp_open "$1" "$2" && return 0
        sleep 0.5
    done
    die "$3 did not come up on $1:$2 within 30 s."
}

# A free TCP port on 127.0.0.1 (the kernel's pick).
free_port() {
    .venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Could a server listen on HOST PORT? (With SO_REUSEADDR, as servers bind: closed connections
# lingering in TIME_WAIT do not count.)
port_free() {
    .venv/bin/python - "$1" "$2" 2>/dev/null <<'PY'
import socket
import sys

with socket.socket() as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], int(sys.argv[2])))
PY
}

# Commands to run when the script exits (private servers to stop), newest first.
CLEANUPS=()
on_exit() { CLEANUPS=("$1" "${CLEANUPS[@]}"); }
run_cleanups() {
    local command
    for command in "${CLEANUPS[@]}"; do eval "$command" || true; done
    CLEANUPS=()
}

# Throwaway servers of a non-root run live in PRIVATE_DIR, one folder per run (var/ is git-ignored).
PRIVATE_DIR=""
make_private_dir() {
    [ -z "$PRIVATE_DIR" ] || return 0
    PRIVATE_DIR=$PWD/var/test-services/$$
    rm -rf "$PRIVATE_DIR"
    mkdir -p "$PRIVATE_DIR"
    # shellcheck disable=SC2016  # expanded when the script exits
    on_exit 'rm -rf "$PRIVATE_DIR"; rmdir "$PWD/var/test-services" 2>/dev/null'
}

# The folder with initdb and pg_ctl: PATH first, then Debian's /usr/lib/postgresql/<newest>/bin.
postgres_bindir() {
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v pg_ctl)"
        return 0
    fi
    local dir
    # shellcheck disable=SC2012  # version folders are plain numbers
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$dir" ] && [ -x "$dir/initdb" ] && printf '%s' "$dir"
}

MISSING_SERVERS=()

# PostgreSQL at DATABASE_URL, started when nothing answers there and the host is this machine:
# as root the system's own cluster (installed with apt-get if need be, left running, as a CI machine
# wants), otherwise a throwaway instance under var/ that stops when the script exits.
ensure_postgres() {
    parse_url "$DATABASE_URL"
    local host=${URL_HOST:-127.0.0.1} port=${URL_PORT:-5432}
    if tcp_open "$host" "$port"; then
        if is_root && is_local_host "$host"; then ensure_postgres_role "$port"; fi
        return 0
    fi
    is_local_host "$host" || return 0 # someone else's server: the connection check reports it
    if is_root; then
        start_system_postgres "$host" "$port"
        ensure_postgres_role "$port"
    else
        start_private_postgres "$host" "$port"
    fi
}

start_system_postgres() { # HOST PORT
    command -v pg_ctlcluster >/dev/null 2>&1 || apt_install postgresql
    tcp_open "$1" "$2" && return 0 # the package's own start did it
    local cluster version
    cluster=$(pg_lsclusters --no-header | awk -v port="$2" '$3 == port { print $1, $2; exit }')
    if [ -z "$cluster" ]; then
        # shellcheck disable=SC2012  # version folders are plain numbers
        version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
        if pg_lsclusters --no-header | awk -v v="$version" '$1 == v && $2 == "main" { found = 1 } END { exit !found }'; then
            cluster="$version groupbuy$2"
        else
            cluster="$version main"
        fi
        say "Creating the PostgreSQL cluster $cluster on port $2"
        # shellcheck disable=SC2086  # "version name"
        pg_createcluster --port "$2" $cluster >/dev/null
    fi
    say "Starting PostgreSQL (cluster $cluster)"
    # shellcheck disable=SC2086  # "version name"
    pg_ctlcluster --skip-systemctl-redirect $cluster start
    wait_for_tcp "$1" "$2" PostgreSQL
}

# The role DATABASE_URL logs in as (groupbuy/groupbuy by default), created in the local cluster on
# PORT when it is missing, with CREATEDB so pytest-django can make its test database.
ensure_postgres_role() { # PORT
    [ -n "$URL_USER" ] && id postgres >/dev/null 2>&1 && command -v psql >/dev/null 2>&1 || return 0
    local exists
    # psql interpolates :'role' in what it reads from stdin (not in -c).
    exists=$(cd / && runuser -u postgres -- psql -p "$1" -tAq -v role="$URL_USER" \
        <<<"SELECT 1 FROM pg_roles WHERE rolname = :'role';" 2>/dev/null) ||
        return 0 # not a cluster of this machine's postgres user: the connection check reports it
    [ "$exists" = 1 ] && return 0
    say "Creating the PostgreSQL role $URL_USER (LOGIN CREATEDB)"
    (cd / && runuser -u postgres -- psql -p "$1" -q -v ON_ERROR_STOP=1 -v role="$URL_USER" -v password="$URL_PASSWORD") \
        <<<"CREATE ROLE :\"role\" LOGIN CREATEDB PASSWORD :'password';"
}

start_private_postgres() { # HOST PORT
    local bindir dir port=$2
    if ! bindir=$(postgres_bindir); then
        MISSING_SERVERS+=(postgresql)
        return 0
    fi
    make_private_dir
    dir=$PRIVATE_DIR/pg
    # The configured port unless something else holds it.
    port_free "$1" "$port" || port=$(free_port)
    say "Starting a private PostgreSQL for this run on $1:$port (data in ${dir#"$PWD"/})"
    # The test role is the instance's own superuser, trusted from this machine: no password needed.
    "$bindir/initdb" -D "$dir" -U "${URL_USER:-groupbuy}" --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
        --no-sync >"$dir.log" 2>&1 || die "initdb failed:
$(cat "$dir.log")"
    cat >>"$dir/postgresql.conf" <<CONF
listen_addresses = '$1'
port = $port
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
    "$bindir/pg_ctl" -D "$dir" -l "$dir.log" -w -t 60 start >/dev/null || die "PostgreSQL did not start:
$(tail -n 20 "$dir.log")"
    on_exit "\"$bindir/pg_ctl\" -D \"$dir\" -m immediate stop >/dev/null 2>&1"
    DATABASE_URL=$(url_with_port "$port")
    export DATABASE_URL
}

# Redis at REDIS_URL, started when nothing answers there and the host is this machine: as root a
# daemon left running (redis-server installed with apt-get if need be), otherwise a throwaway one
# under var/ that stops when the script exits.
ensure_redis() {
    parse_url "$REDIS_URL"
    local host=${URL_HOST:-127.0.0.1} port=${URL_PORT:-6379} dir
    if [ "$host" = localhost ]; then host=127.0.0.1; fi # redis-server binds addresses, not names
    tcp_open "$host" "$port" && return 0
    is_local_host "$host" || return 0
    if is_root; then
        command -v redis-server >/dev/null 2>&1 || apt_install redis-server
        tcp_open "$host" "$port" && return 0
        say "Starting Redis on $host:$port"
        redis-server --daemonize yes --bind "$host" --port "$port" --save "" --appendonly no >/dev/null
        wait_for_tcp "$host" "$port" Redis
        return 0
    fi
    if ! command -v redis-server >/dev/null 2>&1; then
        MISSING_SERVERS+=(redis-server)
        return 0
    fi
    [ ${#MISSING_SERVERS[@]} -eq 0 ] || return 0 # no run this time: start nothing
    port_free "$host" "$port" || port=$(free_port)
    make_private_dir
    dir=$PRIVATE_DIR/redis
    mkdir -p "$dir"
    say "Starting a private Redis for this run on $host:$port"
    redis-server --daemonize yes --bind "$host" --port "$port" --dir "$dir" --pidfile "$dir/redis.pid" \
        --logfile "$dir/redis.log" --save "" --appendonly no >/dev/null
    on_exit "kill \$(cat \"$dir/redis.pid\" 2>/dev/null) 2>/dev/null"
    wait_for_tcp "$host" "$port" Redis
    REDIS_URL=$(url_with_port "$port")
    export REDIS_URL
}
