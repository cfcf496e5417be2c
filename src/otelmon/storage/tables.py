"""Table objects reflected from the database, so ``sql/`` stays the only description of the schema."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, MetaData, Table


@dataclass(frozen=True)
class Tables:
    failures: Table

    @classmethod
    def reflect(cls, engine: Engine) -> Tables:
        metadata = MetaData()
        return cls(failures=Table("failures", metadata, autoload_with=engine))
