"""Real servers for tests and benchmarks: a private MariaDB, the OtelMon API under uvicorn, SMTP."""
