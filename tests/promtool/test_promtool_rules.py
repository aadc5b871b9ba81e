"""The rendered GPU and Kueue alert rules through the real promtool: syntax, and fixtures that fire and don't.

One rendered cluster per kind of GPU node, because the rules follow what the nodes advertise and expose:
whole GPUs (`nvidia.com/gpu`, utilisation from DCGM_FI_DEV_GPU_UTIL), MIG devices under the mixed strategy
(`nvidia.com/mig-<profile>`, utilisation from DCGM_FI_PROF_GR_ENGINE_ACTIVE: NVIDIA/dcgm-exporter#216), and
renamed time-slicing (`nvidia.com/gpu.shared` only).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from spec_assertions import DEPLOYERS, EKS_REACHABLE

from mlinfra.offline.render import render_environment

HERE = Path(__file__).resolve().parent
SPEC = {
    "environment": "test",
    "clusters": [
        {"name": "gpu", "cloud": "gcp", "region": "us-central1", "project": "p", "scheduler": "kueue",
         "endpoint": DEPLOYERS,
         "pools": [{"name": "l4", "gpu": "L4-24GB", "machine_type": "g2-standard-8", "max_nodes": 2}]},
    ],
}
MIG_SPEC = {
    "environment": "test",
    "clusters": [
        {"name": "gpu", "cloud": "aws", "region": "us-east-1", "scheduler": "none", **EKS_REACHABLE,
         "pools": [{"name": "h100-mig", "gpu": "H100-80GB", "max_nodes": 2,
                    "mig": {"profiles": {"3g.40gb": 1, "2g.20gb": 2}}},
                   {"name": "l4", "gpu": "L4-24GB", "max_nodes": 2}]},
    ],
}
SHARED_SPEC = {
    "environment": "test",
    "clusters": [
        {"name": "gpu", "cloud": "aws", "region": "us-east-1", "scheduler": "none", **EKS_REACHABLE,
         "pools": [{"name": "l4-shared", "gpu": "L4-24GB", "max_nodes": 2,
                    "time_slicing": {"replicas": 4, "rename_by_default": True}}]},
    ],
}
# (case, spec, fixtures, whether the fixtures must cover every alert the case renders)
CASES = [
    ("whole-gpus", SPEC, ("gpu_alerts_test.yaml", "kueue_alerts_test.yaml"), True),
    ("mig-mixed", MIG_SPEC, ("gpu_alerts_mig_test.yaml",), False),
    ("renamed-shared", SHARED_SPEC, ("gpu_alerts_shared_test.yaml",), False),
]


def promtool() -> str:
    """The promtool binary; a missing one fails the test with how to install it."""
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool not found: install Debian's prometheus package (apt-get install -y prometheus)",
                    pytrace=False)
    return found


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], capture_output=True, text=True, cwd=cwd, check=False)


def _rule_files(spec: dict, out: Path) -> dict[str, Path]:
    """Every rendered PrometheusRule's groups, written as a Prometheus rule file."""
    files = render_environment(spec)
    written = {}
    for path, text in files.items():
        doc = yaml.safe_load(text) if path.startswith("manifests/") else None
        if doc and doc.get("kind") == "PrometheusRule":
            target = out / f"{doc['metadata']['name']}.yaml"
            target.write_text(yaml.safe_dump({"groups": doc["spec"]["groups"]}, sort_keys=False))
            written[path] = target
    assert written, "the render holds no PrometheusRule"
    return written


@pytest.fixture(scope="module", params=CASES, ids=[c[0] for c in CASES])
def case(request, tmp_path_factory) -> tuple[str, tuple[str, ...], bool, dict[str, Path]]:
    name, spec, fixtures, complete = request.param
    return name, fixtures, complete, _rule_files(spec, tmp_path_factory.mktemp(name))


def test_every_rendered_rule_file_passes_promtool_check(case):
    _, _, _, rule_files = case
    for path, file in rule_files.items():
        result = run("check", "rules", str(file))
        assert result.returncode == 0, f"{path}:\n{result.stdout}{result.stderr}"
        assert "SUCCESS" in result.stdout


def test_alerts_fire_and_stay_quiet_on_fixtures(case, tmp_path):
    _, fixtures, _, rule_files = case
    for fixture in fixtures:
        tests = yaml.safe_load((HERE / fixture).read_text())
        tests["rule_files"] = [str(f) for f in rule_files.values()]
        target = tmp_path / fixture
        target.write_text(yaml.safe_dump(tests, sort_keys=False))
        result = run("test", "rules", str(target))
        assert result.returncode == 0, f"{fixture}:\n{result.stdout}{result.stderr}"
        assert "SUCCESS" in result.stdout


def test_fixtures_fire_every_alert_they_name_and_cover_the_whole_gpu_case(case):
    _, fixtures, complete, rule_files = case
    alerts = {r["alert"] for f in rule_files.values() for g in yaml.safe_load(f.read_text())["groups"]
              for r in g["rules"]}
    tested = {t["alertname"] for name in fixtures
              for c in yaml.safe_load((HERE / name).read_text())["tests"] for t in c["alert_rule_test"]
              if t.get("exp_alerts")}
    assert tested <= alerts
    if complete:
        assert alerts == tested
    else:
        # What differs per kind of node: utilisation on MIG, and the resources the exporter alarm keys on.
        assert "DcgmExporterDown" in tested
