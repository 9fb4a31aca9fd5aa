#!/usr/bin/env bash
# Creates a virtualenv with SQLAlchemy 1.4 / Flask-SQLAlchemy 2.5 / Flask 2.2: the stack
# the programs in tests/legacy_programs/ were written for. tests/test_legacy_programs.py
# runs the *original* programs with it when SQLA_UPGRADE_LEGACY_PYTHON points to its
# interpreter, proving that expected_output.txt is what they print.
#
#   bash tests/legacy_programs/make_legacy_venv.sh /tmp/legacy-venv
#   export SQLA_UPGRADE_LEGACY_PYTHON=/tmp/legacy-venv/bin/python
#
# The interpreter's path is the only thing printed on stdout. PYTHON picks the base
# interpreter (default: python3).
set -euo pipefail

if [ "$#" -ne 1 ]; then
  echo "usage: $0 VENV_DIR" >&2
  exit 2
fi
venv=$1
python=${PYTHON:-python3}

requirements=(
  "sqlalchemy==1.4.54"
  "flask-sqlalchemy==2.5.1"
  "flask==2.2.5"
  "werkzeug==2.2.3"
  "jinja2==3.1.6"
  "itsdangerous==2.2.0"
  "click==8.5.1"
  "markupsafe==3.0.4"
  "greenlet==3.5.6"
)

check='import sqlalchemy, flask_sqlalchemy, flask, werkzeug
assert sqlalchemy.__version__.startswith("1.4."), sqlalchemy.__version__'

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" >/dev/null 2>&1; then
  echo "reusing $venv" >&2
else
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "${requirements[@]}" >&2
  "$venv/bin/python" -c "$check"
fi
echo "$venv/bin/python"
