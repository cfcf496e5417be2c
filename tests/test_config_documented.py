"""docs/design.md: every setting is listed with its default in .env.example."""

import re
from pathlib import Path

from otelmon.config import Settings

ENV_EXAMPLE = Path(__file__).resolve().parents[1] / ".env.example"


def test_every_setting_is_in_env_example_with_its_default(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    text = ENV_EXAMPLE.read_text()
    active = dict(re.findall(r"^(OTELMON_[A-Z0-9_]+)=(.*)$", text, flags=re.MULTILINE))
    # A setting whose package default differs from the stack's is documented commented out (see the file).
    commented = dict(re.findall(r"^# (OTELMON_[A-Z0-9_]+)=(.*)$", text, flags=re.MULTILINE))
    missing = [name for name in Settings.model_fields if f"OTELMON_{name.upper()}" not in active | commented]
    assert missing == []
    for key, value in commented.items():
        name = key.removeprefix("OTELMON_").lower()
        if key not in active and name in Settings.model_fields:
            assert str(Settings.model_fields[name].default) == value, key
    # Loading the file's values must give exactly the defaults (an empty value means "unset").
    for key in list(active):
        monkeypatch.delenv(key, raising=False)
    defaults = Settings()
    documented = Settings(_env_file=ENV_EXAMPLE)
    assert documented.model_dump() == defaults.model_dump()
