#!/usr/bin/env bash
# Everything microturn needs on a fresh machine, idempotent and quick when already done:
# Debian packages (Java 17, Maven), uv, the locked Python environment, the Kafka jars.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@"
}

missing=()
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v ffprobe >/dev/null || missing+=(ffmpeg)  # export tests check files with ffprobe
command -v espeak-ng >/dev/null || missing+=(espeak-ng)  # the spoken turn-taking corpus (inference/training/speech.py)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  apt_install "${missing[@]}"
fi

UV=(uv)
if ! command -v uv >/dev/null; then
  python3 -m uv --version >/dev/null 2>&1 || {
    echo "setup: installing uv"
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "uv==0.13.9"
  }
  UV=(python3 -m uv)
fi

"${UV[@]}" sync --frozen --quiet
.venv/bin/python -c "from pathlib import Path; import os; from infra.kafka import jar_dir; \
jar_dir(Path(os.environ.get('MICROTURN_CACHE_DIR', Path.home() / '.cache' / 'microturn')))"
