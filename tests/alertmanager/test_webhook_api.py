"""POST /api/v1/alertmanager through ``otelmon serve``: the ingest token, bad bodies refused with nothing
stored, a re-sent notification stored once, a resolved one resolving the issue."""

from __future__ import annotations

import httpx
import pytest

from tests.alertmanager.payloads import alert, message

TOKEN = "am-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def api(start_api, tmp_path):
    return start_api({"OTELMON_DATABASE_URL": f"sqlite:///{tmp_path / 'otelmon.db'}", "OTELMON_INGEST_TOKEN": TOKEN,
                      "OTELMON_MAX_BODY_BYTES": str(64 * 1024)})


def post(api, body, headers=AUTH, **kwargs) -> httpx.Response:
    return httpx.post(f"{api.url}/api/v1/alertmanager", json=body, headers=headers, timeout=10, **kwargs)


def stored(api) -> list[dict]:
    return httpx.get(f"{api.url}/api/v1/failures", headers=AUTH, timeout=10).json()["items"]


def issues(api) -> list[dict]:
    return httpx.get(f"{api.url}/api/v1/issues", headers=AUTH, timeout=10).json()["items"]


def test_the_ingest_token_is_required(api):
    assert post(api, message(alert()), headers={}).status_code == 401
    assert post(api, message(alert()), headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert stored(api) == []


def test_bad_bodies_get_4xx_and_store_nothing(api):
    assert post(api, {**message(alert()), "version": "3"}).status_code == 422
    half_good = message(alert(), {**alert(fingerprint="ffff000011112222"), "startsAt": "not a time"})
    response = post(api, half_good)
    assert response.status_code == 422
    # The field is named, and the good alert of the same body is not stored either.
    assert ["alerts", 1, "startsAt"] in [err["loc"] for err in response.json()["detail"]]
    too_big = message(alert(description="x" * 60000), alert(fingerprint="ffff000011112222", description="y" * 60000))
    assert post(api, too_big).status_code == 413
    not_json = httpx.post(f"{api.url}/api/v1/alertmanager", content=b"{", headers=AUTH, timeout=10)
    assert not_json.status_code == 422
    assert stored(api) == []


def test_a_resent_notification_is_stored_once_and_resolved_resolves_its_issue(api):
    first = post(api, message(alert()))
    assert first.status_code == 200 and first.json() == {"failures_created": 1, "duplicates": 0, "resolved": 0}
    again = post(api, message(alert(summary="re-sent")))
    assert again.json() == {"failures_created": 0, "duplicates": 1, "resolved": 0}
    [failure] = stored(api)
    assert (failure["platform"], failure["group"], failure["process"], failure["error_type"]) == (
        "prometheus", "otelmon-api", "OtelMonApiDown @ otelmon-api:8090", "OtelMonApiDown")
    assert [issue["state"] for issue in issues(api)] == ["new"]

    assert post(api, message(alert("resolved"))).json() == {"failures_created": 0, "duplicates": 0, "resolved": 1}
    assert [issue["state"] for issue in issues(api)] == ["resolved"]
