# The two commands of the README: `make demo` and `make test`. Both set everything up first.
.PHONY: setup demo test lint bench down

setup:
	@bash infra/setup.sh

demo: setup
	.venv/bin/microturn demo

test: setup
	.venv/bin/python -m pytest

lint: setup
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

down:
	.venv/bin/microturn down
