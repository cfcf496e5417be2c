"""Issues: the life of one fingerprint, new -> ongoing -> resolved -> regressed (docs/design.md, "Pipeline runs,
issues and the alert policy"). ``lifecycle`` holds the transitions, ``storage`` applies them in the ingest
transaction and reads them for the API, the CLI and the digest."""
