"""NiFi's real ExecuteScript processor (Jython engine) on ExecutePython.py, under NiFi's mock framework.

The JUnit tests live in nifi/test-module (success, failure, timeout, traceparent, an interpreter that cannot
start; each checks the FlowFile written back and the span exported to a loopback OTLP sink). This runs
them with Maven, offline from the repository that scripts/setup/nifi.sh filled.
"""

from __future__ import annotations

import re
import subprocess

from tests.nifi.conftest import PYTHON, SCRIPTS, TEST_MODULE

MAVEN_TIMEOUT = 900


def test_execute_script_on_execute_python_passes_its_junit_tests(nifi_artifacts):
    done = subprocess.run(
        [
            "mvn", "-B", "-o", "-Dstyle.color=never", "-f", str(TEST_MODULE / "pom.xml"), "test",
            f"-Dotelmon.python={PYTHON}", f"-Dotelmon.scripts.dir={SCRIPTS}",
        ],
        capture_output=True, text=True, timeout=MAVEN_TIMEOUT, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-8000:]
    totals = re.findall(r"^\[INFO\] Tests run: (\d+), Failures: (\d+), Errors: (\d+), Skipped: (\d+)$", output, re.M)
    assert totals, output[-4000:]
    run, failures, errors, skipped = map(int, totals[-1])
    assert run >= 5 and failures == errors == skipped == 0, totals[-1]
