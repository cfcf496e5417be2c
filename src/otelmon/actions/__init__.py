"""Signed action links in alerts: "mute this failure for 24 h", "acknowledge until resolved" (docs/design.md
"Silences and acknowledgement")."""
