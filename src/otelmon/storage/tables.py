"""Table objects reflected from the database, so ``sql/`` stays the only description of the schema."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, MetaData, Table


@dataclass(frozen=True)
class Tables:
    failures: Table
    alert_outbox: Table
    alerts: Table
    alert_fingerprints: Table
    alert_deliveries: Table
    digests: Table
    silences: Table
    runs: Table
    issues: Table

    @classmethod
    def reflect(cls, engine: Engine) -> Tables:
        metadata = MetaData()
        metadata.reflect(engine, only=["failures", "alert_outbox", "alerts", "alert_fingerprints", "alert_deliveries",
                                     "digests", "silences", "runs", "issues"])
        t = metadata.tables
        return cls(
            failures=t["failures"],
            alert_outbox=t["alert_outbox"],
            alerts=t["alerts"],
            alert_fingerprints=t["alert_fingerprints"],
            alert_deliveries=t["alert_deliveries"],
            digests=t["digests"],
            silences=t["silences"],
            runs=t["runs"],
            issues=t["issues"],
        )
