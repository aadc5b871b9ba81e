"""`mlinfra check`: exit codes, waived findings listed apart, waivers need reasons."""

from __future__ import annotations

import json

import pytest

from mlinfra.offline.check import main
from mlinfra.policy import ANNOTATION, WaiverError, evaluate
from mlinfra.policy.waivers import parse_annotation, parse_waivers

BAD_LT = {"type": "aws:ec2/launchTemplate:LaunchTemplate", "name": "pool-lt", "parent": None, "provider": None,
          "inputs": {"metadataOptions": {"httpTokens": "optional", "httpPutResponseHopLimit": 1},
                     "blockDeviceMappings": [{"ebs": {"encrypted": "true"}}],
                     "networkInterfaces": [{"associatePublicIpAddress": "false", "deviceIndex": 0}]}}
PRIV_NS = {"type": "kubernetes:core/v1:Namespace", "name": "team-ns", "parent": None, "provider": "eks-k8s",
           "inputs": {"apiVersion": "v1", "kind": "Namespace",
                      "metadata": {"name": "team", "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}}}


def _render(tmp_path, *records):
    (tmp_path / "resources.json").write_text(json.dumps(list(records)))
    return tmp_path


def test_clean_render_exits_zero(tmp_path, capsys):
    assert main([str(_render(tmp_path))]) == 0
    assert "0 finding(s)" in capsys.readouterr().out


def test_finding_exits_one_and_names_rule_resource_and_field(tmp_path, capsys):
    assert main([str(_render(tmp_path, BAD_LT))]) == 1
    out = capsys.readouterr().out
    assert "MLI-EKS-001 [high] pool-lt" in out and "httpTokens" in out


def test_waivers_file_moves_the_finding_to_waived(tmp_path, capsys):
    waivers = tmp_path / "w.yaml"
    waivers.write_text("- {rule: MLI-EKS-001, resource: pool-lt, reason: legacy AMI needs IMDSv1 until Q3}\n")
    assert main([str(_render(tmp_path, BAD_LT)), "--waivers", str(waivers)]) == 0
    out = capsys.readouterr().out
    assert "Findings:" not in out
    assert "Waived:" in out and "legacy AMI needs IMDSv1 until Q3" in out


def test_waiver_without_reason_is_an_error(tmp_path, capsys):
    waivers = tmp_path / "w.yaml"
    waivers.write_text("- {rule: MLI-EKS-001, resource: pool-lt}\n")
    assert main([str(_render(tmp_path, BAD_LT)), "--waivers", str(waivers)]) == 2
    assert "has no reason" in capsys.readouterr().err


def test_annotation_waives_a_kubernetes_object(tmp_path, capsys):
    ns = json.loads(json.dumps(PRIV_NS))
    ns["inputs"]["metadata"]["annotations"] = {ANNOTATION: "MLI-PSA-001: runs the vendor's CSI node plugin"}
    assert main([str(_render(tmp_path, ns))]) == 0
    assert "runs the vendor's CSI node plugin" in capsys.readouterr().out


def test_annotation_without_reason_fails_the_check(tmp_path, capsys):
    ns = json.loads(json.dumps(PRIV_NS))
    ns["inputs"]["metadata"]["annotations"] = {ANNOTATION: "MLI-PSA-001:"}
    assert main([str(_render(tmp_path, ns))]) == 1
    assert "without a reason" in capsys.readouterr().out


def test_unused_waiver_is_listed(tmp_path, capsys):
    waivers = tmp_path / "w.yaml"
    waivers.write_text("waivers:\n- {rule: MLI-EKS-002, resource: gone, reason: old pool}\n")
    assert main([str(_render(tmp_path)), "--waivers", str(waivers)]) == 0
    assert "matched nothing" in capsys.readouterr().out


def test_missing_render_is_a_usage_error(tmp_path, capsys):
    assert main([str(tmp_path / "nope")]) == 2
    assert "mlinfra render" in capsys.readouterr().err


def test_json_output(tmp_path, capsys):
    assert main([str(_render(tmp_path, BAD_LT)), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [f["rule"] for f in data["findings"]] == ["MLI-EKS-001"]


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{"rule": "MLI-EKS-001", "resource": "x", "reason": "  "}], "has no reason"),
        ([{"rule": "EKS-1", "resource": "x", "reason": "r"}], "must be a rule id"),
        ([{"rule": "MLI-EKS-001", "reason": "r"}], "names no resource"),
        ([{"rule": "MLI-EKS-001", "resource": "x", "reason": "r", "until": "2027"}], "unknown keys"),
        ({"rule": "MLI-EKS-001"}, "expected a list"),
    ],
)
def test_bad_waiver_entries(entries, message):
    with pytest.raises(WaiverError, match=message):
        parse_waivers(entries, "w.yaml")


def test_annotation_lists_several_waivers():
    waivers = parse_annotation("MLI-K8S-001: vendor image runs as root\nMLI-K8S-003: needs SYS_ADMIN; ", "ds")
    assert [(w.rule, w.reason) for w in waivers] == [("MLI-K8S-001", "vendor image runs as root"),
                                                     ("MLI-K8S-003", "needs SYS_ADMIN")]


def test_waiver_for_an_unknown_rule_is_an_error():
    (waiver,) = parse_waivers([{"rule": "MLI-XYZ-999", "resource": "x", "reason": "r"}], "w.yaml")
    assert evaluate([], [waiver]).errors == ["w.yaml[0]: waives unknown rule MLI-XYZ-999"]
