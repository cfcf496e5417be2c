#!/usr/bin/env bash
# Smoke test of the whole stack on a machine with Docker: bring it up, send one failing span
# through the collector, and check through the services' own HTTP APIs that
#   the failure row is in otelmon-api, its alert email in Mailpit, its trace in Tempo,
#   its span metric in Prometheus, and Grafana's three datasources are healthy;
# plus that every published port answers on 127.0.0.1.
#
# Usage: scripts/smoke.sh [--no-up]     (--no-up: the stack is already running)
# The lean core: COMPOSE_FILE=docker-compose.yaml:compose.lean.yaml scripts/smoke.sh [--no-up]
# Needs: docker with the compose plugin, curl. Exit status 0 only when every check passed.
# Environment: SMOKE_TIMEOUT seconds to wait for each check (default 180).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
timeout_s="${SMOKE_TIMEOUT:-180}"
compose=(docker compose)

die() { echo "smoke: FAILED: $*" >&2; exit 1; }
ok() { echo "smoke: ok: $*"; }

command -v docker >/dev/null || die "docker is not installed"
command -v curl >/dev/null || die "curl is not installed"

if [ "${1:-}" != "--no-up" ]; then
    echo "smoke: building and starting the stack (first run: several minutes)"
    "${compose[@]}" up -d --build --wait --wait-timeout 900 || {
        "${compose[@]}" ps --all >&2
        die "the stack did not become healthy (docker compose ps above; docker compose logs SERVICE)"
    }
fi

# Checked, not assumed (with --no-up nothing above looked): every service of the compose file has a
# container that is running and healthy, or, for a one-shot init job, has exited with status 0.
expected=$("${compose[@]}" config --services | sort)
states=$("${compose[@]}" ps --all --format '{{.Service}}|{{.State}}|{{.Health}}|{{.ExitCode}}' | sort)
problems=$(awk -F'|' -v expected="$expected" '
    BEGIN { n = split(expected, names, "\n"); for (i = 1; i <= n; i++) if (names[i] != "") want[names[i]] = 1 }
    { seen[$1] = 1 }
    $2 == "running" && $3 == "healthy" { next }
    $2 == "exited" && $4 == "0" { next }
    { print $1 " is " $2 ($3 == "" ? "" : ", " $3) ($2 == "exited" ? ", exit " $4 : "") }
    END { for (name in want) if (!(name in seen)) print name " has no container" }
' <<<"$states")
[ -z "$problems" ] || die "not every service is healthy: $(echo "$problems" | paste -sd ';' -)"
ok "every service healthy ($(echo "$expected" | wc -l) services)"

# What a person opens in a browser, on loopback only (of the services this compose model runs: the lean
# core, COMPOSE_FILE=docker-compose.yaml:compose.lean.yaml, has no Airflow or NiFi).
while read -r service url; do
    grep -qx "$service" <<<"$expected" || continue
    curl --silent --show-error --fail --insecure --max-time 10 --output /dev/null "$url" || die "$url does not answer"
done <<'URLS'
grafana http://127.0.0.1:3000/api/health
otelmon-api http://127.0.0.1:8090/readyz
prometheus http://127.0.0.1:9090/-/ready
tempo http://127.0.0.1:3200/ready
mailpit http://127.0.0.1:8025/readyz
airflow-apiserver http://127.0.0.1:8080/api/v2/version
nifi https://127.0.0.1:8443/nifi-api/access/config
URLS
# The OTLP/HTTP receiver answers GET with 405: reachable is what counts here.
code=$(curl --silent --max-time 10 --output /dev/null --write-out '%{http_code}' http://127.0.0.1:4318/v1/traces || true)
[ "$code" = 405 ] || die "OTLP/HTTP on 127.0.0.1:4318 answered $code"
ok "published ports answer on 127.0.0.1"

marker="smoke_$(date -u +%Y%m%d%H%M%S)_$RANDOM"
grafana_user=$("${compose[@]}" exec -T grafana printenv GF_SECURITY_ADMIN_USER)
grafana_password=$("${compose[@]}" exec -T grafana printenv GF_SECURITY_ADMIN_PASSWORD)

# The checks run inside otelmon-api: its image has Python, the OpenTelemetry SDK and the compose
# network's service names, so the host needs nothing beyond Docker.
"${compose[@]}" exec -T -e SMOKE_MARKER="$marker" -e SMOKE_TIMEOUT="$timeout_s" \
    -e SMOKE_GRAFANA_USER="$grafana_user" -e SMOKE_GRAFANA_PASSWORD="$grafana_password" \
    otelmon-api python - <<'PY'
import base64
import json
import os
import sys
import time
import urllib.parse
import urllib.request

from otelmon.test_failure import send_test_failure

marker = os.environ["SMOKE_MARKER"]
timeout = float(os.environ["SMOKE_TIMEOUT"])
token = os.environ.get("OTELMON_INGEST_TOKEN", "")
grafana_auth = base64.b64encode(
    f"{os.environ['SMOKE_GRAFANA_USER']}:{os.environ['SMOKE_GRAFANA_PASSWORD']}".encode()).decode()

# One failing pipeline step, sent through the collector as any instrumented pipeline sends it
# (the same code as `otelmon send-test-failure`).
trace_id = send_test_failure("http://otelcol:4318", group="smoke_test", process=marker).trace_id
print(f"smoke: sent failing span {marker}, trace {trace_id}", flush=True)


def get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except OSError as err:
        return 0, str(err).encode()


def wait_for(what, check):
    # Each service applies its own delay (batching, metric flush, scrape interval): poll to a deadline.
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        done, last = check()
        if done:
            print(f"smoke: ok: {what}", flush=True)
            return
        time.sleep(2)
    sys.exit(f"smoke: FAILED: {what}: {last}")


def api_row():
    query = urllib.parse.urlencode({"process": marker})
    status, body = get(f"http://127.0.0.1:8090/api/v1/failures?{query}", {"Authorization": f"Bearer {token}"})
    items = json.loads(body).get("items", []) if status == 200 else []
    return any(i.get("trace_id") == trace_id for i in items), (status, body[:300])


def mail():
    status, body = get("http://mailpit:8025/api/v1/search?" + urllib.parse.urlencode({"query": marker}))
    count = json.loads(body).get("messages_count", 0) if status == 200 else 0
    return count >= 1, (status, body[:300])


def tempo():
    status, body = get(f"http://tempo:3200/api/traces/{trace_id}")
    return status == 200, (status, body[:200])


def span_metric():
    expr = f'sum(traces_span_metrics_calls_total{{otelmon_process="{marker}", status_code="STATUS_CODE_ERROR"}})'
    status, body = get("http://prometheus:9090/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    result = json.loads(body)["data"]["result"] if status == 200 else []
    return bool(result) and float(result[0]["value"][1]) >= 1, (status, body[:300])


def datasources():
    answers = {}
    for uid in ("prometheus", "tempo", "mariadb"):
        status, body = get(f"http://grafana:3000/api/datasources/uid/{uid}/health",
                           {"Authorization": f"Basic {grafana_auth}"})
        answers[uid] = (status, body[:200])
    return all(s == 200 for s, _ in answers.values()), answers


wait_for("failure row in otelmon-api (/api/v1/failures)", api_row)
wait_for("alert email in Mailpit", mail)
wait_for("trace in Tempo", tempo)
wait_for("span metric in Prometheus", span_metric)
wait_for("Grafana datasources prometheus, tempo, mariadb healthy", datasources)
PY
echo "smoke: PASSED (the stack stays up; docker compose down stops it)"
