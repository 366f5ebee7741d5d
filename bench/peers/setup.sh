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

# cgmquantify 0.5 cannot build as published: its setup.py reads a README.md that its sdist does
# not ship. pip fetches the sdist (--no-clean keeps the unpacked tree when the build fails); we
# add an empty README.md and install that tree. Its code is used as published.
if ! "$bench/.peers-venv/bin/python" -c "import cgmquantify" 2>/dev/null; then
  work="$(mktemp -d)"
  TMPDIR="$work" "$bench/.peers-venv/bin/pip" download -q --no-deps --no-clean \
    -d "$work" cgmquantify==0.5 >/dev/null 2>&1 || true
  tree="$(dirname "$(find "$work" -name setup.py -path '*cgmquantify*' | head -n1)")"
  [ -f "$tree/setup.py" ] || { echo "cgmquantify sdist not found" >&2; exit 1; }
  touch "$tree/README.md"
  "$bench/.peers-venv/bin/pip" install -q --no-deps "$tree"
  "$bench/.peers-venv/bin/pip" install -q statsmodels matplotlib
  rm -rf "$work"
fi

"$python" -m venv "$bench/.peers-venv-numpy1"
"$bench/.peers-venv-numpy1/bin/pip" install -q -r "$here/requirements-numpy1.txt"
"$bench/.peers-venv-numpy1/bin/pip" install -q --no-deps diametrics==0.4.3 cgmac==0.1.0
echo "peers installed in $bench/.peers-venv and $bench/.peers-venv-numpy1"
