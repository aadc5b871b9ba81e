"""The provider input contract: every render's resources against the SDKs' typed input classes.

The renders must pass; a misspelled key at any depth, a missing required input or a wrong type in any resource
must fail (render, and `mlinfra validate` on a render's resources.json).
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from mlinfra.offline.provider_inputs import ProviderInputError, args_class, check_records
from mlinfra.offline.render import StackConfig, build_render, render_stack, run_program, write_tree
from mlinfra.offline.validate import validate_dir

ROOT = Path(__file__).resolve().parents[2]
STACKS = ("dev", "staging", "prod")
EXAMPLES = sorted(p.parent for p in (ROOT / "examples").glob("*/Pulumi.yaml"))


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    """The environment stacks, rendered; the examples as their goldens, which tests/examples keeps equal to their
    renders (and every render runs the check itself, see test_the_misspelling_in_code_fails_the_render)."""
    out = {s: json.loads(render_stack(s, project_dir=ROOT)[0]["resources.json"]) for s in STACKS}
    for example in EXAMPLES:
        out[example.name] = json.loads((example / "golden" / "resources.json").read_text())
    return out


def test_every_render_keeps_the_contract(rendered):
    assert set(rendered) >= {*STACKS, "team-stack", "mig-inference-gke", "spot-training-eks"}
    for name, records in rendered.items():
        report = check_records(records)
        assert report.problems == [], f"{name}:\n{report.format()}"
        assert report.checked > 0, name
    # Not vacuous: each SDK's resources, nested input types included, were checked somewhere.
    checked_types = {r["type"] for records in rendered.values() for r in records if args_class(r["type"])}
    assert checked_types >= {
        "gcp:container/nodePool:NodePool", "gcp:container/cluster:Cluster", "aws:eks/cluster:Cluster",
        "aws:ec2/launchTemplate:LaunchTemplate", "aws:eks/nodeGroup:NodeGroup", "kubernetes:helm.sh/v3:Release",
        "kubernetes:core/v1:Namespace", "kubernetes:apps/v1:Deployment", "random:index/randomPassword:RandomPassword",
        "pulumi:providers:aws", "pulumi:providers:kubernetes",
    }


def _find(records: list[dict], type_: str, name: str | None = None) -> dict:
    return next(r for r in records if r["type"] == type_ and (name is None or r["name"] == name))


def _dig(value: Any, path: str) -> Any:
    for step in path.split("."):
        value = value[int(step)] if step.isdigit() else value[step]
    return value


def rename(path: str, new: str):
    def mutate(inputs: dict) -> None:
        parent_path, _, key = path.rpartition(".")
        parent = _dig(inputs, parent_path) if parent_path else inputs
        parent[new] = parent.pop(key)
    return mutate


def setval(path: str, value: Any):
    def mutate(inputs: dict) -> None:
        parent_path, _, key = path.rpartition(".")
        (_dig(inputs, parent_path) if parent_path else inputs)[key] = value
    return mutate


def remove(path: str):
    def mutate(inputs: dict) -> None:
        parent_path, _, key = path.rpartition(".")
        del (_dig(inputs, parent_path) if parent_path else inputs)[key]
    return mutate


NODE_POOL = "gcp:container/nodePool:NodePool"
GKE = "gcp:container/cluster:Cluster"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
EKS = "aws:eks/cluster:Cluster"
NG = "aws:eks/nodeGroup:NodeGroup"
RELEASE = "kubernetes:helm.sh/v3:Release"
NAMESPACE = "kubernetes:core/v1:Namespace"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"

# (render, type, mutation, path the problem is reported at, words in the message)
MISTAKES = [
    # Today's misspelling in mlinfra/gcp/node_pool.py: the SDK cannot translate an unknown key, so it arrives as
    # written (snake_case) inside the translated object.
    ("dev", NODE_POOL, rename("nodeConfig.shieldedInstanceConfig.enableIntegrityMonitoring",
                              "enable_integrity_monitorin"),
     "nodeConfig.shieldedInstanceConfig.enable_integrity_monitorin", "unknown input"),
    ("dev", NODE_POOL, rename("autoscaling.totalMaxNodeCount", "totalMaxNodes"), "autoscaling.totalMaxNodes",
     "unknown input"),
    ("dev", NODE_POOL, setval("nodeConfig.diskSizeGb", "100"), "nodeConfig.diskSizeGb", "expected an integer"),
    ("dev", NODE_POOL, setval("autoscaling.totalMaxNodeCount", 2.5), "autoscaling.totalMaxNodeCount",
     "expected an integer"),
    ("dev", NODE_POOL, setval("nodeConfig.guestAccelerators", {"type": "nvidia-l4"}), "nodeConfig.guestAccelerators",
     "expected a list"),
    ("dev", GKE, setval("enableShieldedNodes", "yes"), "enableShieldedNodes", "expected a bool"),
    ("dev", GKE, rename("privateClusterConfig.enablePrivateNodes", "enablePrivateNode"),
     "privateClusterConfig.enablePrivateNode", "unknown input"),
    ("dev", GKE, setval("nodeConfig.taints", [{"key": "a", "value": "b"}]), "nodeConfig.taints[0].effect",
     "required input"),
    ("staging", LT, rename("metadataOptions.httpTokens", "http_tokens"), "metadataOptions.http_tokens",
     "unknown input"),
    ("staging", LT, setval("blockDeviceMappings.0.ebs.volumeSize", "50"), "blockDeviceMappings[0].ebs.volumeSize",
     "expected an integer"),
    ("staging", LT, setval("blockDeviceMappings.0.ebs.encrypted", True), "blockDeviceMappings[0].ebs.encrypted",
     "expected a string"),
    ("prod", EKS, rename("vpcConfig.endpointPrivateAccess", "endpointPrivateAcess"), "vpcConfig.endpointPrivateAcess",
     "unknown input"),
    ("prod", EKS, remove("vpcConfig.subnetIds"), "vpcConfig.subnetIds", "required input"),
    ("prod", EKS, remove("roleArn"), "roleArn", "required input"),
    ("prod", NG, setval("scalingConfig.maxSize", "4"), "scalingConfig.maxSize", "expected an integer"),
    ("prod", NG, rename("capacityType", "capacity_type"), "capacity_type", "unknown input"),
    ("prod", NG, remove("scalingConfig"), "scalingConfig", "required input"),
    ("prod", RELEASE, rename("repositoryOpts.repo", "repository"), "repositoryOpts.repository", "unknown input"),
    ("prod", RELEASE, rename("namespace", "name_space"), "name_space", "unknown input"),
    ("prod", RELEASE, remove("chart"), "chart", "required input"),
    ("prod", RELEASE, setval("version", 88.5), "version", "expected a string"),
    ("prod", NAMESPACE, rename("metadata.labels", "label"), "metadata.label", "unknown input"),
    ("team-stack", DEPLOYMENT, setval("spec.template.spec.containers.0.imagePullPolicy", 1),
     "spec.template.spec.containers[0].imagePullPolicy", "expected a string"),
    ("team-stack", DEPLOYMENT, rename("spec.template.spec.containers.0.resources", "resource"),
     "spec.template.spec.containers[0].resource", "unknown input"),
]


@pytest.mark.parametrize(("render", "type_", "mutate", "path", "words"), MISTAKES,
                         ids=[f"{m[0]}-{m[1].rsplit(':', 1)[-1]}-{m[3]}" for m in MISTAKES])
def test_a_mistake_in_a_rendered_resource_fails(rendered, render, type_, mutate, path, words):
    records = copy.deepcopy(rendered[render])
    target = _find(records, type_)
    mutate(target["inputs"])
    problems = check_records(records).problems
    assert [(p.resource, p.path) for p in problems] == [(target["name"], path)], [p.line() for p in problems]
    assert words in problems[0].message


@pytest.mark.parametrize(("value", "ok"), [
    ("[secret]", True), ("[unknown]", True),  # masked or not known at render time: nothing to check
    (20.0, True),  # the mock runtime records every number as a float
    (20, True), (20.5, False), ("20", False), (True, False),
])
def test_integers_placeholders_and_floats(rendered, value, ok):
    records = copy.deepcopy(rendered["dev"])
    setval("nodeConfig.diskSizeGb", value)(_find(records, NODE_POOL)["inputs"])
    assert check_records(records).ok is ok


def test_kubernetes_quantities_may_be_numbers_and_labels_may_not(rendered):
    records = copy.deepcopy(rendered["team-stack"])
    container = _find(records, DEPLOYMENT)["inputs"]["spec"]["template"]["spec"]["containers"][0]
    container["resources"]["limits"]["memory"] = 1073741824  # the API server reads a number as a quantity
    assert check_records(records).ok
    _find(records, DEPLOYMENT)["inputs"]["metadata"].setdefault("labels", {})["tier"] = 3
    assert [p.path for p in check_records(records).problems] == ["metadata.labels['tier']"]


def test_provider_inputs_are_json_encoded(rendered):
    records = copy.deepcopy(rendered["prod"])
    provider = _find(records, "pulumi:providers:aws")
    assert check_records([provider]).ok  # e.g. skipCredentialsValidation arrives as the string "false"
    provider["inputs"]["skipCredentialsValidation"] = '"no"'
    assert [p.path for p in check_records([provider]).problems] == ["skipCredentialsValidation"]


def test_types_without_an_sdk_are_not_checked_and_say_so(rendered):
    report = check_records(rendered["prod"])
    assert "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue" in report.not_checked
    assert "mlinfra:index:Platform" in report.not_checked
    assert args_class("kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue") is None
    assert args_class("nosuchsdk:x/y:Z") is None


def test_the_misspelling_in_code_fails_the_render():
    """The whole path: an SDK resource built with a misspelled nested argument, as node_pool.py had it."""

    def program() -> None:
        from pulumi_gcp import container

        container.NodePool("pool", cluster="c", location="us-central1", node_config={
            "machine_type": "g2-standard-8", "shielded_instance_config": {"enable_integrity_monitorin": True}})

    registrations = run_program(program, StackConfig("p", "s", {}, []))
    with pytest.raises(ProviderInputError) as err:
        build_render(registrations)
    assert "pool (gcp:container/nodePool:NodePool): nodeConfig.shieldedInstanceConfig.enable_integrity_monitorin: " \
           "unknown input of NodePoolNodeConfigShieldedInstanceConfigArgs" in str(err.value)
    assert "resources.json" in build_render(registrations, check_inputs=False)


# A node pool's node_config with a secret in it: a secret number given as a string, a secret object whose nested
# bool is a string, a secret object with a nested misspelled key.
SECRET_MISTAKES = [
    (lambda secret: {"machine_type": "g2-standard-8", "disk_size_gb": secret("200")},
     "nodeConfig.diskSizeGb", "expected an integer"),
    (lambda secret: secret({"machine_type": "g2-standard-8",
                            "shielded_instance_config": {"enable_secure_boot": "yes"}}),
     "nodeConfig.shieldedInstanceConfig.enableSecureBoot", "expected a bool"),
    (lambda secret: secret({"machine_type": "g2-standard-8",
                            "shielded_instance_config": {"enable_integrity_monitorin": True}}),
     "nodeConfig.shieldedInstanceConfig.enable_integrity_monitorin", "unknown input"),
]


@pytest.mark.parametrize(("node_config", "path", "words"), SECRET_MISTAKES, ids=[m[1] for m in SECRET_MISTAKES])
def test_secret_inputs_are_checked_before_they_are_masked(node_config, path, words):
    """resources.json masks a secret as `[secret]`, so the render checks the inputs as they were registered."""
    import pulumi

    def program() -> None:
        from pulumi_gcp import container

        container.NodePool("pool", cluster="c", location="us-central1", node_config=node_config(pulumi.Output.secret))

    registrations = run_program(program, StackConfig("p", "s", {}, []))
    with pytest.raises(ProviderInputError) as err:
        build_render(registrations)
    assert f"pool (gcp:container/nodePool:NodePool): {path}: {words}" in str(err.value)
    # resources.json shows the secret masked: nothing left there to check.
    records = json.loads(build_render(registrations, check_inputs=False)["resources.json"])
    assert check_records(records).ok


def test_validate_checks_the_resources_of_a_render(rendered, tmp_path, upstream):
    files, _ = render_stack("staging", project_dir=ROOT)
    out = tmp_path / "render"
    write_tree(out, files)
    clean = validate_dir(out, crds_dir=upstream)
    assert clean.ok and clean.resources_checked > 0
    assert "resources checked against their SDK input types" in clean.summary()
    records = json.loads((out / "resources.json").read_text())
    rename("metadataOptions.httpTokens", "httpToken")(_find(records, LT)["inputs"])
    (out / "resources.json").write_text(json.dumps(records))
    report = validate_dir(out, crds_dir=upstream)
    assert [(p.object, p.path) for p in report.problems] == [
        (f"{LT}/{_find(records, LT)['name']}", "$.metadataOptions.httpToken")]
    shutil.rmtree(out)
