"""The queries inside the provisioned Grafana dashboards, with Grafana's macros expanded.

Grafana expands its macros before a query reaches the database, so the tests do the same here:
only the macros the MySQL datasource documents, and an unknown one is an error (a dashboard
must not use a macro these tests cannot check).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from tests.stack.stack_paths import DASHBOARDS


@dataclass(frozen=True)
class Query:
    dashboard: str
    panel: str
    datasource_uid: str
    text: str


def dashboards() -> dict[str, dict]:
    files = sorted(DASHBOARDS.glob("*.json"))
    if not files:
        raise AssertionError(f"no dashboards in {DASHBOARDS}")
    return {f.name: json.loads(f.read_text(encoding="utf-8")) for f in files}


def _panels(panels: list[dict]) -> Iterator[dict]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _uid(datasource: object) -> str | None:
    if isinstance(datasource, dict):
        return datasource.get("uid")
    return None


def datasource_uids(dashboard: dict) -> set[str]:
    """Every datasource uid a dashboard names: panels, their targets and template variables."""
    uids: set[str] = set()
    for panel in _panels(dashboard.get("panels", [])):
        for ds in [panel.get("datasource")] + [t.get("datasource") for t in panel.get("targets", [])]:
            if (uid := _uid(ds)) is not None:
                uids.add(uid)
    for variable in dashboard.get("templating", {}).get("list", []):
        if (uid := _uid(variable.get("datasource"))) is not None:
            uids.add(uid)
    return uids


def queries(uid: str) -> list[Query]:
    """Every query sent to the datasource ``uid``: panel targets and template variable queries."""
    found: list[Query] = []
    for name, board in dashboards().items():
        for panel in _panels(board.get("panels", [])):
            for target in panel.get("targets", []):
                ds_uid = _uid(target.get("datasource")) or _uid(panel.get("datasource"))
                if ds_uid != uid:
                    continue
                text = target.get("rawSql") or target.get("expr")
                if not text:
                    raise AssertionError(f"{name} / {panel.get('title')}: a target without a query")
                found.append(Query(name, panel.get("title", ""), ds_uid, text))
        for variable in board.get("templating", {}).get("list", []):
            if variable.get("type") != "query" or _uid(variable.get("datasource")) != uid:
                continue
            query = variable.get("query")
            text = query.get("query") if isinstance(query, dict) else query
            found.append(Query(name, f"variable ${variable['name']}", uid, text))
    return found


_DURATION = re.compile(r"^'?(\d+)(ms|s|m|h|d)'?$")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _interval_seconds(text: str) -> int:
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"not a Grafana interval: {text!r}")
    return max(1, int(int(match.group(1)) * _SECONDS[match.group(2)]))


def expand_sql(sql: str, start: datetime, end: datetime, variables: dict[str, str], interval: str = "1m") -> str:
    """Expand the MySQL datasource's macros and the dashboard's variables the way Grafana does."""
    t0, t1 = int(start.timestamp()), int(end.timestamp())
    text = sql.replace("$__interval_ms", str(_interval_seconds(interval) * 1000))
    text = text.replace("$__interval", interval)

    def macro(match: re.Match[str]) -> str:
        name, args = match.group(1), [a.strip() for a in match.group(2).split(",") if a.strip()]
        if name == "timeFilter":
            return f"{args[0]} BETWEEN FROM_UNIXTIME({t0}) AND FROM_UNIXTIME({t1})"
        if name == "timeFrom":
            return f"FROM_UNIXTIME({t0})"
        if name == "timeTo":
            return f"FROM_UNIXTIME({t1})"
        if name in ("timeGroup", "timeGroupAlias"):
            seconds = _interval_seconds(args[1])
            group = f"UNIX_TIMESTAMP({args[0]}) DIV {seconds} * {seconds}"
            return f'{group} AS "time"' if name == "timeGroupAlias" else group
        if name == "unixEpochFilter":
            return f"{args[0]} >= {t0} AND {args[0]} <= {t1}"
        raise AssertionError(f"macro $__{name} is not expanded by these tests")

    text = re.sub(r"\$__(\w+)\(([^()]*)\)", macro, text)
    for name, value in sorted(variables.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(f"${{{name}}}", value).replace(f"${name}", value)
    if "$" in text:
        raise AssertionError(f"unexpanded variable or macro left in:\n{text}")
    return text


def expand_promql(expr: str, variables: dict[str, str]) -> str:
    """Grafana's built-in range variables and the dashboard's variables, as Grafana substitutes them."""
    text = expr
    builtins = {"__rate_interval": "1m", "__interval": "30s", "__range": "1h", "__range_s": "3600"}
    for name, value in sorted({**builtins, **variables}.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(f"${{{name}}}", value).replace(f"${name}", value)
    if "$" in text:
        raise AssertionError(f"unexpanded variable left in: {text}")
    return text
