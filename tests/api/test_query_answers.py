"""What the read endpoints answer, on SQLite and MariaDB: times with their offset, 4xx (never 5xx) for
values out of range or unknown, and every status declared in /openapi.json."""

import base64
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from tests.api.declared import declared_client
from tests.harness.ports import free_port
from tests.harness.waiting import wait_until

BIG = str(2**64)


@pytest.fixture
def api(start_api, database_url):
    # Alerts on, with an SMTP port nobody listens on: an alert row exists and stays pending.
    return start_api({"OTELMON_DATABASE_URL": database_url, "OTELMON_ALERT_RECIPIENTS": "team@example.com",
                      "OTELMON_SMTP_HOST": "127.0.0.1", "OTELMON_SMTP_PORT": str(free_port()),
                      "OTELMON_ALERT_GROUP_WAIT_SECONDS": "0", "OTELMON_ALERT_POLL_SECONDS": "0.2"})


@pytest.fixture
def client(api):
    with declared_client(api.url) as client:
        yield client


def report(client, **overrides):
    body = {"platform": "cron", "group": "nightly", "process": "export", "run_id": "r1",
            "start_time": "2026-11-22T03:00:00.123456+02:00", "end_time": "2026-11-22T01:00:07Z"}
    response = client.post("/api/v1/process-failure", json={**body, **overrides})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def cursor(end_time: str, failure_id: str) -> str:
    return base64.urlsafe_b64encode(f"{end_time}|{failure_id}".encode()).decode()


def test_times_are_utc_with_z(api, client):
    failure_id = report(client)
    (item,) = client.get("/api/v1/failures").json()["items"]
    detail = client.get(f"/api/v1/failures/{failure_id}").json()
    for answer in (item, detail):
        assert answer["start_time"] == "2026-11-22T01:00:00.123456Z"
        assert answer["end_time"] == "2026-11-22T01:00:07Z"
        received = datetime.fromisoformat(answer["received_at"].replace("Z", "+00:00"))
        assert answer["received_at"].endswith("Z")
        assert abs(datetime.now(timezone.utc) - received) < timedelta(minutes=5)

    alerts = wait_until(lambda: client.get("/api/v1/alerts").json()["items"], what="an alert row")
    for name in ("created_at", "next_attempt_at"):
        assert alerts[0][name].endswith("Z"), alerts[0]

    schemas = httpx.get(f"{api.url}/openapi.json").json()["components"]["schemas"]
    for model, field in [("FailureSummary", "received_at"), ("FailureDetail", "end_time"),
                         ("AlertItem", "created_at")]:
        assert schemas[model]["properties"][field] == {"type": "string", "format": "date-time", "title": field.title()
                                                       .replace("_", " ")}


# (what, path, query, status, a word the answer must contain)
OUT_OF_RANGE = [
    ("alert state", "/api/v1/alerts", {"state": "bogus"}, 422, "'pending'"),
    ("unknown parameter", "/api/v1/failures", {"state": "bogus"}, 422, "state"),
    ("id past 2^63", "/api/v1/failures/" + BIG, {}, 422, "less than or equal"),
    ("id zero", "/api/v1/failures/0", {}, 422, "greater than or equal"),
    ("before_id past 2^63", "/api/v1/alerts", {"before_id": BIG}, 422, "before_id"),
    ("cursor id past 2^63", "/api/v1/failures", {"cursor": cursor("2026-11-22T01:00:07", BIG)}, 400, "invalid cursor"),
    ("cursor with a zone", "/api/v1/failures", {"cursor": cursor("2026-11-22T01:00:07+01:00", "5")}, 400,
     "invalid cursor"),
    # A filter before the first storable time means "from the start": clamped, answered.
    ("since before year 1 in UTC", "/api/v1/failures", {"since": "0001-01-01T00:00:00+01:00"}, 200, "items"),
    ("until after 9999 in UTC", "/api/v1/failures", {"until": "9999-12-31T23:59:59-01:00"}, 200, "items"),
    ("since in year 10000", "/api/v1/failures", {"since": "10000-01-01T00:00:00Z"}, 422, "since"),
    ("until a huge number", "/api/v1/failures", {"until": "1e400"}, 422, "until"),
    ("limit past 2^63", "/api/v1/failures", {"limit": BIG}, 422, "limit"),
]

# (query, whether the failure stored at 2026-11-22 is in the answer)
EDGES = [
    ({"since": "0001-01-01T00:00:00Z", "until": "9999-12-31T23:59:59.999999Z"}, True),
    ({"since": "0001-01-01T00:00:00", "until": "0001-01-02T00:00:00"}, False),
    ({"until": "9999-12-31T23:59:59.999999"}, True),
    ({"since": "9999-12-31T23:59:59.999999"}, False),
    ({"cursor": cursor("0001-01-01T00:00:00", "1")}, False),
    ({"cursor": cursor("9999-12-31T23:59:59.999999", str(2**63 - 1))}, True),
]


def test_values_out_of_range_are_a_clear_4xx_and_the_edges_are_answered(client):
    failure_id = report(client)
    for what, path, params, status, says in OUT_OF_RANGE:
        response = client.get(path, params=params)
        assert response.status_code == status, f"{what}: {response.status_code} {response.text}"
        assert says in response.text, f"{what}: {response.text}"
    for params, found in EDGES:
        response = client.get("/api/v1/failures", params=params)
        assert response.status_code == 200, f"{params}: {response.text}"
        assert [item["id"] for item in response.json()["items"]] == ([failure_id] if found else []), params


# (what, fields of a report, status)
REPORTS = [
    ("start before year 1 in UTC", {"start_time": "0001-01-01T00:00:00+01:00"}, 422),
    ("end before 1000, which MariaDB cannot hold", {"end_time": "0999-12-31T23:59:59Z"}, 422),
    ("time as a number", {"end_time": 1763800000}, 422),
    ("try_number past INT", {"try_number": 2**40}, 422),
    ("try_number a 20-digit string", {"try_number": "100000000000000000000"}, 422),
    ("earliest storable time", {"run_id": "r-early", "start_time": "1000-01-01T00:00:00Z",
                                "end_time": "1000-01-01T00:00:00Z"}, 201),
    ("latest storable time", {"run_id": "r-late", "start_time": "9999-12-31T23:59:59.999999Z",
                              "end_time": "9999-12-31T23:59:59.999999Z"}, 201),
]


def test_reports_out_of_range_are_422_and_the_edges_are_stored(client):
    for what, fields, status in REPORTS:
        body = {"platform": "cron", "group": "nightly", "process": "export", "run_id": "r1", **fields}
        response = client.post("/api/v1/process-failure", json=body)
        assert response.status_code == status, f"{what}: {response.status_code} {response.text}"
        if status == 422:
            (field,) = {err["loc"][0] for err in response.json()["detail"]}
            assert field in fields, f"{what}: {response.text}"
    times = sorted(i["end_time"] for i in client.get("/api/v1/failures").json()["items"])
    assert times == ["1000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z"]
