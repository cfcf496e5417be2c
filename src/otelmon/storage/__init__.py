"""Storage on SQLAlchemy Core: MariaDB in production, SQLite with no configuration at all."""
