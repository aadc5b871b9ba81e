"""Pools whose nodes advertise no whole `nvidia.com/gpu` carry the `mlinfra.io/gpu-resource` taint (issue 17, item 8).

The facts behind it:

- NVIDIA/k8s-device-plugin@v0.20.0 api/config/v1/consts.go `DefaultSharedResourceNameSuffix = ".shared"` and
  api/config/v1/resources.go `DefaultSharedRename`: with `renameByDefault: true` time-sliced and MPS devices are
  advertised as `<name>.shared` (`nvidia.com/gpu.shared`) instead of `nvidia.com/gpu` (README "With CUDA
  Time-Slicing"; ../shared/upstream/k8s-device-plugin/v0.20.0/device-plugin-config-examples.yaml).
- NVIDIA/k8s-device-plugin@v0.20.0 internal/rm/rm.go `AddDefaultResourcesToConfig`: under the `single` MIG
  strategy MIG devices are advertised as `gpu` (`nvidia.com/gpu`), under `mixed` as `mig-<profile>`
  (`nvidia.com/mig-1g.10gb`).
- karpenter.sh_nodeoverlays CRD v1.14.1 (../shared/upstream/karpenter/v1.14.1), `spec.capacity`: "Capacity adds
  extended resources only, and does not replace any existing resources"; Karpenter keeps the instance type's GPUs
  as `nvidia.com/gpu` (aws/karpenter-provider-aws@v1.14.1 pkg/providers/instancetype/types.go: capacity
  `nvidia.com/gpu` = `nvidiaGPUs(info)`, the NVIDIA GPU count EC2 reports; karpenter.sh/v1.14/concepts/
  nodeoverlays). So a pending pod asking for plain `nvidia.com/gpu` that tolerates the GPU taint makes it launch
  a node of such a pool that can never run the pod. kubernetes-sigs/karpenter#729: Karpenter's provisioning does
  not follow the device plugin's sharing config. bottlerocket-os/bottlerocket#4250 (only an excerpt could be
  read) shows the symptom on the node side: a Karpenter NodeClaim for a g5 GPU node whose NVIDIA stack did not
  come up, deleted again.
- kubernetes/autoscaler cluster-autoscaler-1.35.2 cloudprovider/aws/aws_manager.go `buildNodeFromTemplate`: the
  template node of a group at zero gets `nvidia.com/gpu` = the instance type's GPU count, then each
  `k8s.io/cluster-autoscaler/node-template/resources/<name>` tag overrides it, and the taints come from the
  `.../taint/<key>` tags and from EKS DescribeNodegroup (`getManagedNodegroupTaints`).
- GKE's own device plugin advertises MIG partitions and time-shared GPUs as `nvidia.com/gpu` (mlinfra refuses
  `rename_by_default` there): GKE-native pools are unaffected.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from spec_assertions import AWS_NETWORK, DEPLOYERS, assert_refused

from mlinfra.offline.render import render_environment
from mlinfra.spec import load_environment
from mlinfra.spec.resolve import resolve_cluster_pools

KEY = "mlinfra.io/gpu-resource"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}

H100_MIXED = {"3g.40gb": 1, "2g.20gb": 1, "1g.10gb": 2}

# pool name -> (cluster, pool spec without the name, the taint value expected or None)
POOLS: dict[str, tuple[str, dict[str, Any], str | None]] = {
    # eks-mixed runs the mixed MIG strategy (one pool with several profiles).
    "mig-mixed-k": ("eks-mixed", {"gpu": "H100-80GB", "instance_types": ["p5.48xlarge"], "max_nodes": 2,
                                  "provisioner": "karpenter", "mig": {"profiles": H100_MIXED}}, "mig"),
    "mig-mixed-m": ("eks-mixed", {"gpu": "H100-80GB", "instance_types": ["p5.48xlarge"], "max_nodes": 2,
                                  "mig": {"profiles": H100_MIXED}}, "mig"),
    # One profile per GPU, but the cluster's strategy is mixed: advertised as nvidia.com/mig-1g.10gb.
    "mig-one-in-mixed": ("eks-mixed", {"gpu": "H100-80GB", "instance_types": ["p5.48xlarge"], "max_nodes": 1,
                                       "mig": {"profiles": {"1g.10gb": 7}}}, "mig"),
    "mig-ts-renamed": ("eks-mixed", {"gpu": "H100-80GB", "instance_types": ["p5.48xlarge"], "max_nodes": 1,
                                     "mig": {"profiles": H100_MIXED},
                                     "time_slicing": {"replicas": 2, "rename_by_default": True}}, "mig.shared"),
    "ts-renamed-k": ("eks-mixed", {"gpu": "L4-24GB", "instance_types": ["g6.xlarge"], "max_nodes": 2,
                                   "provisioner": "karpenter",
                                   "time_slicing": {"replicas": 4, "rename_by_default": True}}, "gpu.shared"),
    "ts-renamed-m": ("eks-mixed", {"gpu": "L4-24GB", "instance_types": ["g6.xlarge"], "max_nodes": 2,
                                   "time_slicing": {"replicas": 4, "rename_by_default": True}}, "gpu.shared"),
    "ts-plain-m": ("eks-mixed", {"gpu": "L4-24GB", "instance_types": ["g6.xlarge"], "max_nodes": 2,
                                 "time_slicing": {"replicas": 4}}, None),
    "whole-k": ("eks-mixed", {"gpu": "L4-24GB", "instance_types": ["g6.xlarge"], "max_nodes": 2,
                              "provisioner": "karpenter"}, None),
    # eks-single: MIG single strategy (nvidia.com/gpu per slice); MPS is refused beside mixed MIG layouts.
    "mig-single-k": ("eks-single", {"gpu": "H100-80GB", "instance_types": ["p5.48xlarge"], "max_nodes": 1,
                                    "provisioner": "karpenter", "mig": {"profiles": {"1g.10gb": 7}}}, None),
    "mig-single-m": ("eks-single", {"gpu": "H100-80GB", "instance_types": ["p5.48xlarge"], "max_nodes": 1,
                                    "mig": {"profiles": {"1g.10gb": 7}}}, None),
    "mps-renamed-k": ("eks-single", {"gpu": "L40S-48GB", "instance_types": ["g6e.xlarge"], "max_nodes": 2,
                                     "provisioner": "karpenter",
                                     "mps": {"replicas": 4, "rename_by_default": True}}, "gpu.shared"),
    "mps-renamed-m": ("eks-single", {"gpu": "L40S-48GB", "instance_types": ["g6e.xlarge"], "max_nodes": 2,
                                     "mps": {"replicas": 4, "rename_by_default": True}}, "gpu.shared"),
    "mps-plain-m": ("eks-single", {"gpu": "L40S-48GB", "instance_types": ["g6e.xlarge"], "max_nodes": 2,
                                   "mps": {"replicas": 4}}, None),
    # GKE's device plugin: MIG partitions and time-shared GPUs are nvidia.com/gpu.
    "gke-mig": ("gke-native", {"gpu": "H100-80GB", "machine_type": "a3-highgpu-8g", "max_nodes": 1,
                               "mig": {"profiles": {"1g.10gb": 7}}}, None),
    "gke-ts": ("gke-native", {"gpu": "L4-24GB", "machine_type": "g2-standard-8", "max_nodes": 2,
                              "time_slicing": {"replicas": 4}}, None),
    # A GKE cluster whose operator owns the driver runs the operator's device plugin: renaming applies there.
    "gke-op-ts-renamed": ("gke-operator", {"gpu": "L4-24GB", "machine_type": "g2-standard-8", "max_nodes": 2,
                                           "time_slicing": {"replicas": 4, "rename_by_default": True}},
                          "gpu.shared"),
    "gke-op-whole": ("gke-operator", {"gpu": "L4-24GB", "machine_type": "g2-standard-8", "max_nodes": 2}, None),
}

CLUSTERS: dict[str, dict[str, Any]] = {
    "eks-mixed": {"cloud": "aws", "region": "us-east-1", "network": AWS_NETWORK,
                  "gpu_operator": {"time_slicing_on_mig": True}},
    "eks-single": {"cloud": "aws", "region": "us-east-1", "network": AWS_NETWORK},
    "gke-native": {"cloud": "gcp", "region": "us-central1", "project": "p"},
    "gke-operator": {"cloud": "gcp", "region": "us-central1", "project": "p", "gpu_operator": {"driver": "operator"}},
}


def environment() -> dict[str, Any]:
    clusters = [{"name": name, "endpoint": DEPLOYERS, **extra,
                 "pools": [{"name": p, **spec} for p, (c, spec, _) in POOLS.items() if c == name]}
                for name, extra in CLUSTERS.items()]
    return {
        "environment": "test",
        "clusters": clusters,
        "scheduling": {"teams": [{"name": f"team-{c}", "cluster": c} for c in CLUSTERS]},
        "caches": [{"name": "corpus", "cluster": "eks-mixed", "pools": ["ts-renamed-m", "mig-mixed-m"],
                    "teams": ["team-eks-mixed"],
                    "mounts": [{"url": "s3://ml-corpora/corpus",
                                "options": {"alluxio.underfs.s3.region": "us-east-1"}}],
                    "tiers": [{"medium": "MEM", "quota": "8Gi"}]}],
        "monitoring": {"enabled": True},
    }


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return render_environment(environment())


@pytest.fixture(scope="module")
def resources(files) -> list[dict[str, Any]]:
    return json.loads(files["resources.json"])


def docs(files: dict[str, str], kind: str) -> list[tuple[str, dict[str, Any]]]:
    """(cluster, object) of every rendered manifest of `kind`."""
    out = []
    for path, text in sorted(files.items()):
        if path.startswith("manifests/") and path.rsplit("/", 1)[-1].startswith(f"{kind}-"):
            out.append((path.split("/")[1], yaml.safe_load(text)))
    return out


def expected_taint(pool: str) -> dict[str, str] | None:
    value = POOLS[pool][2]
    return None if value is None else {"key": KEY, "value": value, "effect": "NoSchedule"}


def tolerates(tolerations: list[dict[str, Any]], taint: dict[str, str]) -> bool:
    """Kubernetes' matching (core/v1 Toleration): an empty key with Exists matches every taint, an empty effect
    every effect; Exists ignores the value, Equal (the default operator) compares it."""
    for t in tolerations or []:
        if t.get("effect") and t["effect"] != taint["effect"]:
            continue
        if not t.get("key"):
            if t.get("operator") == "Exists":
                return True
            continue
        if t["key"] != taint["key"]:
            continue
        if t.get("operator") == "Exists" or t.get("value", "") == taint["value"]:
            return True
    return False


def taint_lists(node: Any, path: str = "") -> list[tuple[str, list[dict[str, Any]]]]:
    """Every `tolerations` list anywhere in a Helm values tree, with where it sits."""
    found: list[tuple[str, list[dict[str, Any]]]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "tolerations" and isinstance(v, list):
                found.append((f"{path}.{k}", v))
            else:
                found += taint_lists(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found += taint_lists(v, f"{path}[{i}]")
    return found


# --- the node pools carry it exactly where the nodes advertise no nvidia.com/gpu --------------------------------

KARPENTER = sorted(p for p, (c, s, _) in POOLS.items() if s.get("provisioner") == "karpenter")
MANAGED_EKS = sorted(p for p, (c, s, _) in POOLS.items() if c.startswith("eks") and "provisioner" not in s)
GKE = sorted(p for p, (c, _, _) in POOLS.items() if c.startswith("gke"))


# Fails on main before this change (no pool carried a second taint): the affected rows.
@pytest.mark.parametrize("pool", KARPENTER)
def test_karpenter_nodepool_taints(files, pool):
    (node_pool,) = [o for _, o in docs(files, "NodePool") if o["metadata"]["name"] == pool]
    taints = node_pool["spec"]["template"]["spec"]["taints"]
    want = expected_taint(pool)
    assert taints[0] == GPU_TAINT
    assert [t for t in taints if t["key"] == KEY] == ([want] if want else [])


@pytest.mark.parametrize("pool", MANAGED_EKS)
def test_managed_node_group_taints_and_autoscaler_template(resources, pool):
    (group,) = [r for r in resources if r["type"] == "aws:eks/nodeGroup:NodeGroup" and r["name"].endswith(
        f"-{pool}-ng")]
    want = expected_taint(pool)
    ours = [t for t in group["inputs"]["taints"] if t["key"] == KEY]
    # EKS spells the effect NO_SCHEDULE (eks.NodeGroup taints).
    assert ours == ([{**want, "effect": "NO_SCHEDULE"}] if want else [])
    tags = {r["inputs"]["tag"]["key"]: r["inputs"]["tag"]["value"] for r in resources
            if r["type"] == "aws:autoscaling/tag:Tag" and r["parent"] == group["parent"]}
    template = "k8s.io/cluster-autoscaler/node-template"
    if want:
        assert tags[f"{template}/taint/{KEY}"] == f"{want['value']}:NoSchedule"
        # The template node of a group at zero must not promise nvidia.com/gpu.
        assert tags[f"{template}/resources/nvidia.com/gpu"] == "0"
    else:
        assert f"{template}/taint/{KEY}" not in tags
        assert int(tags.get(f"{template}/resources/nvidia.com/gpu", "1")) > 0


@pytest.mark.parametrize("pool", GKE)
def test_gke_node_pool_taints(resources, pool):
    (node_pool,) = [r for r in resources if r["type"] == "gcp:container/nodePool:NodePool"
                    and r["name"].endswith(f"-{pool}-pool")]
    want = expected_taint(pool)
    ours = [t for t in node_pool["inputs"]["nodeConfig"]["taints"] if t["key"] == KEY]
    assert ours == ([{**want, "effect": "NO_SCHEDULE"}] if want else [])


# --- everything that must reach those nodes tolerates it ----------------------------------------------------------

def affected(cluster: str) -> list[dict[str, str]]:
    return [t for p, (c, _, _) in POOLS.items() if c == cluster and (t := expected_taint(p))]


def test_every_toleration_list_that_reaches_gpu_nodes_tolerates_the_resource_taint(files):
    # Derived from the render: every tolerations list of every Helm release that tolerates the GPU taint is
    # there to run on GPU nodes (the GPU operator's daemonsets: driver validator, device plugin, GFD, MIG
    # manager, dcgm-exporter; NFD's worker), and so must tolerate the resource taint of every pool of the cluster.
    checked = 0
    for path, text in sorted(files.items()):
        if not path.startswith("helm/"):
            continue
        cluster = path.split("/")[1]
        release = yaml.safe_load(text)
        for where, tolerations in taint_lists(release.get("values", {})):
            if not tolerates(tolerations, GPU_TAINT):
                continue
            checked += 1
            for taint in affected(cluster):
                assert tolerates(tolerations, taint), (path, where, taint)
    # Every cluster with affected pools has at least the operator's daemonsets and NFD's worker.
    assert checked >= 2 * len(CLUSTERS)


@pytest.mark.parametrize("cluster", [c for c in CLUSTERS if affected(c)])
def test_gpu_operator_daemonsets_tolerate_it(files, cluster):
    values = yaml.safe_load(files[f"helm/{cluster}/gpu-operator.yaml"])["values"]
    for taint in affected(cluster):
        assert tolerates(values["daemonsets"]["tolerations"], taint)
        assert tolerates(values["node-feature-discovery"]["worker"]["tolerations"], taint)


# DaemonSets that reach every node through their chart's default tolerations, which mlinfra must not narrow:
# Fluid's CSI plugin (fluid v1.0.8 values.yaml `csi.tolerations: [{operator: Exists}]`, read from
# ../shared/upstream) and node-exporter (prometheus-community/helm-charts charts/prometheus-node-exporter
# values.yaml `tolerations: [{effect: NoSchedule, operator: Exists}]`; that chart's values are not in
# ../shared/upstream, so only the no-override half is checked here).
def test_chart_default_daemonsets_keep_their_tolerate_all_defaults(files, upstream):
    fluid_defaults = yaml.safe_load((upstream / "fluid" / "v1.0.8" / "values.yaml").read_text())
    for taint in affected("eks-mixed"):
        assert tolerates(fluid_defaults["csi"]["tolerations"], taint)
    fluid = yaml.safe_load(files["helm/eks-mixed/fluid.yaml"])["values"]
    assert "tolerations" not in fluid.get("csi", {})
    stack = yaml.safe_load(files["helm/eks-mixed/kube-prometheus-stack.yaml"])["values"]
    assert "tolerations" not in stack.get("prometheus-node-exporter", {})


def pool_labels() -> dict[str, dict[str, str]]:
    """Each pool's node labels (the flavors select pools by them)."""
    env = load_environment(environment(), on_warning=None)
    return {p.name: p.labels for c in env.clusters for p in resolve_cluster_pools(c)}


def test_every_kueue_flavor_of_an_affected_pool_tolerates_it(files):
    # Kueue adds a flavor's tolerations to the pods it admits to it (ResourceFlavor spec.tolerations,
    # kueue.x-k8s.io_resourceflavors.yaml v0.19.2), so admitted work lands on the tainted nodes.
    labels = pool_labels()
    covered = set()
    for cluster, flavor in docs(files, "ResourceFlavor"):
        node_labels = flavor["spec"].get("nodeLabels", {})
        selected = [p for p, (c, _, _) in POOLS.items() if c == cluster and node_labels.items() <= labels[p].items()]
        assert selected, flavor["metadata"]["name"]
        tolerations = flavor["spec"].get("tolerations", [])
        wanted = [t for p in selected if (t := expected_taint(p))]
        assert tolerates(tolerations, GPU_TAINT), flavor["metadata"]["name"]
        for taint in wanted:
            assert tolerates(tolerations, taint), (flavor["metadata"]["name"], taint)
        if not wanted:
            assert not any(t["key"] == KEY for t in tolerations), flavor["metadata"]["name"]
        covered.update(p for p in selected if expected_taint(p))
    assert covered == {p for p in POOLS if expected_taint(p)}


def test_cache_placement_tolerates_the_pools_it_sits_on(files):
    # Fluid passes the Dataset's tolerations to the runtime's worker and FUSE pods (Dataset CRD v1.0.8
    # spec.tolerations); the cache sits on a renamed time-slicing pool and a mixed MIG pool.
    ((_, dataset),) = [(c, o) for c, o in docs(files, "Dataset") if o["metadata"]["namespace"] == "fluid-system"]
    for pool in dataset["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"]:
        want = expected_taint(pool)
        assert want, pool
        assert tolerates(dataset["spec"]["tolerations"], want)


# --- a user cannot declare the key ------------------------------------------------------------------------------

@pytest.mark.parametrize("effect", ["NoSchedule", "NoExecute", "PreferNoSchedule"])
def test_the_key_is_reserved(effect):
    spec = {"environment": "t", "clusters": [{
        "name": "c", "cloud": "aws", "region": "us-east-1", "endpoint": DEPLOYERS, "network": AWS_NETWORK,
        "pools": [{"name": "l4", "gpu": "L4-24GB", "max_nodes": 1,
                   "taints": [{"key": "team", "value": "a"}, {"key": KEY, "value": "gpu", "effect": effect}]}]}]}
    assert_refused(spec, "clusters[0].pools[0].taints[1].key", f"{KEY} is reserved")
