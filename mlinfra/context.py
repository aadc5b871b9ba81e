"""What every per-cluster component gets from the Platform: the spec, the resolved pools, the providers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pulumi
    import pulumi_kubernetes as k8s

    from mlinfra.spec.clusters import ClusterSpec
    from mlinfra.spec.environment import EnvironmentSpec
    from mlinfra.spec.resolve import MigStrategy, ResolvedPool


@dataclass
class ClusterContext:
    """One cluster as the add-ons see it.

    `parent` is the cluster's component (add-ons are its children); `k8s_provider` talks to the cluster;
    `identity` carries what cloud identity bindings need (the EKS OIDC provider ARN and issuer, or the GKE
    workload-identity pool); `addons` holds the add-on components created so far on this cluster, by role,
    so a later add-on can depend on an earlier one (ServiceMonitors need the monitoring CRDs).
    """

    env: EnvironmentSpec
    cluster: ClusterSpec
    pools: list[ResolvedPool]
    mig_strategy: MigStrategy
    parent: pulumi.ComponentResource
    k8s_provider: k8s.Provider
    cloud_provider: pulumi.ProviderResource | None = None
    identity: dict[str, Any] = field(default_factory=dict)
    addons: dict[str, pulumi.ComponentResource] = field(default_factory=dict)
    # The default StorageClass the cluster component created (EKS: encrypted gp3), for add-ons' volumes; None
    # when the cluster's own default applies.
    storage_class: str | None = None

    @property
    def name(self) -> str:
        """The cluster's name."""
        return self.cluster.name

    def child_opts(self, *depends_on: pulumi.Resource | None) -> pulumi.ResourceOptions:
        """Options for an add-on component: child of the cluster, with the cluster's Kubernetes provider."""
        import pulumi

        return pulumi.ResourceOptions(
            parent=self.parent,
            providers={"kubernetes": self.k8s_provider},
            depends_on=[d for d in depends_on if d is not None],
        )


def cloud_cluster(env: EnvironmentSpec, cluster: ClusterSpec) -> tuple[str, pulumi.Output[str] | None]:
    """The cloud's name of a cluster and, when it is referenced rather than created, its kubeconfig.

    Created clusters are named `<environment>-<cluster>`, so two environments in one account never collide;
    a referenced cluster keeps its own name and reads its kubeconfig from the stack's secret config.
    """
    import pulumi

    if cluster.existing is None:
        return f"{env.environment}-{cluster.name}", None
    kubeconfig = pulumi.Config("mlinfra").require_secret(cluster.existing.kubeconfig_secret)
    return cluster.existing.name, kubeconfig
