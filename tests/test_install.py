"""A plain `pip install .` (no extras) in a fresh venv runs every command on a stack folder outside the checkout.

Slow (about four minutes: the cloud SDK wheels are large even from the pip cache), so it is marked `install`
and left out of the default run; `.ci/run` runs it as its own step: `./run.sh test -m install tests/test_install.py`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest
from upstream_server import serve

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.install


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Iterator[tuple[Path, dict[str, str], Path]]:
    """A fresh venv with `pip install <checkout>` (no extras), an empty XDG cache, and a stack folder elsewhere."""
    tmp = tmp_path_factory.mktemp("fresh-install")
    venv.create(tmp / "venv", with_pip=True)
    pip = [str(tmp / "venv" / "bin" / "python"), "-m", "pip"]
    subprocess.run([*pip, "install", "--quiet", str(ROOT)], check=True, capture_output=True, text=True)
    # A user's own platform project: the documented program and one environment, nothing else of the checkout.
    project = tmp / "my-platform"
    (project / "stacks").mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    shutil.copy(ROOT / "stacks" / "__main__.py", project / "stacks" / "__main__.py")
    shutil.copy(ROOT / "stacks" / "Pulumi.dev.yaml", project / "stacks" / "Pulumi.dev.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLINFRA_", "PYTHON", "VIRTUAL_ENV"))}
    env["XDG_CACHE_HOME"] = str(tmp / "cache")
    env["PATH"] = f"{tmp / 'venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    yield tmp / "venv", env, project


def _run(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mlinfra", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


def test_only_the_base_dependencies_are_installed(fresh):
    venv_dir, env, _ = fresh
    freeze = subprocess.run([str(venv_dir / "bin" / "python"), "-m", "pip", "freeze"], env=env,
                            capture_output=True, text=True, check=True).stdout.lower()
    assert "mlinfra-pulumi" in freeze or "mlinfra_pulumi" in freeze
    for dev_tool in ("pytest", "ruff", "mypy", "hypothesis"):
        assert f"\n{dev_tool}==" not in f"\n{freeze}", dev_tool


def test_every_command_runs_outside_the_checkout(fresh, upstream):
    venv_dir, env, project = fresh
    from importlib.metadata import version

    out = _run(env, project, "--version")
    assert out.returncode == 0 and out.stdout == f"mlinfra-pulumi {version('mlinfra-pulumi')}\n", out.stderr
    render = _run(env, project, "render", "--stack", "dev", "--out", "build/dev")
    assert render.returncode == 0, render.stderr
    assert (project / "build" / "dev" / "outputs.json").is_file()
    # No contracts yet: validate says what to run.
    missing = _run(env, project, "validate", "build/dev")
    assert missing.returncode == 2 and "Run `mlinfra upstream fetch`" in missing.stderr
    with serve(upstream) as server:
        fetch = _run(env, project, "upstream", "fetch", "--base-url", server.base_url, "--quiet")
    assert fetch.returncode == 0, fetch.stderr
    validate = _run(env, project, "validate", "build/dev")
    assert validate.returncode == 0, validate.stdout + validate.stderr
    summary = validate.stdout.splitlines()[-1]
    assert summary.startswith("validated ") and " 0 errors" in summary, validate.stdout
    check = _run(env, project, "check", "build/dev")
    assert check.returncode in (0, 1), check.stderr  # open findings are the user's to waive; no crash
    assert "Traceback" not in check.stderr
    same = _run(env, project, "diff", "build/dev", "build/dev", "--detailed-exitcode")
    assert same.returncode == 0 and "No changes." in same.stdout, same.stderr
    catalog = _run(env, project, "catalog", "mig", "--gpu", "H100-80GB")
    assert catalog.returncode == 0 and "3g.40gb" in catalog.stdout, catalog.stderr


def test_a_user_project_type_checks_against_mlinfra(fresh, tmp_path):
    """py.typed ships: mypy in a user's project sees mlinfra's annotations (and catches a misuse)."""
    venv_dir, _, _ = fresh
    user = tmp_path / "team_code.py"
    user.write_text("from mlinfra.catalog.versions import KUEUE\n\nversion: int = KUEUE.version\n")
    result = subprocess.run([sys.executable, "-m", "mypy", "--python-executable", str(venv_dir / "bin" / "python"),
                             "--no-incremental", str(user)], cwd=tmp_path, capture_output=True, text=True,
                            check=False)
    assert 'Incompatible types in assignment (expression has type "str", variable has type "int")' in result.stdout
    assert "missing library stubs or py.typed marker" not in result.stdout
