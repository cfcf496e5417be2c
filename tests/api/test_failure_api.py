"""POST /api/v1/process-failure, GET /api/v1/failures[/{id}], health endpoints, OpenAPI."""

import httpx


def report(api, **overrides):
    body = {"platform": "cron", "group": "nightly", "process": "export", "run_id": "2026-11-22",
            "error_type": "ExitCode", "error_message": "exit status 3", "start_time": "2026-11-22T01:00:00Z",
            "end_time": "2026-11-22T01:00:07.5+00:00", "trace_id": "AB" * 16, "span_id": "cd" * 8}
    body.update(overrides)
    return httpx.post(f"{api.url}/api/v1/process-failure", json=body)


def test_report_is_stored_once_and_readable(api_server):
    first = report(api_server)
    assert first.status_code == 201 and first.json()["created"] is True
    again = report(api_server)
    assert again.status_code == 200 and again.json() == {"id": first.json()["id"], "created": False}

    detail = httpx.get(f"{api_server.url}/api/v1/failures/{first.json()['id']}").json()
    assert detail["group"] == "nightly" and detail["duration_seconds"] == 7.5
    assert detail["trace_id"] == "ab" * 16
    assert detail["trace_url"].startswith("http://localhost:3000/explore?")
    assert "ab" * 16 in httpx.URL(detail["trace_url"]).params["panes"]
    assert httpx.get(f"{api_server.url}/api/v1/failures/999999").status_code == 404


def test_bad_reports_get_422_with_the_field_named(api_server):
    response = report(api_server, platform="", try_number=-1, surprise=1)
    assert response.status_code == 422
    fields = {tuple(err["loc"]) for err in response.json()["detail"]}
    assert {("platform",), ("try_number",), ("surprise",)} <= fields
    assert httpx.get(f"{api_server.url}/api/v1/failures").json()["items"] == []


def test_filters_and_keyset_pagination(api_server):
    for day in range(1, 8):
        group = "nightly" if day % 2 else "weekly"
        assert report(api_server, group=group, run_id=f"r{day}", end_time=f"2026-11-{day:02d}T12:00:00Z",
                      start_time=f"2026-11-{day:02d}T11:00:00Z").status_code == 201
    base = f"{api_server.url}/api/v1/failures"
    page1 = httpx.get(base, params={"limit": 3}).json()
    page2 = httpx.get(base, params={"limit": 3, "cursor": page1["next_cursor"]}).json()
    page3 = httpx.get(base, params={"limit": 3, "cursor": page2["next_cursor"]}).json()
    runs = [i["run_id"] for p in (page1, page2, page3) for i in p["items"]]
    assert runs == ["r7", "r6", "r5", "r4", "r3", "r2", "r1"]
    assert page3["next_cursor"] is None
    weekly = httpx.get(base, params={"group": "weekly"}).json()["items"]
    assert [i["run_id"] for i in weekly] == ["r6", "r4", "r2"]
    window = httpx.get(base, params={"since": "2026-11-03T00:00:00Z", "until": "2026-11-05T00:00:00"}).json()
    assert [i["run_id"] for i in window["items"]] == ["r4", "r3"]
    assert httpx.get(base, params={"platform": "airflow"}).json()["items"] == []
    assert httpx.get(base, params={"cursor": "not-a-cursor"}).status_code == 400
    assert httpx.get(base, params={"limit": 100000}).status_code == 422


def test_health_readiness_metrics_and_openapi(api_server):
    assert httpx.get(f"{api_server.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{api_server.url}/readyz").json()["status"] == "ready"  # warnings: no recipients set
    assert "otelmon_database_up 1.0" in httpx.get(f"{api_server.url}/metrics").text
    spec = httpx.get(f"{api_server.url}/openapi.json").json()
    assert {"/v1/traces", "/api/v1/process-failure", "/api/v1/failures", "/api/v1/failures/{failure_id}",
            "/healthz", "/readyz", "/metrics"} <= set(spec["paths"])
    assert httpx.get(f"{api_server.url}/docs").status_code == 200
