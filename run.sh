#!/usr/bin/env bash
# Quick start. `./run.sh` renders and validates the dev stack offline and prints its summary;
# `./run.sh test` runs the test suite. Both set up .venv (and promtool for the alert-rule tests) first.
set -euo pipefail
cd "$(dirname "$0")"

setup() {
  if [ ! -x .venv/bin/mlinfra ] || [ pyproject.toml -nt .venv/.installed ]; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --upgrade pip
    .venv/bin/pip install --quiet -e '.[dev]'
    touch .venv/.installed
  fi
}

need_promtool() {
  if ! command -v promtool >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
    else
      echo "promtool not found: install Debian's 'prometheus' package (the alert-rule tests run it)" >&2
    fi
  fi
}

case "${1:-render}" in
  render)
    setup
    stack="${2:-dev}"
    .venv/bin/mlinfra render --stack "$stack" --out "build/$stack"
    .venv/bin/mlinfra validate "build/$stack"
    ;;
  test)
    setup
    need_promtool
    shift || true
    set +e
    .venv/bin/python -m pytest "$@"
    code=$?
    set -e
    # pytest exits 5 when it collected no tests: that is a failure, not a pass.
    if [ "$code" = 5 ]; then echo "no tests were collected" >&2; exit 1; fi
    exit "$code"
    ;;
  *)
    echo "usage: ./run.sh [render [STACK] | test [PYTEST ARGS...]]" >&2
    exit 2
    ;;
esac
