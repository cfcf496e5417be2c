# The real collector's binary, found or built as tests/collector does it.
from tests.collector.conftest import otelcol_binary  # noqa: F401
