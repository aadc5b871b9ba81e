"""The CrossGuard pack runs the same rules as `mlinfra check`, on records recorded from the mock runtime."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import pytest
from policy_fixtures import ROOT
from tool_venvs import tool_python

from mlinfra.policy import all_rules, evaluate, load_records

PROBE = Path(__file__).with_name("pack_probe.py")
UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's marker for a value not known in preview


def run_pack(records, waivers=()):
    """Violations the pack reports for these records, from the pulumi-policy venv."""
    python = tool_python(".venv-policy")
    result = subprocess.run(
        [str(python), str(PROBE)], input=json.dumps({"records": records, "waivers": list(waivers)}),
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _find(records, type_, name=None):
    return next(r for r in records if r["type"] == type_ and (name is None or r["name"] == name))


def test_pack_policies_are_the_rules_except_secret_aware_ones():
    names = run_pack([])["policies"]
    assert names == [r.id.lower() for r in all_rules() if not r.secret_aware]
    assert "mli-sec-002" not in names and "mli-mon-002" not in names


def test_pack_agrees_with_check_on_every_rendered_stack(rendered):
    for stack, path in rendered.items():
        records = load_records(path)
        expected = sorted((f.rule.lower(), f.resource) for f in evaluate(records).findings
                          if f.rule not in ("MLI-SEC-002", "MLI-MON-002"))
        got = sorted((v["policy"], v["resource"]) for v in run_pack(records)["violations"])
        assert got == expected, stack


@pytest.fixture(scope="module")
def doctored(rendered):
    """Real prod records (EKS and GKE), each made insecure in one field the pack must catch."""
    records = load_records(rendered["prod"])
    bad = copy.deepcopy(records)
    lt = _find(bad, "aws:ec2/launchTemplate:LaunchTemplate")
    lt["inputs"]["metadataOptions"]["httpTokens"] = "optional"
    cluster = _find(bad, "aws:eks/cluster:Cluster")
    cluster["inputs"]["vpcConfig"].update(endpointPublicAccess=True, publicAccessCidrs=["0.0.0.0/0"])
    cluster["inputs"]["roleArn"] = UNKNOWN_STRING  # preview: unknown values must not stop the checks
    pool = _find(bad, "gcp:container/nodePool:NodePool")
    del pool["inputs"]["nodeConfig"]["serviceAccount"]
    karpenter = next(r for r in bad if r["type"] == "kubernetes:helm.sh/v3:Release"
                     and r["inputs"]["chart"].endswith("/karpenter"))
    del karpenter["inputs"]["values"]["settings"]["interruptionQueue"]
    ns = next(r for r in bad if r["inputs"].get("kind") == "Namespace"
              and r["inputs"]["metadata"]["labels"].get("pod-security.kubernetes.io/enforce") == "restricted")
    ns["inputs"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "privileged"
    return bad, {"lt": lt["name"], "cluster": cluster["name"], "pool": pool["name"], "ns": ns["name"],
                 "nodepool": _find(bad, "kubernetes:karpenter.sh/v1:NodePool")["name"]}


def test_pack_reports_each_doctored_field(doctored):
    records, names = doctored
    got = {(v["policy"], v["resource"]) for v in run_pack(records)["violations"]}
    assert got == {
        ("mli-eks-001", names["lt"]),
        ("mli-eks-010", names["cluster"]),
        ("mli-gke-005", names["pool"]),
        ("mli-karp-001", names["nodepool"]),
        ("mli-psa-001", names["ns"]),
    }


def test_pack_honours_waivers_file_and_annotations(doctored):
    records, names = doctored
    records = copy.deepcopy(records)
    ns = next(r for r in records if r["name"] == names["ns"])
    ns["inputs"]["metadata"]["annotations"] = {"mlinfra.io/waive": "MLI-PSA-001: CSI node plugin needs host mounts"}
    waivers = [{"rule": "MLI-EKS-001", "resource": names["lt"], "reason": "vendor AMI without IMDSv2"}]
    got = {v["policy"] for v in run_pack(records, waivers)["violations"]}
    assert "mli-psa-001" not in got and "mli-eks-001" not in got
    assert "mli-eks-010" in got
