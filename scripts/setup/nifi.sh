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

# go-offline fetches the dependencies, the plugins and the plugins' declared dependencies. Surefire's JUnit
# Platform provider and launcher are declared in the pom for that reason: Surefire would otherwise resolve
# them only when tests really run, which the offline test run (-o) cannot do on a new machine.
timeout 1200 mvn -B -q -f "${pom}" dependency:go-offline
# Maven 3.8 itself adds plexus-utils 1.1 to the class path of a plugin that does not depend on plexus-utils
# (its PlexusUtilsInjector; Surefire is one): nothing declares it, so go-offline cannot see it.
timeout 300 mvn -B -q -f "${pom}" dependency:get -Dartifact=org.codehaus.plexus:plexus-utils:1.1 -Dtransitive=false
# Proves, offline, that compiling and starting Surefire need nothing more (a run that selects no test).
timeout 600 mvn -B -q -o -f "${pom}" test -Dtest=NoSuchTest -Dsurefire.failIfNoSpecifiedTests=false
timeout 300 mvn -B -q -f "${pom}" -o dependency:copy-dependencies \
    -DincludeArtifactIds=nifi-python-extension-api -DoutputDirectory=target/nifiapi
