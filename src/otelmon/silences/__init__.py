"""Silences and acknowledgements: failures that are stored and shown, never notified (docs/design.md
"Silences and acknowledgement")."""
