#!/usr/bin/env bash
# NiFi test set-up, idempotent: fills the local Maven repository with what nifi/test-module needs (NiFi's
# mock framework, the scripting processors, Jython, JUnit, Surefire's JUnit provider), so later runs work
# offline, and puts NiFi 2's nifiapi jar (Python sources) where tests/nifi imports it from.
# Needs java and mvn (scripts/setup/system.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/../.."
pom=nifi/test-module/pom.xml

for tool in java mvn; do
    command -v "${tool}" >/dev/null 2>&1 || { echo "${tool} is missing: run scripts/setup/system.sh" >&2; exit 1; }
done

timeout 1200 mvn -B -q -f "${pom}" dependency:go-offline
# Surefire resolves its JUnit provider only when it runs; a run that selects no test fetches it.
timeout 600 mvn -B -q -f "${pom}" test -Dtest=NoSuchTest -Dsurefire.failIfNoSpecifiedTests=false
timeout 300 mvn -B -q -f "${pom}" -o dependency:copy-dependencies \
    -DincludeArtifactIds=nifi-python-extension-api -DoutputDirectory=target/nifiapi
