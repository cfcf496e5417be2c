"""Email shared by immediate alerts and the digest: templates, MIME assembly, SMTP delivery."""
