"""What a failure is: extraction from spans, identity and fingerprint (DESIGN.md, "What a failure is")."""
