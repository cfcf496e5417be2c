"""What a failure is: extraction from spans, identity and fingerprint (docs/design.md, "What a failure is")."""
