"""The API's own pages: /docs and /redoc with local assets (no internet needed), the bearer scheme in
OpenAPI, and GET / landing on the console."""

from html.parser import HTMLParser

import httpx
import pytest

TOKEN = "docs-test-token"


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "script" and found.get("src"):
            self.urls.append(found["src"])
        if tag == "link" and found.get("href"):
            self.urls.append(found["href"])


def referenced_assets(html: str) -> list[str]:
    parser = _Assets()
    parser.feed(html)
    return parser.urls


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    from tests.harness.api_server import ApiServer

    server = ApiServer({"OTELMON_DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('docs') / 'otelmon.db'}",
                        "OTELMON_INGEST_TOKEN": TOKEN, "OTELMON_ALERTS_ENABLED": "false"}).start()
    yield server
    server.stop()


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_doc_pages_load_every_asset_from_the_api_itself(api, page):
    response = httpx.get(f"{api.url}{page}")
    assert response.status_code == 200
    html = response.text
    assert "http://" not in html and "https://" not in html and "//cdn" not in html, html
    assets = referenced_assets(html)
    assert any(url.endswith(".js") for url in assets), assets
    if page == "/docs":
        assert any(url.endswith(".css") for url in assets), assets
        assert "url: '/openapi.json'" in html
    for url in assets:
        assert url.startswith("/"), url
        asset = httpx.get(f"{api.url}{url}")
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url


def test_openapi_declares_the_bearer_scheme_and_401_stays_as_it_was(api):
    spec = httpx.get(f"{api.url}/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    (name,) = [n for n, s in schemes.items() if (s["type"], s.get("scheme")) == ("http", "bearer")]
    for path, method in [("/v1/traces", "post"), ("/api/v1/failures", "get"), ("/api/v1/failures/{failure_id}", "get"),
                         ("/api/v1/alerts", "get"), ("/api/v1/process-failure", "post")]:
        assert {name: []} in spec["paths"][path][method]["security"], path
    assert "security" not in spec["paths"]["/healthz"]["get"]

    for headers in [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}]:
        denied = httpx.get(f"{api.url}/api/v1/failures", headers=headers)
        assert denied.status_code == 401
        assert denied.json() == {"detail": "missing or wrong bearer token"}
        assert denied.headers["www-authenticate"] == "Bearer"
    allowed = httpx.get(f"{api.url}/api/v1/failures", headers={"Authorization": f"bearer {TOKEN}"})
    assert allowed.status_code == 200


def test_root_lands_on_the_console_and_links_to_the_docs(api):
    page = httpx.get(api.url, follow_redirects=True)
    # With a token configured, a browser without a session is taken to the console's login page.
    assert [str(r.url.path) for r in page.history] == ["/", "/console/"]
    assert page.url.path == "/console/login" and page.url.params["next"] == "/console/"
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "OtelMon" in page.text and 'href="/docs"' in page.text
    assert "https://" not in page.text and "http://" not in page.text
    for asset in referenced_assets(page.text):
        assert asset.startswith("/console/static/"), asset
        assert httpx.get(f"{api.url}{asset}").status_code == 200
    as_json = httpx.get(api.url, headers={"Accept": "application/json"})
    assert as_json.json()["docs"] == "/docs"
    assert as_json.json()["openapi"] == "/openapi.json"
    assert as_json.json()["console"] == "/console/"
