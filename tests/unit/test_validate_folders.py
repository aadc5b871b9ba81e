"""`mlinfra validate` takes any folder of manifests, as `kubectl apply -f` and kubeconform do; `--output json`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlinfra.offline.validate import main, validate_dir

MLINFRA = [sys.executable, "-m", "mlinfra.cli"]

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx:1.27}]}
"""
SERVICE = """apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{port: 80}]}
"""
QUEUE = """apiVersion: kueue.x-k8s.io/v1beta2
kind: LocalQueue
metadata: {name: team, namespace: shop}
spec: {clusterQueue: team}
"""
BAD_SERVICE = """apiVersion: v1
kind: Service
metadata: {name: bad}
spec: {ports: [{port: "eighty"}]}
"""


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@pytest.mark.parametrize(("files", "objects"), [
    ({"all.yaml": DEPLOYMENT + "---\n" + SERVICE + "---\n" + QUEUE}, 3),            # one multi-document file
    ({"app/deploy.yml": DEPLOYMENT, "app/svc.yaml": SERVICE, "queue.yaml": QUEUE}, 3),  # nested, .yml
    ({"list.yaml": "apiVersion: v1\nkind: List\nitems:\n"
      + "".join("- " + "\n  ".join(doc.splitlines()) + "\n" for doc in (DEPLOYMENT, SERVICE))}, 2),
    ({"svc.json": json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "j"},
                              "spec": {"ports": [{"port": 80}]}})}, 1),
    ({"leading.yaml": "---\n" + SERVICE + "---\n---\n"}, 1),                          # empty documents skipped
])
def test_any_folder_of_valid_manifests_passes(tmp_path, upstream, files, objects):
    report = validate_dir(_write(tmp_path / "m", files), upstream)
    assert report.problems == [] and report.objects == objects


def test_a_single_manifest_file_can_be_validated(tmp_path, upstream):
    path = _write(tmp_path, {"svc.yaml": SERVICE}) / "svc.yaml"
    assert validate_dir(path, upstream).objects == 1


@pytest.mark.parametrize(("files", "words"), [
    ({"all.yaml": DEPLOYMENT + "---\n" + BAD_SERVICE}, "$.spec.ports[0].port"),
    ({"broken.yaml": "kind: [\n"}, "not valid YAML (line"),
    ({"q.yaml": QUEUE.replace("clusterQueue", "clusterQ")}, "clusterQ"),
    ({"notes.txt": "not yaml", "empty.yaml": ""}, "no Kubernetes manifests found"),
    ({"x.yaml": "a: 1\n"}, "not a Kubernetes object"),
])
def test_problems_in_a_folder_of_manifests_are_found(tmp_path, upstream, files, words):
    report = validate_dir(_write(tmp_path / "m", files), upstream)
    assert any(words in p.format() for p in report.problems), [p.format() for p in report.problems]


def test_validate_json_output(tmp_path, upstream, capsys):
    root = _write(tmp_path / "m", {"all.yaml": DEPLOYMENT + "---\n" + BAD_SERVICE})
    assert main([str(root), "--crds", str(upstream), "--output", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and data["objects"] == 2
    assert {p["path"] for p in data["problems"]} >= {"$.spec.ports[0].port"}


def test_check_and_diff_json_output(tmp_path):
    out = tmp_path / "r"
    assert subprocess.run([*MLINFRA, "render", "--stack", "dev", "--out", str(out)], capture_output=True,
                          check=False).returncode == 0
    check = subprocess.run([*MLINFRA, "check", str(out), "--output", "json", "--waivers",
                            "policy-pack/waivers.yaml"], capture_output=True, text=True, check=False)
    assert check.returncode in (0, 1), check.stderr
    assert set(json.loads(check.stdout)) == {"findings", "waived", "errors", "unused_waivers"}
    diff = subprocess.run([*MLINFRA, "diff", str(out), str(out), "--output", "json"], capture_output=True,
                          text=True, check=False)
    assert diff.returncode == 0, diff.stderr
    assert isinstance(json.loads(diff.stdout), dict)
