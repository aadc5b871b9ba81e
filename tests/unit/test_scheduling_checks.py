"""The scheduling checks: every invalid case names its field path, the value and what is allowed."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from spec_assertions import DEPLOYERS, EKS_REACHABLE

from mlinfra.checks import run_checks
from mlinfra.spec import EnvironmentSpec, SpecError, load_environment
from mlinfra.spec.scheduling import parse_quantity


def base() -> dict[str, Any]:
    """An AWS cluster with a mixed-MIG pool and a spot pool, a GKE cluster, a Volcano cluster, two teams."""
    return {
        "environment": "t",
        "clusters": [
            {
                "name": "eks",
                "cloud": "aws", **EKS_REACHABLE,
                "region": "us-east-1",
                "pools": [
                    {
                        "name": "h100-mig",
                        "gpu": "H100-80GB",
                        "max_nodes": 2,
                        "mig": {"profiles": {"1g.10gb": 3, "2g.20gb": 2}},
                    },
                    {"name": "h100-spot", "gpu": "H100-80GB", "max_nodes": 4, "spot": True},
                ],
            },
            {
                "name": "gke",
                "cloud": "gcp", "endpoint": DEPLOYERS,
                "region": "us-central1",
                "project": "p",
                "pools": [{"name": "l4", "gpu": "L4-24GB", "max_nodes": 3}],
            },
            {
                "name": "vol",
                "cloud": "gcp", "endpoint": DEPLOYERS,
                "region": "us-central1",
                "project": "p",
                "scheduler": "volcano",
                "pools": [{"name": "l4-vol", "gpu": "L4-24GB", "max_nodes": 3}],
            },
            {
                "name": "plain",
                "cloud": "gcp", "endpoint": DEPLOYERS,
                "region": "us-central1",
                "project": "p",
                "scheduler": "none",
                "pools": [],
            },
        ],
        "scheduling": {
            "teams": [
                {
                    "name": "research",
                    "cluster": "eks",
                    "cohort": "ml",
                    "quotas": [
                        {
                            "flavor": "h100-mig",
                            "resources": {"nvidia.com/mig-1g.10gb": 4, "cpu": 8, "memory": "64Gi"},
                            "lending_limit": {"nvidia.com/mig-1g.10gb": 2},
                        },
                        {
                            "flavor": "h100-spot",
                            "resources": {"nvidia.com/gpu": 2},
                            "borrowing_limit": {"nvidia.com/gpu": 2},
                        },
                    ],
                },
                {"name": "prod", "cluster": "eks", "cohort": "ml"},
                {"name": "vision", "cluster": "vol"},
            ],
            "cohorts": [{"name": "ml", "cluster": "eks", "parent": "org"}],
        },
    }


def with_(path: str, value: Any) -> dict[str, Any]:
    """The base spec with one value set at a dotted path (`scheduling.teams.0.cluster`)."""
    spec = base()
    node: Any = spec
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last = parts[-1]
    if last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return spec


def problems(spec: dict[str, Any]) -> list[Any]:
    """The scheduling section's problems (the pool checks have their own tests)."""
    found = run_checks(EnvironmentSpec.model_validate(spec))
    assert not [p for p in found if p.severity == "error" and not p.path.startswith("scheduling")], found
    return [p for p in found if p.path.startswith("scheduling")]


def test_base_spec_is_clean() -> None:
    assert problems(base()) == []


def test_the_dev_stack_minimal_team_shape_loads() -> None:
    env = load_environment(
        {
            "environment": "dev",
            "clusters": [
                {
                    "name": "gke",
                    "cloud": "gcp", "endpoint": DEPLOYERS,
                    "region": "us-central1",
                    "project": "p",
                    "pools": [{"name": "l4", "gpu": "L4-24GB", "max_nodes": 3}],
                }
            ],
            "scheduling": {"teams": [{"name": "research", "cluster": "gke"}]},
        }
    )
    assert env.scheduling.teams[0].namespace_name == "research"


Q0 = "scheduling.teams.0.quotas.0"
Q1 = "scheduling.teams.0.quotas.1"

INVALID = [
    # (what, mutate -> spec, expected path, expected message fragment, severity)
    (
        "team on a cluster that does not exist",
        lambda: with_("scheduling.teams.2.cluster", "nope"),
        "scheduling.teams[2].cluster",
        "no such cluster; clusters: eks, gke, vol, plain",
        "error",
    ),
    (
        "team on a cluster whose scheduler is none",
        lambda: with_("scheduling.teams.2.cluster", "plain"),
        "scheduling.teams[2].cluster",
        "has scheduler 'none'",
        "error",
    ),
    (
        "duplicate team name",
        lambda: with_("scheduling.teams.2.name", "research"),
        "scheduling.teams[2].name",
        "duplicate team name",
        "error",
    ),
    (
        "two teams in one namespace",
        lambda: with_("scheduling.teams.1.namespace", "research"),
        "scheduling.teams[1].namespace",
        "share this namespace",
        "error",
    ),
    (
        "Volcano reserved queue name",
        lambda: with_("scheduling.teams.2.name", "default"),
        "scheduling.teams[2].name",
        "reserves the queue names root and default",
        "error",
    ),
    (
        "flavor group that matches no pool",
        lambda: with_(
            "scheduling.flavors",
            [{"name": "a100", "cluster": "eks", "node_labels": {"mlinfra.io/gpu-model": "A100-80GB"}}],
        ),
        "scheduling.flavors[0].node_labels",
        "selects no pool of cluster eks",
        "error",
    ),
    (
        "flavor group mixing spot and on-demand",
        lambda: with_(
            "scheduling.flavors",
            [{"name": "h100", "cluster": "eks", "node_labels": {"mlinfra.io/gpu-model": "H100-80GB"}}],
        ),
        "scheduling.flavors[0].node_labels",
        "selects both spot and on-demand pools (h100-mig, h100-spot)",
        "error",
    ),
    (
        "quota on a flavor that does not exist",
        lambda: with_(f"{Q1}.flavor", "a100"),
        "scheduling.teams[0].quotas[1].flavor",
        "no such flavor on cluster eks; flavors: h100-mig, h100-spot",
        "error",
    ),
    (
        "nvidia.com/gpu on a pool that advertises only MIG resources",
        lambda: with_(f"{Q0}.resources", {"nvidia.com/gpu": 1}),
        'scheduling.teams[0].quotas[0].resources["nvidia.com/gpu"]',
        "no pool of flavor h100-mig provides nvidia.com/gpu; its pools provide: cpu, memory, "
        "nvidia.com/mig-1g.10gb, nvidia.com/mig-2g.20gb",
        "error",
    ),
    (
        "MIG resource on a whole-GPU pool",
        lambda: with_(f"{Q1}.resources", {"nvidia.com/mig-1g.10gb": 1}),
        'scheduling.teams[0].quotas[1].resources["nvidia.com/mig-1g.10gb"]',
        "no pool of flavor h100-spot provides nvidia.com/mig-1g.10gb",
        "error",
    ),
    (
        "nominal quota above the pools' capacity at max nodes",
        lambda: with_(f"{Q1}.resources", {"nvidia.com/gpu": 5}),
        'scheduling.teams[0].quotas[1].resources["nvidia.com/gpu"]',
        "add up to more nvidia.com/gpu than its pools hold at max nodes (4)",
        "error",
    ),
    (
        "unparseable quantity",
        lambda: with_(f"{Q0}.resources", {"memory": "64 gigs"}),
        "scheduling.teams[0].quotas[0].resources.memory",
        "not a Kubernetes quantity",
        "error",
    ),
    (
        "negative quantity",
        lambda: with_(f"{Q0}.resources", {"cpu": "-2"}),
        "scheduling.teams[0].quotas[0].resources.cpu",
        "must not be negative",
        "error",
    ),
    (
        "unparseable container default",
        lambda: with_("scheduling.teams.2.default_container_memory", "1GB!"),
        "scheduling.teams[2].default_container_memory",
        "not a Kubernetes quantity",
        "error",
    ),
    (
        "borrowing limit without a cohort",
        lambda: with_("scheduling.teams.0.cohort", None),
        'scheduling.teams[0].quotas[1].borrowing_limit["nvidia.com/gpu"]',
        "borrowing_limit needs the team to be in a cohort",
        "error",
    ),
    (
        "lending limit without a cohort",
        lambda: with_("scheduling.teams.0.cohort", None),
        'scheduling.teams[0].quotas[0].lending_limit["nvidia.com/mig-1g.10gb"]',
        "lending_limit needs the team to be in a cohort",
        "error",
    ),
    (
        "lending limit above nominal quota",
        lambda: with_(f"{Q0}.lending_limit", {"nvidia.com/mig-1g.10gb": 5}),
        'scheduling.teams[0].quotas[0].lending_limit["nvidia.com/mig-1g.10gb"]',
        "lending limit above the nominal quota 4",
        "error",
    ),
    (
        "limit on a resource without nominal quota",
        lambda: with_(f"{Q0}.lending_limit", {"cpu": 1, "nvidia.com/mig-2g.20gb": 1}),
        'scheduling.teams[0].quotas[0].lending_limit["nvidia.com/mig-2g.20gb"]',
        "has no nominal quota in this entry",
        "error",
    ),
    (
        "reclaimWithinCohort Never with a borrowing preemption policy",
        lambda: with_(
            "scheduling.teams.0.preemption", {"reclaim_within_cohort": "Never", "borrow_within_cohort": "LowerPriority"}
        ),
        "scheduling.teams[0].preemption.borrow_within_cohort",
        "needs reclaim_within_cohort LowerPriority or Any",
        "error",
    ),
    (
        "cohort cycle",
        lambda: with_(
            "scheduling.cohorts",
            [{"name": "ml", "cluster": "eks", "parent": "org"}, {"name": "org", "cluster": "eks", "parent": "ml"}],
        ),
        "scheduling.cohorts[0].parent",
        "cohort parents form a cycle: ml -> org -> ml",
        "error",
    ),
    (
        "cohort that is its own parent",
        lambda: with_("scheduling.cohorts", [{"name": "ml", "cluster": "eks", "parent": "ml"}]),
        "scheduling.cohorts[0].parent",
        "cycle: ml -> ml",
        "error",
    ),
    (
        "cohort on a cluster that does not exist",
        lambda: with_("scheduling.cohorts.0.cluster", "nope"),
        "scheduling.cohorts[0].cluster",
        "no such cluster",
        "error",
    ),
    (
        "flavor listed twice",
        lambda: with_(f"{Q1}.flavor", "h100-mig"),
        "scheduling.teams[0].quotas[1].flavor",
        "flavor listed twice",
        "error",
    ),
    (
        "priority value in the system range",
        lambda: with_("scheduling.priority_classes", [{"name": "urgent", "value": 2_000_000_000}]),
        "scheduling.priority_classes[0].value",
        "must be between -2147483648 and 1000000000",
        "error",
    ),
    (
        "explicit cpu plus the cpu filled in for a GPU-only quota beyond the pool",
        # h100-spot: 4 nodes of 1 H100 and 16 vCPU = 64 cores. Team prod's 50 cores fit alone, but research's 2 of
        # the 4 GPUs bring half the cores (32): 82.
        lambda: with_("scheduling.teams.1.quotas", [{"flavor": "h100-spot", "resources": {"nvidia.com/gpu": 2,
                                                                                          "cpu": 50}}]),
        "scheduling.teams[1].quotas[0].resources.cpu",
        "add up to more cpu than its pools hold at max nodes (64), counting the cpu filled in",
        "error",
    ),
    # -- namespaces: a team's namespace is its own (Kubernetes' four and the add-ons' are refused) --
    *[
        (
            f"team namespace {ns} ({owner})",
            (lambda ns=ns: with_("scheduling.teams.2.namespace", ns)),
            "scheduling.teams[2].namespace",
            f"namespace {ns} belongs to {owner}",
            "error",
        )
        for ns, owner in [
            ("kube-system", "Kubernetes"),
            ("kube-public", "Kubernetes"),
            ("kube-node-lease", "Kubernetes"),
            ("default", "Kubernetes"),
            ("kube-batch", "Kubernetes"),
            ("gpu-operator", "the add-on of mlinfra.k8s.gpu_operator_config"),
            ("monitoring", "the add-on of mlinfra.k8s.monitoring"),
            ("kueue-system", "the add-on of mlinfra.k8s.kueue"),
            ("volcano-system", "the add-on of mlinfra.k8s.volcano"),
            ("fluid-system", "the add-on of mlinfra.k8s.fluid_objects"),
            ("karpenter", "the add-on of mlinfra.aws.karpenter"),
            # Team 2 is on a GKE cluster: GKE's Managed Service for Prometheus owns these two (catalog/gke.py).
            ("gmp-system", "GKE"),
            ("gmp-public", "GKE"),
        ]
    ],

    (
        "team named like an add-on namespace, without a namespace of its own",
        lambda: with_("scheduling.teams.2.name", "monitoring"),
        "scheduling.teams[2].name",
        "namespace monitoring belongs to the add-on of mlinfra.k8s.monitoring",
        "error",
    ),
    # -- cohorts are one cluster's --
    (
        "team on the Volcano cluster naming a cohort declared on the EKS cluster",
        lambda: with_("scheduling.teams.2.cohort", "ml"),
        "scheduling.teams[2].cohort",
        "cohort ml is declared on cluster eks, not on vol where team vision has its queue",
        "error",
    ),
    (
        "teams on two clusters naming the same undeclared cohort",
        lambda: with_("scheduling.teams.2.cohort", "org"),
        "scheduling.teams[2].cohort",
        "cohort org is named on clusters eks, vol and declared on none",
        "error",
    ),
    (
        "cohort whose parent is declared only on another cluster",
        lambda: with_("scheduling.cohorts", [{"name": "ml", "cluster": "eks", "parent": "top"},
                                             {"name": "top", "cluster": "vol"}]),
        "scheduling.cohorts[0].parent",
        "cohort top is declared on cluster vol, not on eks where cohort ml lives",
        "error",
    ),
    (
        "Volcano team queue nested deeper than the webhook allows",
        lambda: with_("scheduling", {
            "teams": [{"name": "vision", "cluster": "vol", "cohort": "c1"}],
            "cohorts": [{"name": f"c{k}", "cluster": "vol", "parent": f"c{k + 1}"} for k in range(1, 5)],
        }),
        "scheduling.teams[0].cohort",
        "would sit 6 levels below root (c5 -> c4 -> c3 -> c2 -> c1 -> vision); Volcano's queue webhook allows at "
        "most 5",
        "error",
    ),
    # -- a team on several clusters --
    (
        "team with both cluster and clusters",
        lambda: with_("scheduling.teams.2.clusters", ["vol", "gke"]),
        "scheduling.teams[2].clusters",
        "give either cluster or clusters, not both",
        "error",
    ),
    (
        "team with neither cluster nor clusters",
        lambda: with_("scheduling.teams.2.cluster", None),
        "scheduling.teams[2].cluster",
        "a team needs a cluster (or clusters: [a, b]",
        "error",
    ),
    (
        "team listing a cluster that does not exist",
        lambda: with_("scheduling.teams.2", {"name": "vision", "clusters": ["vol", "nope"]}),
        "scheduling.teams[2].clusters[1]",
        "no such cluster",
        "error",
    ),
    (
        "team listing a cluster twice",
        lambda: with_("scheduling.teams.2", {"name": "vision", "clusters": ["vol", "vol"]}),
        "scheduling.teams[2].clusters[1]",
        "cluster listed twice",
        "error",
    ),
    (
        "quota of a team on several clusters that does not say which",
        lambda: with_("scheduling.teams.2", {"name": "vision", "clusters": ["vol", "gke"],
                                             "quotas": [{"flavor": "l4", "resources": {"nvidia.com/gpu": 1}}]}),
        "scheduling.teams[2].quotas[0].cluster",
        "team vision is on clusters vol, gke: say which cluster this quota is for",
        "error",
    ),
    (
        "quota for a cluster the team is not on",
        lambda: with_("scheduling.teams.2.quotas",
                      [{"flavor": "l4", "cluster": "gke", "resources": {"nvidia.com/gpu": 1}}]),
        "scheduling.teams[2].quotas[0].cluster",
        "not a cluster of team vision; its clusters: vol",
        "error",
    ),
    (
        "quota of a team on several clusters naming a flavor of another of its clusters",
        lambda: with_("scheduling.teams.2", {"name": "vision", "clusters": ["vol", "gke"],
                                             "quotas": [{"flavor": "l4", "cluster": "vol",
                                                         "resources": {"nvidia.com/gpu": 1}}]}),
        "scheduling.teams[2].quotas[0].flavor",
        "no such flavor on cluster vol; flavors: l4-vol",
        "error",
    ),
    # -- GPU classes --
    (
        "flavor group over pools of different GPU classes",
        lambda: with_("scheduling.flavors", [{"name": "h100-all-spot", "cluster": "eks",
                                              "node_labels": {"mlinfra.io/gpu-model": "H100-80GB"}}])
        | {"clusters": [base()["clusters"][0] | {"pools": [
            {"name": "h100-mig", "gpu": "H100-80GB", "max_nodes": 2, "spot": True,
             "mig": {"profiles": {"1g.10gb": 7}}},
            {"name": "h100-spot", "gpu": "H100-80GB", "max_nodes": 4, "spot": True}]},
            *base()["clusters"][1:]]},
        "scheduling.flavors[0].node_labels",
        "selects pools of different GPU classes (h100-mig: mig-1g-10gb, h100-spot: gpu)",
        "error",
    ),
    (
        "flavor group with more node labels than a ResourceFlavor holds",
        lambda: with_("scheduling.flavors", [{"name": "many", "cluster": "eks",
                                              "node_labels": {f"acme.io/k{k}": "v" for k in range(9)}}]),
        "scheduling.flavors[0].node_labels",
        "a Kueue ResourceFlavor takes at most 8 node labels (got 9)",
        "error",
    ),
    (
        "team whose name is another team's per-class queue",
        lambda: with_("scheduling.teams.2", {"name": "research-mig-mixed", "cluster": "eks"}),
        "scheduling.teams[2].name",
        "its queue research-mig-mixed on cluster eks has the name of a queue of team research",
        "error",
    ),
    # A Volcano Queue's weight is an int32 from 1 to 65535 (volcano-sh/volcano@v1.15.1
    # config/crd/volcano/bases/scheduling.volcano.sh_queues.yaml spec.weight minimum 1, maximum 65535);
    # a fractional weight, fine for Kueue, would be rendered as 0 and refused by the API server.
    (
        "fractional weight of a Volcano team",
        lambda: with_("scheduling.teams.2.fair_sharing_weight", "0.5"),
        "scheduling.teams[2].fair_sharing_weight",
        "a whole number from 1 to 65535",
        "error",
    ),
    (
        "Volcano team weight above the queue maximum",
        lambda: with_("scheduling.teams.2.fair_sharing_weight", 70000),
        "scheduling.teams[2].fair_sharing_weight",
        "a whole number from 1 to 65535",
        "error",
    ),
    (
        "fractional weight of a Volcano cohort",
        lambda: with_("scheduling.cohorts", [{"name": "ml", "cluster": "eks", "parent": "org"},
                                             {"name": "lab", "cluster": "vol", "fair_sharing_weight": "1.5"}]),
        "scheduling.cohorts[1].fair_sharing_weight",
        "a whole number from 1 to 65535",
        "error",
    ),
    # A cohort a team names on Volcano becomes a cluster-scoped Queue of that name: it must not be another
    # team's queue, Volcano's own `default`, or `root` (refused as its own parent: volcano-sh/volcano@v1.15.1
    # pkg/webhooks/admission/queues/validate/validate_queue.go validateHierarchicalQueue).
    (
        "undeclared Volcano cohort named like a team",
        lambda: with_("scheduling.teams", [*base()["scheduling"]["teams"][:2],
                                           {"name": "vision", "cluster": "vol", "cohort": "speech"},
                                           {"name": "speech", "cluster": "vol"}]),
        "scheduling.teams[2].cohort",
        "on Volcano a cohort is a parent queue on cluster vol; its name must differ from root, default",
        "error",
    ),
    (
        "undeclared Volcano cohort named default",
        lambda: with_("scheduling.teams.2.cohort", "default"),
        "scheduling.teams[2].cohort",
        "on Volcano a cohort is a parent queue",
        "error",
    ),
    (
        "Volcano cohort parent named root",
        lambda: with_("scheduling.cohorts", [{"name": "ml", "cluster": "eks", "parent": "org"},
                                             {"name": "lab", "cluster": "vol", "parent": "root"}]),
        "scheduling.cohorts[1].parent",
        "on Volcano a cohort is a parent queue",
        "error",
    ),
    # borrowWithinCohort "may only be configured with Classical Preemption, and not with Fair Sharing"
    # (kubernetes-sigs/kueue@v0.19.2 site/content/en/docs/concepts/cluster_queue.md): Kueue ignores it then.
    (
        "borrow within cohort under fair sharing",
        lambda: {**(s := with_("scheduling.teams.0.preemption", {"borrow_within_cohort": "LowerPriority"})),
                 "scheduling": s["scheduling"] | {"fair_sharing": True}},
        "scheduling.teams[0].preemption.borrow_within_cohort",
        "has no effect while scheduling.fair_sharing is on",
        "warning",
    ),
    (
        "fair sharing weight while fair sharing is off",
        lambda: with_("scheduling.teams.0.fair_sharing_weight", 2),
        "scheduling.teams[0].fair_sharing_weight",
        "has no effect while scheduling.fair_sharing is off",
        "warning",
    ),
]


@pytest.mark.parametrize(("what", "make", "path", "message", "severity"), INVALID, ids=[row[0] for row in INVALID])
def test_invalid_specs_name_the_field(what: str, make: Any, path: str, message: str, severity: str) -> None:
    found = problems(make())
    matching = [p for p in found if p.path == path]
    assert matching, f"{what}: no problem at {path}; got {[str(p) for p in found]}"
    assert any(message in p.message and p.severity == severity for p in matching), [str(p) for p in matching]


def test_gkes_own_namespaces_are_free_to_a_team_on_eks_only() -> None:
    """GKE's managed-collection namespaces exist only on GKE clusters: an EKS team may take one, a team on both
    clouds may not."""
    assert problems(with_("scheduling.teams.1.namespace", "gmp-public")) == []
    both = with_("scheduling.teams.1", {"name": "prod", "clusters": ["eks", "gke"], "namespace": "gmp-public"})
    assert [(p.path, "belongs to GKE" in p.message) for p in problems(both)] == [
        ("scheduling.teams[1].namespace", True)]


def test_overcommit_turns_over_capacity_into_a_warning() -> None:
    spec = with_(f"{Q1}.resources", {"nvidia.com/gpu": 5})
    spec["scheduling"]["overcommit"] = True
    found = problems(spec)
    assert [(p.severity, p.value) for p in found] == [("warning", 5)]
    assert "allowed by scheduling.overcommit" in found[0].message


def test_errors_stop_the_load_with_every_problem_listed() -> None:
    spec = with_("scheduling.teams.2.cluster", "nope")
    spec["scheduling"]["teams"][0]["quotas"][0]["resources"] = {"nvidia.com/gpu": 1}
    with pytest.raises(SpecError) as err:
        load_environment(spec)
    text = str(err.value)
    assert "scheduling.teams[2].cluster: no such cluster" in text
    assert 'scheduling.teams[0].quotas[0].resources["nvidia.com/gpu"]: no pool of flavor h100-mig' in text


def test_unknown_spec_field_is_rejected() -> None:
    spec = copy.deepcopy(base())
    spec["scheduling"]["teams"][0]["quota"] = []
    with pytest.raises(SpecError) as err:
        load_environment(spec)
    assert "scheduling.teams[0].quota: unknown field" in str(err.value)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Decimal("0.5")),
        ("64Gi", Decimal(64 * 2**30)),
        ("1k", Decimal(1000)),
        (8, Decimal(8)),
        (0.5, Decimal("0.5")),
        ("1e3", Decimal(1000)),
        ("2M", Decimal(2_000_000)),
        ("-1", Decimal(-1)),
    ],
)
def test_parse_quantity(text: Any, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "1.2.3", "64 Gi", "Gi", "1gi", "abc", True, "1Ki5"])
def test_parse_quantity_rejects(text: Any) -> None:
    with pytest.raises(ValueError):
        parse_quantity(text)


def test_reserved_namespaces_are_the_add_on_modules_own_constants() -> None:
    """The checks read `NAMESPACE = "..."` from the sources (no Pulumi import while checking a spec); this
    imports every mlinfra module and compares with the constants they really hold, so a new add-on module or a
    changed constant cannot slip past."""
    import importlib
    import pkgutil

    import mlinfra
    from mlinfra.checks.scheduling import addon_namespaces

    held: set[str] = set()
    for info in pkgutil.walk_packages(mlinfra.__path__, "mlinfra."):
        value = vars(importlib.import_module(info.name)).get("NAMESPACE")
        if isinstance(value, str):
            held.add(value)
    assert set(addon_namespaces()) == held
    assert {"gpu-operator", "monitoring", "kueue-system", "volcano-system", "fluid-system", "karpenter"} <= held
