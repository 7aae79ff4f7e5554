#!/usr/bin/env bash
# The local AWS emulator for the profiler's emulator tests: moto's server (PyPI `moto[server]`,
# pinned below) wrapped by tests/emulator/moto_report.py, which adds Lambda's START/END/REPORT
# lines to `LogType=Tail` invocations (moto without Docker returns none).
#
#   scripts/emulator.sh install   # venv in .ci-cache/moto-venv with the pinned moto (idempotent)
#   scripts/emulator.sh start     # on a free port; prints the URL; PID in .ci-cache/emulator.pid
#   scripts/emulator.sh stop      # stops the server started above, by its PID
#   scripts/emulator.sh test      # install, start, run the emulator tests (--ignored), stop
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.2.5
VENV=.ci-cache/moto-venv
PID_FILE=.ci-cache/emulator.pid
URL_FILE=.ci-cache/emulator.url
LOG_FILE=.ci-cache/emulator.log

install() {
    mkdir -p .ci-cache
    if [ -x "$VENV/bin/python" ] &&
        "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
        return 0
    fi
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
}

start() {
    if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
        cat "$URL_FILE"
        return 0
    fi
    local port
    port=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    MOTO_PORT=$port "$VENV/bin/python" tests/emulator/moto_report.py --port "$port" > "$LOG_FILE" 2>&1 &
    echo $! > "$PID_FILE"
    local url="http://127.0.0.1:$port"
    echo "$url" > "$URL_FILE"
    # Wait (at most 30 s) until it answers, then turn off Docker for Lambda.
    "$VENV/bin/python" - "$url" <<'PY'
import json, sys, time, urllib.request
url = sys.argv[1]
for _ in range(300):
    try:
        urllib.request.urlopen(url + "/moto-api/", timeout=1)
        break
    except Exception:
        time.sleep(0.1)
else:
    sys.exit("the emulator did not answer at " + url)
req = urllib.request.Request(url + "/moto-api/config", method="POST",
                             data=json.dumps({"lambda": {"use_docker": False}}).encode(),
                             headers={"Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=5)
PY
    echo "$url"
}

stop() {
    if [ -f "$PID_FILE" ]; then
        local pid
        pid=$(cat "$PID_FILE")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$PID_FILE" "$URL_FILE"
    fi
}

case "${1:-}" in
    install) install ;;
    start) install; start ;;
    stop) stop ;;
    test)
        install
        trap stop EXIT
        url=$(start)
        echo "emulator at $url (moto $MOTO_VERSION with REPORT lines)"
        # `--workspace` (only the profiler has an `emulator` test): the same feature set as
        # `cargo test --workspace`, so the test binary reuses that build instead of compiling
        # the AWS SDK again with the profiler's features alone.
        OPTISERVE_EMULATOR_URL=$url cargo test --workspace --locked --test emulator -- --ignored --test-threads 1
        ;;
    *) echo "usage: $0 install|start|stop|test" >&2; exit 2 ;;
esac
