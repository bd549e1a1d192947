#!/usr/bin/env bash
# A local Label Studio for development and notebooks: label-studio 1.23.2 in its own virtual
# environment (installed on first use, a few minutes), on a free loopback port, with the admin
# user from LABEL_STUDIO_USERNAME / LABEL_STUDIO_PASSWORD. `start` prints the two lines that
# point teachable at it (URL and a personal access token):
#   export LABEL_STUDIO_USERNAME=me@example.com LABEL_STUDIO_PASSWORD='a long password'
#   eval "$(bash scripts/labelstudio.sh start)"     # data in ~/.cache/teachable/label-studio-data
#   bash scripts/labelstudio.sh stop
#   bash scripts/labelstudio.sh start --data-dir /srv/ls --port 8080
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
exec "$PYTHON" -m quality.review.devserver "$@"
