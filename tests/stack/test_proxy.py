"""The `proxy` profile's nginx config (configs/nginx/otelmon.conf), checked by the real nginx: `nginx -t`, then
real requests through it to real processes on loopback (the API as `otelmon serve`, Prometheus and Mailpit at
the pinned versions, a stand-in for Grafana, which is never run here) with the sub-path settings the README
gives for the profile. Only the upstream host names and the listen address are substituted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.harness import stack_tools
from tests.harness.api_server import ApiServer
from tests.harness.mailpit import Mailpit
from tests.harness.ports import free_port
from tests.harness.waiting import answers_ok, wait_until_serving
from tests.stack.stack_paths import REPO

NGINX_CONF = REPO / "configs" / "nginx" / "otelmon.conf"
PROMETHEUS_CONFIG = "global:\n  scrape_interval: 1m\nscrape_configs: []\n"


def nginx_binary() -> str:
    path = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(path, os.X_OK):
        raise RuntimeError("nginx is not installed: run scripts/setup/system.sh")
    return path


def render(port: int, upstreams: dict[str, int], work: Path) -> Path:
    """The shipped server block inside a main config that keeps every file nginx writes under ``work``."""
    text = NGINX_CONF.read_text()
    replacements = {"listen 8000;": f"listen 127.0.0.1:{port};"}
    replacements |= {f"http://{host}:{default}": f"http://127.0.0.1:{upstreams[host]}" for host, default in
                     (("grafana", 3000), ("prometheus", 9090), ("mailpit", 8025), ("otelmon-api", 8090))}  # fmt: skip
    for old, new in replacements.items():
        assert text.count(old) == 1, f"{old!r} is not in {NGINX_CONF.name} exactly once"
        text = text.replace(old, new)
    (work / "otelmon.conf").write_text(text)
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = "\n".join(f"    {kind}_temp_path {work / kind};" for kind in kinds)
    main = work / "nginx.conf"
    main.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"pid {work / 'nginx.pid'};\nerror_log {work / 'error.log'} info;\ndaemon off;\nworker_processes 1;\n"
        + f"events {{}}\nhttp {{\n    access_log {work / 'access.log'};\n{temp}\n"
        + f"    include {work / 'otelmon.conf'};\n}}\n"
    )
    return main


class _GrafanaStandIn(BaseHTTPRequestHandler):
    """Answers every GET with the path and Host it received, as JSON: what Grafana would be asked for."""

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        body = json.dumps({"path": self.path, "host": self.headers.get("Host")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@dataclass
class Proxied:
    url: str
    api: ApiServer


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    work = tmp_path_factory.mktemp("proxy")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    stack: list = []
    grafana = ThreadingHTTPServer(("127.0.0.1", 0), _GrafanaStandIn)
    threading.Thread(target=grafana.serve_forever, daemon=True).start()
    try:
        # As README "Optional profiles" sets them: each program learns the path it is reached under.
        mailpit = Mailpit(work / "mailpit", webroot="/mailpit/").start()
        stack.append(mailpit.stop)
        api = ApiServer({"OTELMON_DATABASE_URL": f"sqlite:///{work / 'otelmon.db'}",
                         "OTELMON_PUBLIC_URL": f"{url}/api"}).start()  # fmt: skip
        stack.append(api.stop)
        prometheus_port = free_port()
        (work / "prometheus.yml").write_text(PROMETHEUS_CONFIG)
        prometheus_log = (work / "prometheus.log").open("wb")
        prometheus = subprocess.Popen(
            [stack_tools.prometheus(), f"--config.file={work / 'prometheus.yml'}",
             f"--storage.tsdb.path={work / 'tsdb'}", f"--web.listen-address=127.0.0.1:{prometheus_port}",
             f"--web.external-url={url}/prometheus/", "--web.route-prefix=/"],
            stdout=prometheus_log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        stack.append(lambda: (prometheus.terminate(), prometheus.wait(timeout=20)))
        prometheus_logs = lambda: (work / "prometheus.log").read_text(errors="replace")[-3000:]  # noqa: E731
        ready = f"http://127.0.0.1:{prometheus_port}/-/ready"
        wait_until_serving(prometheus, lambda: answers_ok(ready), 60, "prometheus", prometheus_logs)
        upstreams = {"grafana": grafana.server_address[1], "prometheus": prometheus_port,
                     "mailpit": mailpit.http_port, "otelmon-api": api.port}  # fmt: skip
        main = render(port, upstreams, work)
        checked = subprocess.run([nginx_binary(), "-t", "-c", str(main), "-e", str(work / "error.log")],
                                 capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
        assert checked.returncode == 0, checked.stderr
        assert "test is successful" in checked.stderr
        nginx = subprocess.Popen([nginx_binary(), "-c", str(main), "-e", str(work / "error.log")])
        stack.append(lambda: (nginx.terminate(), nginx.wait(timeout=20)))
        wait_until_serving(nginx, lambda: answers_ok(f"{url}/healthz"), 20, "nginx",
                           lambda: (work / "error.log").read_text(errors="replace")[-3000:])  # fmt: skip
        yield Proxied(url, api)
    finally:
        for stop in reversed(stack):
            stop()
        grafana.shutdown()


def get(proxied: Proxied, path: str) -> httpx.Response:
    return httpx.get(proxied.url + path, timeout=15, follow_redirects=False)


def test_the_root_sends_people_to_the_console(proxied: Proxied) -> None:
    answer = get(proxied, "/")
    assert answer.status_code == 302
    assert answer.headers["location"] == "/api/console/"


@pytest.mark.parametrize("prefix", ["/grafana", "/prometheus", "/mailpit", "/api"])
def test_a_prefix_without_its_slash_is_redirected_to_it(proxied: Proxied, prefix: str) -> None:
    answer = get(proxied, prefix)
    assert answer.status_code == 301
    assert answer.headers["location"] == prefix + "/"


def test_grafana_gets_its_own_paths_and_the_browsers_host(proxied: Proxied) -> None:
    # Grafana's root_url carries /grafana/ (GF_SERVER_ROOT_URL), so it expects the prefix stripped.
    seen = get(proxied, "/grafana/api/health?x=1").raise_for_status().json()
    assert seen["path"] == "/api/health?x=1"
    assert seen["host"] == proxied.url.removeprefix("http://")


def test_prometheus_answers_under_its_path_with_links_that_keep_it(proxied: Proxied) -> None:
    assert get(proxied, "/prometheus/-/ready").status_code == 200
    result = get(proxied, "/prometheus/api/v1/query?query=1%2B1").raise_for_status().json()
    assert result["data"]["result"][1] == "2"
    # --web.external-url: the UI's own redirect stays under /prometheus/.
    home = get(proxied, "/prometheus/")
    assert home.status_code == 302
    assert home.headers["location"].startswith("/prometheus/")
    # The redirect's target reaches Prometheus's UI handler. A build from Go modules carries no UI assets
    # (they come from npm in a release), so that handler's own complaint is the proof it was reached.
    page = httpx.get(proxied.url + home.headers["location"], timeout=15)
    assert page.status_code == 200 or "React index.html" in page.text, page.text[:300]


def test_mailpit_serves_its_ui_and_api_under_its_webroot(proxied: Proxied) -> None:
    pinned_info = get(proxied, "/mailpit/api/v1/info").raise_for_status().json()
    assert pinned_info["Version"]
    page = get(proxied, "/mailpit/")
    assert page.status_code == 200
    assert 'src="/mailpit/dist/' in page.text or "/mailpit/dist/" in page.text
    assert get(proxied, "/mailpit/readyz").status_code == 200


def test_the_api_console_and_docs_work_under_api(proxied: Proxied) -> None:
    assert get(proxied, "/api/healthz").status_code == 200
    console = get(proxied, "/api/console/")
    assert console.status_code == 200, console.text[:500]
    assert 'href="/api/console' in console.text
    docs = get(proxied, "/api/docs")
    assert docs.status_code == 200
    assert "/api/openapi.json" in docs.text
    assert get(proxied, "/api/openapi.json").status_code == 200
    # The API's own port still answers without the prefix (the container's healthcheck).
    assert httpx.get(f"{proxied.api.url}/readyz", timeout=10).status_code == 200
