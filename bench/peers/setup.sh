#!/usr/bin/env bash
# Create the peers' own virtualenvs for `python -m bench metrics` (never the app's venv):
#   bench/.peers-venv         GlucoStats 1.0.0 (numpy 2.2.3 / pandas 2.2.3 pins) + cgmpy
#   bench/.peers-venv-numpy1  diametrics + cgmac, which need numpy < 2 and conflicting pins,
#                             so they go in with --no-deps on top of requirements-numpy1.txt
# Safe to run twice: an existing venv is reused and pip skips what is installed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bench="$(dirname "$here")"
python="${PYTHON:-python3}"

"$python" -m venv "$bench/.peers-venv"
"$bench/.peers-venv/bin/pip" install -q -r "$here/requirements.txt"

"$python" -m venv "$bench/.peers-venv-numpy1"
"$bench/.peers-venv-numpy1/bin/pip" install -q -r "$here/requirements-numpy1.txt"
"$bench/.peers-venv-numpy1/bin/pip" install -q --no-deps diametrics==0.4.3 cgmac==0.1.0
echo "peers installed in $bench/.peers-venv and $bench/.peers-venv-numpy1"
