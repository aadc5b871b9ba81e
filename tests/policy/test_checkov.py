"""checkov on the rendered manifests of every stack: each finding is in the baseline, and every baseline
entry still fires."""

from __future__ import annotations

import json
import os
import subprocess

import yaml
from policy_fixtures import ROOT
from tool_venvs import tool_python

BASELINE = ROOT / "checkov-baseline.yaml"


def checkov_findings(manifests) -> set[tuple[str, str, str]]:
    """(check id, resource, file) for each failed checkov check on a manifests folder, run offline."""
    checkov = tool_python(".venv-checkov").parent / "checkov"
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    result = subprocess.run(
        [str(checkov), "-d", str(manifests), "--framework", "kubernetes", "--quiet", "--compact", "-o", "json",
         "--skip-download"],
        capture_output=True, text=True, timeout=600, env=env, cwd=ROOT,
    )
    # checkov exits 1 when a check fails; anything else means it did not run.
    assert result.returncode in (0, 1), result.stderr[-2000:]
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    found = set()
    for report in reports:
        assert report.get("summary", {}).get("parsing_errors", 0) == 0, report["summary"]
        for check in report.get("results", {}).get("failed_checks", []):
            found.add((check["check_id"], check["resource"], check["file_path"].lstrip("/")))
    return found


def test_baseline_entries_have_reasons_and_owners():
    entries = yaml.safe_load(BASELINE.read_text())["findings"]
    for entry in entries:
        assert set(entry) == {"check", "stack", "resource", "file", "owner", "reason"}, entry
        assert len(entry["reason"].split()) >= 5, entry


def test_checkov_findings_match_the_baseline(rendered):
    entries = yaml.safe_load(BASELINE.read_text())["findings"]
    baseline = {(e["stack"], e["check"], e["resource"], e["file"]) for e in entries}
    current = set()
    for stack, path in rendered.items():
        current |= {(stack, *finding) for finding in checkov_findings(path / "manifests")}
    assert sorted(current - baseline) == [], "new checkov findings: fix them or add them to checkov-baseline.yaml"
    assert sorted(baseline - current) == [], "stale baseline entries: they no longer fire, remove them"


def test_checkov_catches_an_insecure_manifest(tmp_path):
    # Proves the scan really runs: a root, privileged, unpinned Deployment must fail checkov.
    manifest = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bad", "namespace": "x"},
                "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
                    "metadata": {"labels": {"a": "b"}},
                    "spec": {"containers": [{"name": "c", "image": "busybox:latest",
                                             "securityContext": {"privileged": True}}]}}}}
    (tmp_path / "c" / "x").mkdir(parents=True)
    (tmp_path / "c" / "x" / "Deployment-bad.yaml").write_text(yaml.safe_dump(manifest))
    checks = {check for check, _, _ in checkov_findings(tmp_path)}
    assert {"CKV_K8S_14", "CKV_K8S_16"} <= checks  # image tag latest, privileged container
