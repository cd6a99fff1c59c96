#!/usr/bin/env bash
# Creates (once) the Python virtual environment with pymesos 0.3.15 that the interop test
# `tests/pymesos_e2e.rs` drives against our master and agent.
#
# Usage: setup-venv.sh <venv dir>
#
# pymesos needs http-parser 0.9.0, whose C extension does not build on Python 3.11. Its
# setup.py builds the extension unless asked not to, so the sdist is unpacked and its
# `run_setup` call switched to the pure-Python parser before it is installed; pymesos then
# imports `http_parser.pyparser`. Versions are pinned so every run installs the same code.
set -euo pipefail

venv=${1:?usage: setup-venv.sh <venv dir>}
stamp="$venv/.pymesos-0.3.15-ready"
if [[ -f $stamp ]]; then
    exit 0
fi

python=${PYTHON:-python3}
rm -rf "$venv"
"$python" -m venv "$venv"
pip=("$venv/bin/pip" --disable-pip-version-check --quiet)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"${pip[@]}" download --no-deps --no-binary :all: --dest "$work" http-parser==0.9.0
tar -xzf "$work"/http-parser-0.9.0.tar.gz -C "$work"
setup="$work/http-parser-0.9.0/setup.py"
grep -q '^    run_setup(not IS_PYPY)$' "$setup" || {
    echo "http-parser's setup.py changed: cannot disable its C extension" >&2
    exit 1
}
sed -i 's/^    run_setup(not IS_PYPY)$/    run_setup(False)/' "$setup"
"${pip[@]}" install "$work/http-parser-0.9.0"
"${pip[@]}" install six==1.17.0 addict==2.4.0 kazoo==2.11.0
"${pip[@]}" install --no-deps pymesos==0.3.15

"$venv/bin/python" - <<'PY'
import http_parser.http, pymesos
assert http_parser.http.HttpParser.__module__ == "http_parser.pyparser", http_parser.http.HttpParser
PY
touch "$stamp"
