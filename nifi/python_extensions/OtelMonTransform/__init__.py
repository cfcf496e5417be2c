# NiFi 2.x loads this folder as one extension package: OtelMonTransform.py plus nifi.py (the OtelMon
# runner, copied here from nifi/scripts/ at deployment), which NiFi imports first as a local dependency.
