"""The `microturn` command line: one entry point (`infra.cli.main`), one module per group of commands."""
