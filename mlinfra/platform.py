"""The Platform component: one environment spec in, every cluster, pool and add-on out."""

from __future__ import annotations

from collections.abc import Callable

import pulumi

from mlinfra.context import ClusterContext
from mlinfra.spec.environment import EnvironmentSpec
from mlinfra.spec.resolve import cluster_mig_strategy, resolve_cluster_pools

AddOn = Callable[[ClusterContext], "pulumi.ComponentResource | None"]


def _addons() -> list[tuple[str, AddOn]]:
    # Registration order only: each add-on waits for exactly what it needs from an earlier one (the GPU
    # operator and Kueue for the kube-prometheus-stack release and its ServiceMonitor CRD, Fluid's team
    # datasets for their team namespaces), so `pulumi up` installs them side by side. MLI-GRAPH-001 checks
    # that every custom resource still waits for the chart defining it.
    from mlinfra.k8s import fluid, gpu_operator, monitoring, scheduling

    return [
        ("monitoring", monitoring.addon),
        ("gpu-operator", gpu_operator.addon),
        ("scheduler", scheduling.addon),
        ("caches", fluid.addon),
    ]


class Platform(pulumi.ComponentResource):
    """Every cluster of one environment with its GPU pools and add-ons.

    Pass a spec that `mlinfra.spec.load_environment` returned (it has been checked). Each cluster becomes a
    child component named after the cluster, with its own cloud and Kubernetes providers; the add-ons are
    children of their cluster.
    """

    clusters: dict[str, pulumi.ComponentResource]
    contexts: dict[str, ClusterContext]

    def __init__(self, name: str, spec: EnvironmentSpec, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:index:Platform", name, None, opts)
        self.spec = spec
        self.clusters = {}
        self.contexts = {}
        addons = _addons()
        for cluster in spec.clusters:
            pools = resolve_cluster_pools(cluster)
            if cluster.cloud == "gcp":
                from mlinfra.gcp import build_cluster
            else:
                from mlinfra.aws import build_cluster  # type: ignore[assignment]
            component = build_cluster(spec, cluster, pools, pulumi.ResourceOptions(parent=self))
            ctx = ClusterContext(
                env=spec,
                cluster=cluster,
                pools=pools,
                mig_strategy=cluster_mig_strategy(cluster),
                parent=component,
                k8s_provider=component.k8s_provider,
                cloud_provider=component.cloud_provider,
                identity=component.identity,
                storage_class=getattr(component, "storage_class", None),
            )
            for role, addon in addons:
                created = addon(ctx)
                if created is not None:
                    ctx.addons[role] = created
            self.clusters[cluster.name] = component
            self.contexts[cluster.name] = ctx
        self.outputs = self._outputs()
        self.register_outputs(self.outputs)

    def _outputs(self) -> dict[str, object]:
        """What the platform stack exports for team stacks (`docs/environments.md`, "Team stacks"):

        `{"environment": str, "clusters": {name: {cloud, region, kubeconfig (secret), pools, addons, scheduler,
        queues, flavors, gpu_classes}}, "teams": {team: {namespace, clusters: {name: {scheduler, queues,
        gpu_classes}}}}}` (`team_outputs`).
        """
        from mlinfra.k8s.scheduling import cluster_outputs

        clusters: dict[str, object] = {}
        for name, ctx in self.contexts.items():
            component = self.clusters[name]
            clusters[name] = {
                "cloud": ctx.cluster.cloud,
                "region": ctx.cluster.region,
                "kubeconfig": component.kubeconfig,  # type: ignore[attr-defined]
                "pools": {
                    p.name: {"labels": p.labels, "resources_per_node": p.resources_per_node()} for p in ctx.pools
                },
                "addons": sorted(ctx.addons),
                # Team stacks read their LocalQueue / Volcano queue and the flavor names from here.
                **cluster_outputs(self.spec, ctx.cluster, ctx.pools),
            }
        return {"environment": self.spec.environment, "clusters": clusters, "teams": team_outputs(self.spec)}


def team_outputs(spec: EnvironmentSpec) -> dict[str, object]:
    """Where each team's work goes: `{team: {namespace, clusters: {cluster: {scheduler, queues, gpu_classes}}}}`.

    Per cluster of the team, `queues` maps each GPU class (`gpu`, `mig-1g-10gb`, `shared`, ...) to the queue its
    workloads name in `kueue.x-k8s.io/queue-name` (or as their Volcano queue), and `gpu_classes` maps those
    classes to their pools (`mlinfra.k8s.scheduling_model.team_outputs`).
    """
    from mlinfra.k8s.scheduling_model import team_outputs as outputs

    return outputs(spec)
