"""Pipeline runs: one record per task try with its outcome (docs/design.md, "Pipeline runs, issues and the
alert policy")."""
