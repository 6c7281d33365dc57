# Shared by bin/dev and bin/test: idempotent setup steps, each a no-op when already done.
# shellcheck shell=bash

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() {
    printf '\033[31mError: %s\033[0m\n' "$*" >&2
    exit 1
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
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "npm is missing: installing Debian's nodejs and npm"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
        command -v npm >/dev/null 2>&1 && return 0
    fi
    die "npm is needed to fetch the front-end libraries (htmx, ECharts, hls.js).
Install Node.js with npm, e.g. on Debian/Ubuntu: sudo apt-get install nodejs npm
then run this command again."
}

VENDOR_FILES=(static/vendor/htmx.min.js static/vendor/echarts.min.js static/vendor/hls.min.js)

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
    .venv/bin/python manage.py compiletranslations
}
