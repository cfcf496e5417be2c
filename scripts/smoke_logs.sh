#!/usr/bin/env bash
# Smoke test of the `logs` profile on a machine with Docker, once
# `docker compose --profile logs up -d --wait` has returned: through Loki's own query API, checks that
#   a container's log lines arrive (otelmon-api's, read from Docker's json-file logs), and that
#   an OTLP log record sent to otelcol-logs arrives with its trace id (the key Grafana's trace <-> logs links use).
#
# Usage: scripts/smoke_logs.sh
# Needs: docker with the compose plugin, curl, python3. Exit status 0 only when every check passed.
# Environment: SMOKE_TIMEOUT seconds to wait for each check (default 180); LOKI_URL (default http://127.0.0.1:3100);
# OTELCOL_LOGS_URL, where the record is sent from inside the otelmon-api container (default http://otelcol-logs:4318).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
timeout_s="${SMOKE_TIMEOUT:-180}"
loki="${LOKI_URL:-http://127.0.0.1:3100}"
collector="${OTELCOL_LOGS_URL:-http://otelcol-logs:4318}"

die() { echo "smoke_logs: FAILED: $*" >&2; exit 1; }
ok() { echo "smoke_logs: ok: $*"; }

command -v docker >/dev/null || die "docker is not installed"
command -v curl >/dev/null || die "curl is not installed"

trace_id=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
span_id=$(python3 -c 'import secrets; print(secrets.token_hex(8))')

# otelcol-logs publishes no port: the record is sent from a container of the stack that has Python.
docker compose --profile logs exec -T otelmon-api python - "$collector" "$trace_id" "$span_id" <<'PY' \
    || die "could not send an OTLP log record to otelcol-logs"
import json
import sys
import time
import urllib.request

url, trace_id, span_id = sys.argv[1:4]
record = {
    "timeUnixNano": str(time.time_ns()),
    "severityNumber": 17,
    "severityText": "ERROR",
    "body": {"stringValue": "otelmon logs smoke test"},
    "traceId": trace_id,
    "spanId": span_id,
}
body = {"resourceLogs": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "otelmon-smoke"}}]},
    "scopeLogs": [{"logRecords": [record]}],
}]}
request = urllib.request.Request(url.rstrip("/") + "/v1/logs", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
urllib.request.urlopen(request, timeout=10).read()
PY

# Loki's answer to a LogQL query: how many streams matched in the last hour.
streams() {
    curl -fsS --max-time 10 -G "$loki/loki/api/v1/query_range" --data-urlencode "query=$1" \
        --data-urlencode "since=1h" --data-urlencode "limit=5" \
        | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["data"]["result"]))'
}

wait_for() {
    local query=$1 what=$2 deadline=$((SECONDS + timeout_s)) found
    while :; do
        found=$(streams "$query" 2>/dev/null || echo 0)
        if [ "$found" -gt 0 ]; then
            ok "$what"
            return 0
        fi
        [ "$SECONDS" -lt "$deadline" ] || die "$what: nothing in Loki for $query within ${timeout_s}s"
        sleep 2
    done
}

wait_for '{service_name="otelmon-api"}' "otelmon-api's container log lines are in Loki"
wait_for "{service_name=\"otelmon-smoke\"} | trace_id=\"$trace_id\"" "an OTLP log record is in Loki with its trace id"
