"""The rendered GPU and Kueue alert rules through the real promtool: syntax, and fixtures that fire and don't."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from spec_assertions import DEPLOYERS

from mlinfra.k8s.dashboards import dashboard_queries, gpu_dashboards
from mlinfra.offline.render import render_environment

HERE = Path(__file__).resolve().parent
SPEC = {
    "environment": "test",
    "clusters": [
        {"name": "gpu", "cloud": "gcp", "endpoint": DEPLOYERS,
         "region": "us-central1", "project": "p", "scheduler": "kueue",
         "pools": [{"name": "l4", "gpu": "L4-24GB", "machine_type": "g2-standard-8", "max_nodes": 2}]},
    ],
}


def promtool() -> str:
    """The promtool binary; a missing one fails the test with how to install it."""
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool not found: install Debian's prometheus package (apt-get install -y prometheus)",
                    pytrace=False)
    return found


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], capture_output=True, text=True, cwd=cwd, check=False)


@pytest.fixture(scope="module")
def rule_files(tmp_path_factory) -> dict[str, Path]:
    """Every rendered PrometheusRule's groups, written as a Prometheus rule file."""
    files = render_environment(SPEC)
    out = tmp_path_factory.mktemp("rules")
    written = {}
    for path, text in files.items():
        doc = yaml.safe_load(text) if path.startswith("manifests/") else None
        if doc and doc.get("kind") == "PrometheusRule":
            target = out / f"{doc['metadata']['name']}.yaml"
            target.write_text(yaml.safe_dump({"groups": doc["spec"]["groups"]}, sort_keys=False))
            written[path] = target
    assert written, "the render holds no PrometheusRule"
    return written


def test_every_rendered_rule_file_passes_promtool_check(rule_files):
    for path, file in rule_files.items():
        result = run("check", "rules", str(file))
        assert result.returncode == 0, f"{path}:\n{result.stdout}{result.stderr}"
        assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("fixture", ["gpu_alerts_test.yaml", "kueue_alerts_test.yaml"])
def test_alerts_fire_and_stay_quiet_on_fixtures(fixture, rule_files, tmp_path):
    tests = yaml.safe_load((HERE / fixture).read_text())
    tests["rule_files"] = [str(f) for f in rule_files.values()]
    target = tmp_path / fixture
    target.write_text(yaml.safe_dump(tests, sort_keys=False))
    result = run("test", "rules", str(target))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_fixtures_cover_every_alert(rule_files):
    alerts = {r["alert"] for f in rule_files.values() for g in yaml.safe_load(f.read_text())["groups"]
              for r in g["rules"]}
    tested = {t["alertname"] for name in ("gpu_alerts_test.yaml", "kueue_alerts_test.yaml")
              for case in yaml.safe_load((HERE / name).read_text())["tests"] for t in case["alert_rule_test"]
              if t.get("exp_alerts")}
    assert alerts == tested


def test_a_broken_rule_is_refused_by_promtool(tmp_path):
    # The check above would pass vacuously if promtool accepted anything.
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"groups": [{"name": "x", "rules": [{"alert": "A", "expr": "rate(x[5m]"}]}]}))
    assert run("check", "rules", str(bad)).returncode != 0


def test_dashboard_queries_parse(tmp_path):
    # promtool has no query linter offline, but a recording rule is parsed like any expression.
    rules = [{"record": f"mlinfra:dashboard_{i}", "expr": q}
             for i, q in enumerate(q for b in gpu_dashboards("c").values() for q in dashboard_queries(b))]
    file = tmp_path / "dashboards.yaml"
    file.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = run("check", "rules", str(file))
    assert result.returncode == 0, result.stdout + result.stderr
