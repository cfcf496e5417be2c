"""``/api/v1/silences`` and ``/api/v1/issues/{fingerprint}/ack`` through a real ``otelmon serve``: what is
created, listed and expired; every bad input a clear 4xx that names the problem and stores nothing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest

FP = "0123456789abcdef"


@pytest.fixture
def api(start_api, database_url):
    server = start_api({"OTELMON_DATABASE_URL": database_url, "OTELMON_ALERTS_ENABLED": "false"})
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def iso(delta: timedelta) -> str:
    return (datetime.now(timezone.utc) + delta).isoformat()


GOOD = {"matchers": {"group": "billing_*"}, "for": "2h", "comment": "migration", "author": "alice"}


def test_create_list_expire(api):
    created = api.post("/api/v1/silences", json=GOOD)
    assert created.status_code == 201, created.text
    item = created.json()
    assert item["status"] == "active" and item["kind"] == "silence" and item["matchers"] == {"group": "billing_*"}
    span = datetime.fromisoformat(item["ends_at"]) - datetime.fromisoformat(item["starts_at"])
    assert span == timedelta(hours=2) and item["author"] == "alice" and item["expired_at"] is None
    later = api.post("/api/v1/silences", json={**GOOD, "for": None, "starts_at": iso(timedelta(hours=1)),
                                               "ends_at": iso(timedelta(hours=3)), "matchers": {"process": "load"}})
    assert later.status_code == 201 and later.json()["status"] == "pending"

    active = api.get("/api/v1/silences").json()["items"]
    assert [s["id"] for s in active] == [later.json()["id"], item["id"]]
    expired = api.delete(f"/api/v1/silences/{item['id']}")
    assert expired.status_code == 200 and expired.json()["status"] == "expired" and expired.json()["expired_at"]
    again = api.delete(f"/api/v1/silences/{item['id']}")
    assert again.status_code == 409 and "already expired" in again.json()["detail"]
    assert api.delete("/api/v1/silences/999999").status_code == 404
    assert [s["id"] for s in api.get("/api/v1/silences").json()["items"]] == [later.json()["id"]]
    assert [s["id"] for s in api.get("/api/v1/silences", params={"state": "expired"}).json()["items"]] == [item["id"]]
    page = api.get("/api/v1/silences", params={"state": "all", "limit": 1}).json()
    assert len(page["items"]) == 1 and page["next_before_id"] == later.json()["id"]


BAD = [
    ({"matchers": {}}, "at least one matcher"),
    ({"matchers": {"owner": "x"}}, "Extra inputs are not permitted"),
    ({"matchers": {"group": ""}}, "at least 1 character"),
    ({"matchers": {"group": "billing_[x"}}, "unbalanced"),
    ({"comment": ""}, "at least 1 character"),
    ({"comment": "   "}, "must not be blank"),
    ({"author": None}, "author"),
    ({"for": "forever"}, "invalid duration"),
    ({"for": None}, "either ends_at or for"),
    ({"ends_at": iso(timedelta(hours=5))}, "either ends_at or for"),
    ({"for": None, "ends_at": iso(-timedelta(hours=1))}, "ends_at must be after starts_at"),
    ({"for": None, "starts_at": iso(-timedelta(hours=3)), "ends_at": iso(-timedelta(hours=1))}, "in the future"),
    ({"for": None, "ends_at": "tomorrow"}, "ISO 8601"),
]


def test_bad_silences_are_a_422_naming_the_problem_and_store_nothing(api):
    for change, message in BAD:
        body = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
        response = api.post("/api/v1/silences", json=body)
        assert response.status_code == 422, (change, response.text)
        assert message in str(response.json()["detail"]), (change, response.text)
    assert api.get("/api/v1/silences", params={"state": "all"}).json()["items"] == []


def test_acknowledging_an_issue_twice_keeps_one_ack(api):
    first = api.post(f"/api/v1/issues/{FP}/ack", json={"author": "bob", "comment": "looking"})
    assert first.status_code == 201, first.text
    ack = first.json()
    assert (ack["kind"], ack["matchers"], ack["ends_at"], ack["status"]) == ("ack", {"fingerprint": FP}, None, "active")
    second = api.post(f"/api/v1/issues/{FP}/ack", json={"author": "eve"})
    assert second.status_code == 200 and second.json()["id"] == ack["id"] and second.json()["author"] == "bob"
    assert api.post("/api/v1/issues/not-a-fingerprint/ack", json={"author": "bob"}).status_code == 422
    assert api.post(f"/api/v1/issues/{FP}/ack", json={}).status_code == 422


def test_the_token_guards_silences_too(start_api, tmp_path):
    server = start_api({"OTELMON_DATABASE_URL": f"sqlite:///{tmp_path / 'o.db'}", "OTELMON_INGEST_TOKEN": "s3cret",
                        "OTELMON_ALERTS_ENABLED": "false"})
    assert httpx.post(f"{server.url}/api/v1/silences", json=GOOD).status_code == 401
    assert httpx.get(f"{server.url}/api/v1/silences").status_code == 401
    assert httpx.post(f"{server.url}/api/v1/issues/{FP}/ack", json={"author": "x"}).status_code == 401
