"""Time per FlowFile through NiFi's ExecuteScript (mock framework) + ExecutePython.py + nifi.py.

Runs nifi/test-module's ExecutePythonBench with Maven (offline: run scripts/setup/nifi.sh once first) and
prints its figures. Usage: .venv/bin/python benchmarks/nifi_flowfile.py [FLOWFILES]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 900


def main() -> int:
    flowfiles = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    done = subprocess.run(
        [
            "mvn", "-B", "-o", "-Dstyle.color=never", "-f", str(REPO / "nifi" / "test-module" / "pom.xml"), "test",
            "-Dtest=ExecutePythonBench", "-Dsurefire.failIfNoSpecifiedTests=false", f"-Dbench.flowfiles={flowfiles}",
            f"-Dotelmon.python={sys.executable}", f"-Dotelmon.scripts.dir={REPO / 'nifi' / 'scripts'}",
        ],
        capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )  # fmt: skip
    lines = [line.removeprefix("BENCH ") for line in done.stdout.splitlines() if line.startswith("BENCH ")]
    if done.returncode != 0 or not lines:
        print(done.stdout[-6000:], done.stderr[-2000:], sep="\n", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
