"""The `microturn` command line: one entry point, one module per group of commands."""

from infra.cli.main import main

__all__ = ["main"]
