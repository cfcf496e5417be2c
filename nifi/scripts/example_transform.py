"""Example OtelMon NiFi transform: upper-cases a CSV's header line and counts its data rows.

Wire it with ExecutePython.py (NiFi 1.x) or OtelMonTransform (NiFi 2.x). Any exception fails the
FlowFile and becomes an ERROR span in OtelMon; the `fail` attribute forces one for a demonstration.
"""


def transform(content: bytes, attributes: dict) -> dict:
    if attributes.get("fail") == "true":
        raise ValueError(f"asked to fail by FlowFile {attributes.get('filename', '?')}")
    lines = content.decode("utf-8").splitlines()
    if not lines:
        raise ValueError("empty CSV: no header line")
    lines[0] = lines[0].upper()
    return {
        "content": "\n".join(lines) + "\n",
        "attributes": {"csv.row.count": str(len(lines) - 1)},
    }
