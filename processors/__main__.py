"""`python -m processors`: run one faust worker with settings from the environment."""

from __future__ import annotations

import faust

from infra.logs import configure
from processors.app import create_app
from processors.settings import WorkerSettings


def main() -> None:
    configure()
    app = create_app(WorkerSettings.from_env())
    faust.Worker(app, loglevel="warning").execute_from_commandline()


if __name__ == "__main__":
    main()
