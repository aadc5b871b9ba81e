"""Batch scheduling: teams, their queues, quotas, cohorts and priorities (Kueue or Volcano, per cluster)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Literal

from pydantic import Field

from mlinfra.spec.base import Name, SpecModel

# A Kubernetes quantity as the stack config writes it: `8`, `0.5`, `"500m"`, `"64Gi"`.
Quantity = int | float | str

_QUANTITY_RE = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$")
_SUFFIX = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}


def parse_quantity(value: Quantity) -> Decimal:
    """The numeric value of a Kubernetes quantity (`"500m"` -> 0.5, `"1Gi"` -> 1073741824).

    Raises ValueError for anything Kubernetes would not parse.
    """
    if isinstance(value, bool):
        raise ValueError("a quantity is a number or a string like '500m' or '64Gi', not a boolean")
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    match = _QUANTITY_RE.match(value.strip()) if isinstance(value, str) else None
    if match is None or match.group(1).count(".") > 1 or match.group(1) in ("", ".", "+", "-"):
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    number, suffix = match.group(1), match.group(2) or ""
    try:
        base = Decimal(number)
    except InvalidOperation:
        raise ValueError(f"not a Kubernetes quantity: {value!r}") from None
    if suffix[:1] in ("e", "E") and len(suffix) > 1:
        return base * (Decimal(10) ** int(suffix[1:]))
    return base * _SUFFIX[suffix]


def quantity_text(value: Quantity) -> int | str:
    """A quantity as it goes into a manifest: whole numbers stay ints, everything else a string."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return value
    return str(value)


class QuotaSpec(SpecModel):
    """What a team is guaranteed on one flavor (a pool, or a group of pools from `scheduling.flavors`)."""

    flavor: str = Field(description="A pool name on the team's cluster, or a flavor from `scheduling.flavors`.")
    cluster: str | None = Field(
        default=None,
        description="The cluster of the flavor, for a team on several clusters (`clusters`); there it is "
        "required. Default: the team's only cluster.",
    )
    resources: dict[str, Quantity] = Field(
        min_length=1,
        description="Nominal quota per resource: `cpu`, `memory`, and the GPU resources the flavor's pools "
        "advertise (`nvidia.com/gpu`, `nvidia.com/mig-1g.10gb`, `nvidia.com/gpu.shared`).",
    )
    borrowing_limit: dict[str, Quantity] = Field(
        default_factory=dict,
        description="How much more than nominal the team may borrow from its cohort, per resource. "
        "Needs `cohort`. Default: no limit (anything idle in the cohort).",
    )
    lending_limit: dict[str, Quantity] = Field(
        default_factory=dict,
        description="How much of the nominal quota the cohort may borrow while the team is idle, per "
        "resource; at most the nominal quota. Needs `cohort`. Default: all of it.",
    )


class PreemptionSpec(SpecModel):
    """When a team's pending work may evict admitted work (Kueue ClusterQueue `preemption`)."""

    within_cluster_queue: Literal["Never", "LowerPriority", "LowerOrNewerEqualPriority"] = Field(
        default="LowerPriority",
        description="Evict the team's own lower-priority work to admit higher-priority work. Default: LowerPriority.",
    )
    reclaim_within_cohort: Literal["Never", "LowerPriority", "Any"] = Field(
        default="Any",
        description="Take back nominal quota that other teams of the cohort borrowed. Default: Any "
        "(a team always gets its guarantee back).",
    )
    borrow_within_cohort: Literal["Never", "LowerPriority"] = Field(
        default="Never",
        description="While borrowing, evict lower-priority work of other teams. Needs reclaim_within_cohort "
        "other than Never. Default: Never.",
    )
    borrow_max_priority_threshold: int | None = Field(
        default=None,
        description="Only work at or below this priority may be evicted by borrowing. Default: no threshold.",
    )


class FlavorFungibilitySpec(SpecModel):
    """How Kueue walks the team's flavors (in quota order) when the first does not fit."""

    when_can_borrow: Literal["MayStopSearch", "TryNextFlavor"] = Field(
        default="MayStopSearch",
        description="Borrow in the current flavor (MayStopSearch) or try the next flavor first. "
        "Default: MayStopSearch.",
    )
    when_can_preempt: Literal["MayStopSearch", "TryNextFlavor"] = Field(
        default="TryNextFlavor",
        description="Try the next flavor before preempting in the current one. Default: TryNextFlavor.",
    )


class TeamSpec(SpecModel):
    """A team: a namespace on a cluster, with a queue (Kueue LocalQueue + ClusterQueue, or a Volcano Queue)."""

    name: Name
    cluster: str | None = Field(
        default=None, description="Cluster whose scheduler the team's queues live in. Give this or `clusters`."
    )
    clusters: list[str] = Field(
        default_factory=list,
        description="Clusters the team has queues on, for a team that works on several; each quota entry then "
        "names its `cluster`. The team gets the same namespace and queue names on each. Default: only `cluster`.",
    )
    namespace: Name | None = Field(
        default=None,
        description="The team's namespace. Not a Kubernetes, GKE or add-on namespace (kube-system, gmp-system, "
        "gpu-operator, ...). Default: the team name.",
    )
    cohort: Name | None = Field(
        default=None,
        description="Cohort the team shares idle quota with (a Volcano parent queue), on each of its clusters. "
        "A cohort lives on one cluster: declared in `scheduling.cohorts`, it must be declared on every "
        "cluster of the team. Default: none (the team neither borrows nor lends).",
    )
    quotas: list[QuotaSpec] = Field(
        default_factory=list,
        description="Nominal quotas per flavor, in the order Kueue tries the flavors. The team gets one queue per "
        "GPU class of its flavors (whole GPUs, a MIG profile, shared GPUs). A quota without cpu or memory gets "
        "the share of the flavor's cores and memory that goes with its GPUs. Default, per cluster without "
        "quotas: every flavor of the cluster (on-demand first), its capacity at max nodes split evenly among "
        "the teams of the cluster that set no quotas there.",
    )
    preemption: PreemptionSpec = Field(default_factory=lambda: PreemptionSpec())
    flavor_fungibility: FlavorFungibilitySpec = Field(default_factory=lambda: FlavorFungibilitySpec())
    fair_sharing_weight: Quantity | None = Field(
        default=None,
        description="Share of idle cohort capacity relative to other teams (Volcano queue weight). Needs "
        "`scheduling.fair_sharing` on Kueue. Default: 1.",
    )
    queueing_strategy: Literal["BestEffortFIFO", "StrictFIFO"] = Field(
        default="BestEffortFIFO",
        description="BestEffortFIFO lets smaller work pass work that does not fit. Default: BestEffortFIFO.",
    )
    pod_security: Literal["restricted", "baseline"] = Field(
        default="restricted",
        description="Pod Security Standard enforced on the namespace. Default: restricted.",
    )
    default_container_cpu: Quantity = Field(
        default="500m", description="CPU request of containers that set none (LimitRange). Default: 500m."
    )
    default_container_memory: Quantity = Field(
        default="1Gi", description="Memory request and limit of containers that set none (LimitRange). Default: 1Gi."
    )

    @property
    def namespace_name(self) -> str:
        """The namespace the team's workloads run in."""
        return self.namespace or self.name

    @property
    def cluster_names(self) -> list[str]:
        """The clusters the team has queues on: `cluster`, or every one of `clusters` (as written, repeats kept)."""
        return [self.cluster] if self.cluster else list(self.clusters)


class CohortSpec(SpecModel):
    """A cohort: teams that lend each other idle quota; cohorts nest through `parent`."""

    name: Name
    cluster: str = Field(description="Cluster the cohort lives on.")
    parent: Name | None = Field(default=None, description="Parent cohort. Default: none (a root cohort).")
    fair_sharing_weight: Quantity | None = Field(
        default=None, description="Share of the parent's idle capacity. Default: 1."
    )


class FlavorSpec(SpecModel):
    """A flavor over a group of pools (beyond the one flavor per pool that always exists)."""

    name: Name
    cluster: str = Field(description="Cluster whose pools the flavor selects.")
    node_labels: dict[str, str] = Field(
        min_length=1,
        description="Node labels every pool of the group carries (`mlinfra.io/gpu-model`, "
        "`mlinfra.io/capacity-type`, or a pool's own labels). Must select at least one pool.",
    )


class PriorityClassSpec(SpecModel):
    """A priority workloads pick by name (Kueue WorkloadPriorityClass / Kubernetes PriorityClass for Volcano)."""

    name: Name
    value: int = Field(description="Higher runs first and may preempt lower.")
    description: str = Field(default="", description="Shown to users. Default: empty.")


def _default_priorities() -> list[PriorityClassSpec]:
    return [
        PriorityClassSpec(name="batch-low", value=100, description="Preemptible batch and sweeps."),
        PriorityClassSpec(name="batch-normal", value=1000, description="Default for training jobs."),
        PriorityClassSpec(name="batch-high", value=10000, description="Deadlines; may preempt lower work."),
    ]


class SchedulingSpec(SpecModel):
    """Teams and queueing policy, compiled to Kueue or Volcano objects per cluster (`clusters[].scheduler`)."""

    teams: list[TeamSpec] = Field(default_factory=list, description="Default: no teams (the scheduler only).")
    cohorts: list[CohortSpec] = Field(
        default_factory=list,
        description="Cohorts with a parent or a weight. Cohorts that teams name are created either way. Default: none.",
    )
    flavors: list[FlavorSpec] = Field(
        default_factory=list,
        description="Flavors over groups of pools. Every pool always has its own flavor named after it. Default: none.",
    )
    priority_classes: list[PriorityClassSpec] = Field(
        default_factory=_default_priorities,
        description="Default: batch-low (100), batch-normal (1000), batch-high (10000).",
    )
    fair_sharing: bool = Field(
        default=False,
        description="Kueue fair sharing: idle cohort quota goes out by `fair_sharing_weight` and preemption "
        "evens out shares. Default: off (borrowing is first come, first served).",
    )
    overcommit: bool = Field(
        default=False,
        description="Allow nominal quotas above what the flavor's pools hold at max nodes (a warning instead "
        "of an error), for clusters whose capacity grows beyond the pools. Default: off.",
    )
    plain_pods: bool = Field(
        default=False,
        description="Also queue bare Pods that carry the `kueue.x-k8s.io/queue-name` label (Kueue `pod` "
        "integration), in team namespaces only. Default: off.",
    )

    @cached_property
    def teams_by_cluster(self) -> dict[str, list[TeamSpec]]:
        """Cluster name -> the teams with a queue on it, in spec order, each team once.

        Built on first use and kept: the spec is frozen, and the components ask for one cluster's teams several
        times per cluster. Scanning every team each time grew with clusters x teams, the one cost of a render
        that grew faster than its resources (72 clusters x 900 teams: 0.9 s of a profiled 115 s render).
        """
        index: dict[str, list[TeamSpec]] = {}
        for team in self.teams:
            for cluster in dict.fromkeys(team.cluster_names):
                index.setdefault(cluster, []).append(team)
        return index
