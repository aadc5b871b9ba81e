"""Fluid caches: manifests, placement near the pools, warm-up, team PVCs and the cloud read identity."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from spec_assertions import DEPLOYERS, EKS_REACHABLE

from mlinfra.context import ClusterContext
from mlinfra.k8s import fluid_identity as ident
from mlinfra.k8s.fluid import Fluid, fluid_args
from mlinfra.k8s.fluid_objects import cache_manifests, helm_values
from mlinfra.offline.render import StackConfig, build_render, render_environment, run_program
from mlinfra.spec import load_environment
from mlinfra.spec.resolve import resolve_cluster_pools

GKE_SPEC: dict[str, Any] = {
    "environment": "dev",
    "clusters": [{
        "name": "gke", "cloud": "gcp", "endpoint": DEPLOYERS, "region": "us-central1", "project": "mlinfra-dev",
        "pools": [
            {"name": "l4", "gpu": "L4-24GB", "machine_type": "g2-standard-8", "max_nodes": 3,
             "taints": [{"key": "dedicated", "value": "training"}]},
            {"name": "l4-spot", "gpu": "L4-24GB", "machine_type": "g2-standard-8", "max_nodes": 2, "spot": True},
        ],
    }],
    "scheduling": {"teams": [{"name": "research", "cluster": "gke"}]},
    "caches": [{
        "name": "imagenet", "cluster": "gke", "pools": ["l4", "l4-spot"], "teams": ["research"], "replicas": 2,
        "mounts": [{"url": "gs://ml-data/imagenet"}],
        "tiers": [{"medium": "MEM", "quota": "8Gi"}, {"medium": "SSD", "quota": "50Gi", "high": 0.9, "low": 0.6}],
        "warmup": {"paths": ["/train", "/val"]},
    }],
}

EKS_SPEC: dict[str, Any] = {
    "environment": "prod",
    "clusters": [{"name": "eks", "cloud": "aws", **EKS_REACHABLE, "region": "us-east-1",
                  "pools": [{"name": "a100", "instance_types": ["p4d.24xlarge"], "max_nodes": 4}]}],
    "scheduling": {"teams": [{"name": "vision", "cluster": "eks"}]},
    "caches": [{
        "name": "laion", "cluster": "eks", "pools": ["a100"], "teams": ["vision"],
        "mounts": [{"url": "s3://ml-corpora/laion/v2", "options": {"alluxio.underfs.s3.region": "us-east-1"}}],
        "tiers": [{"medium": "MEM", "quota": "100Gi"}],
        "warmup": {"schedule": "0 3 * * *"},
    }],
}
OIDC_ARN = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
OIDC_ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/ABC"


def _doc(files: dict[str, str], path: str) -> dict[str, Any]:
    assert path in files, sorted(p for p in files if "fluid" in p or "Dataset" in p)
    return yaml.safe_load(files[path])


@pytest.fixture(scope="module")
def gke_render() -> dict[str, str]:
    return render_environment(GKE_SPEC)


def test_gke_cache_dataset_mounts_bucket_read_only_near_the_pools(gke_render: dict[str, str]) -> None:
    ds = _doc(gke_render, "manifests/gke/fluid-system/Dataset-imagenet.yaml")
    assert ds["spec"]["mounts"] == [
        {"mountPoint": "gs://ml-data/imagenet", "name": "imagenet", "path": "/", "readOnly": True}
    ]
    assert ds["spec"]["accessModes"] == ["ReadOnlyMany"]
    terms = ds["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "mlinfra.io/pool", "operator": "In", "values": ["l4", "l4-spot"]}]}]
    # Workers must tolerate the GPU taint and the pool's own taint, once each.
    assert ds["spec"]["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"},
        {"key": "dedicated", "operator": "Equal", "value": "training", "effect": "NoSchedule"},
    ]


def test_gke_runtime_tiers_and_replicas(gke_render: dict[str, str]) -> None:
    rt = _doc(gke_render, "manifests/gke/fluid-system/AlluxioRuntime-imagenet.yaml")
    assert rt["spec"]["replicas"] == 2
    assert rt["spec"]["tieredstore"]["levels"] == [
        {"mediumtype": "MEM", "path": "/dev/shm", "quota": "8Gi", "high": "0.95", "low": "0.7"},
        {"mediumtype": "SSD", "path": "/var/lib/mlinfra/cache/ssd", "quota": "50Gi", "high": "0.9", "low": "0.6"},
    ]


def test_gke_warmup_loads_the_paths_once(gke_render: dict[str, str]) -> None:
    load = _doc(gke_render, "manifests/gke/fluid-system/DataLoad-imagenet-warmup.yaml")
    assert load["spec"] == {
        "dataset": {"name": "imagenet", "namespace": "fluid-system"},
        "loadMetadata": True,
        "policy": "Once",
        "target": [{"path": "/train"}, {"path": "/val"}],
    }


def test_gke_team_gets_a_reference_dataset(gke_render: dict[str, str]) -> None:
    ref = _doc(gke_render, "manifests/gke/research/Dataset-imagenet.yaml")
    assert ref["spec"] == {
        "mounts": [{"mountPoint": "dataset://fluid-system/imagenet", "name": "imagenet", "path": "/"}]
    }


def test_gke_fluid_namespace_is_privileged_and_team_pvcs_need_no_privilege(gke_render: dict[str, str]) -> None:
    ns = _doc(gke_render, "manifests/gke/_cluster/Namespace-fluid-system.yaml")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    # The team reads through the FUSE pods in fluid-system, so its namespace keeps its own (stricter) level.
    fluid_objects = [p for p in gke_render if p.startswith("manifests/gke/research/") and "Dataset" in p]
    assert fluid_objects == ["manifests/gke/research/Dataset-imagenet.yaml"]
    team_ns = gke_render.get("manifests/gke/_cluster/Namespace-research.yaml", "")
    assert "enforce: privileged" not in team_ns


def test_gke_workload_identity_reader(gke_render: dict[str, str]) -> None:
    resources = json.loads(gke_render["resources.json"])
    by_name = {r["name"]: r for r in resources}
    account = by_name["gke-fluid-reader"]
    assert account["type"] == "gcp:serviceaccount/account:Account"
    assert account["inputs"]["accountId"] == "fluid-dev-gke"
    assert account["provider"] == "gke-gcp"
    binding = by_name["gke-fluid-reader-wi"]["inputs"]
    assert binding["role"] == "roles/iam.workloadIdentityUser"
    assert binding["member"] == "serviceAccount:mlinfra-dev.svc.id.goog[fluid-system/default]"
    viewer = by_name["gke-fluid-reader-ml-data"]["inputs"]
    assert (viewer["bucket"], viewer["role"]) == ("ml-data", "roles/storage.objectViewer")
    assert viewer["member"] == "serviceAccount:fluid-dev-gke@mlinfra-dev.iam.gserviceaccount.com"
    sa = _doc(gke_render, "manifests/gke/fluid-system/ServiceAccount-default.yaml")
    assert sa["metadata"]["annotations"] == {
        "iam.gke.io/gcp-service-account": "fluid-dev-gke@mlinfra-dev.iam.gserviceaccount.com"
    }


def test_gke_chart_is_pinned(gke_render: dict[str, str]) -> None:
    release = _doc(gke_render, "helm/gke/fluid.yaml")
    assert (release["chart"], release["version"], release["namespace"]) == ("fluid", "1.0.8", "fluid-system")
    assert release["repository"] == "https://fluid-cloudnative.github.io/charts"
    assert release["values"]["runtime"] == {"alluxio": {"enabled": True}, "thin": {"enabled": True}}


def test_no_cache_no_fluid() -> None:
    files = render_environment({**GKE_SPEC, "caches": []})
    assert not [p for p in files if "fluid" in p]


def _eks_ctx(identity: dict[str, Any]) -> ClusterContext:
    env = load_environment(EKS_SPEC)
    cluster = env.clusters[0]
    return ClusterContext(env=env, cluster=cluster, pools=resolve_cluster_pools(cluster), mig_strategy="none",
                          parent=None, k8s_provider=None, identity=identity)  # type: ignore[arg-type]


def test_eks_s3_cache_manifests() -> None:
    ctx = _eks_ctx({"oidc_provider_arn": OIDC_ARN, "oidc_issuer": OIDC_ISSUER})
    objs = {(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]): o
            for o in cache_manifests(ctx.env.caches[0], ctx.pools)}
    ds = objs[("Dataset", "fluid-system", "laion")]
    assert ds["spec"]["mounts"] == [{"mountPoint": "s3://ml-corpora/laion/v2", "name": "laion", "path": "/",
                                     "readOnly": True, "options": {"alluxio.underfs.s3.region": "us-east-1"}}]
    assert ds["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == ["a100"]
    load = objs[("DataLoad", "fluid-system", "laion-warmup")]
    assert (load["spec"]["policy"], load["spec"]["schedule"]) == ("Cron", "0 3 * * *")
    assert ("Dataset", "vision", "laion") in objs


def test_eks_irsa_role_reads_only_the_cached_prefix() -> None:
    ctx = _eks_ctx({"oidc_provider_arn": OIDC_ARN, "oidc_issuer": OIDC_ISSUER})
    args = fluid_args(ctx, load_environment(EKS_SPEC).caches)
    assert args.gcp_reader is None and args.aws_reader is not None
    assert args.aws_reader.role_name == "prod-eks-fluid-reader"
    statements = args.aws_reader.policy["Statement"]
    assert statements[0]["Resource"] == ["arn:aws:s3:::ml-corpora"]
    assert statements[1] == {"Sid": "ReadCachedObjects", "Effect": "Allow", "Action": ["s3:GetObject"],
                             "Resource": ["arn:aws:s3:::ml-corpora/laion/v2/*"]}
    trust = json.loads(ident.irsa_trust_policy(OIDC_ARN, "https://" + OIDC_ISSUER))
    assert trust["Statement"][0]["Principal"] == {"Federated": OIDC_ARN}
    assert trust["Statement"][0]["Condition"]["StringEquals"] == {
        f"{OIDC_ISSUER}:sub": "system:serviceaccount:fluid-system:default",
        f"{OIDC_ISSUER}:aud": "sts.amazonaws.com",
    }


def test_eks_without_identity_binds_nothing() -> None:
    args = fluid_args(_eks_ctx({}), load_environment(EKS_SPEC).caches)
    assert args.aws_reader is None and args.gcp_reader is None


def test_eks_component_registers_role_and_annotates_runtime_account() -> None:
    ctx = _eks_ctx({"oidc_provider_arn": OIDC_ARN, "oidc_issuer": OIDC_ISSUER})
    args = fluid_args(ctx, ctx.env.caches)
    files = build_render(run_program(lambda: Fluid("eks-fluid", args), StackConfig("mlinfra", "t", {}, [])))
    by_name = {r["name"]: r for r in json.loads(files["resources.json"])}
    role = by_name["eks-fluid-reader"]["inputs"]
    assert role["name"] == "prod-eks-fluid-reader"
    assert json.loads(role["assumeRolePolicy"])["Statement"][0]["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert json.loads(by_name["eks-fluid-reader-s3"]["inputs"]["policy"]) == args.aws_reader.policy  # type: ignore[union-attr]
    patch = by_name["eks-fluid-runtime-sa"]
    assert patch["type"] == "kubernetes:core/v1:ServiceAccountPatch"
    assert patch["inputs"]["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/prod-eks-fluid-reader"
    }
    kinds = sorted(r["type"].rsplit(":", 1)[1] for r in by_name.values() if "fluid.io" in r["type"])
    assert kinds == ["AlluxioRuntime", "DataLoad", "Dataset", "Dataset"]


@pytest.mark.parametrize(("env", "cluster", "expected"), [
    ("dev", "gke", "fluid-dev-gke"),
    ("staging", "a-very-long-cluster-name", "fluid-staging-a-very-lo-"),
])
def test_gsa_account_id_fits_google_limits(env: str, cluster: str, expected: str) -> None:
    account = ident.gsa_account_id(env, cluster)
    assert account.startswith(expected.rstrip("-"))
    assert 6 <= len(account) <= 30 and account[0].isalpha()


def test_helm_values_enable_only_alluxio_and_thin() -> None:
    values = helm_values()
    assert values["namespace"] == "fluid-system"
    assert set(values["runtime"]) == {"alluxio", "thin"}


def test_eks_render_binds_irsa_to_the_created_cluster() -> None:
    files = render_environment(EKS_SPEC)
    by_name = {r["name"]: r for r in json.loads(files["resources.json"])}
    trust = json.loads(by_name["eks-fluid-reader"]["inputs"]["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"]["Federated"].startswith("arn:aws:iam::")
    assert "system:serviceaccount:fluid-system:default" in trust["Condition"]["StringEquals"].values()
    assert by_name["eks-fluid-reader"]["provider"] == "eks-aws"
    sa = _doc(files, "manifests/eks/fluid-system/ServiceAccount-default.yaml")
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith(":role/prod-eks-fluid-reader")
    assert "manifests/eks/vision/Dataset-laion.yaml" in files
