"""Which pinned Helm chart installs the CustomResourceDefinitions of each API group mlinfra creates objects of.

A custom resource can only be created once its CRD exists, so each one must wait for the release of the chart
below (or for a `CustomResourceDefinition` the program registers itself). Sources: the charts' `crds/`
folders and CRD bases at the pinned versions, kept byte for byte in `../shared/upstream` (see its
MANIFEST.md; `tests/unit/test_graph_rules.py` checks this table against those files):

- kube-prometheus-stack 88.5.3 vendors the prometheus-operator v0.93.1 CRDs (`charts/crds`), group
  `monitoring.coreos.com`;
- kueue v0.19.2 `config/components/crd/bases` (the chart's `templates/crd` copies), `kueue.x-k8s.io`;
- volcano v1.15.1 `installer/helm/chart/volcano/crd/bases`, `*.volcano.sh`;
- fluid v1.0.8 chart `crds/`, `data.fluid.io`;
- gpu-operator v26.7.0 `deployments/gpu-operator/crds`, `nvidia.com` and `resource.nvidia.com`, plus the
  node-feature-discovery subchart's `nfd.k8s-sigs.io`;
- karpenter 1.14.1 chart `crds/`, `karpenter.sh`, `karpenter.k8s.aws` and `autoscaling.x-k8s.io`.
"""

from __future__ import annotations

CRD_OWNERS: dict[str, str] = {
    "monitoring.coreos.com": "kube-prometheus-stack",
    "kueue.x-k8s.io": "kueue",
    "scheduling.volcano.sh": "volcano",
    "batch.volcano.sh": "volcano",
    "bus.volcano.sh": "volcano",
    "topology.volcano.sh": "volcano",
    "data.fluid.io": "fluid",
    "nvidia.com": "gpu-operator",
    "resource.nvidia.com": "gpu-operator",
    "nfd.k8s-sigs.io": "gpu-operator",
    "karpenter.sh": "karpenter",
    "karpenter.k8s.aws": "karpenter",
    "autoscaling.x-k8s.io": "karpenter",
}


def crd_owner(group: str) -> str | None:
    """The chart (a `versions.CHARTS` key) that installs the CRDs of an API group, or None when unknown."""
    return CRD_OWNERS.get(group)


# Charts whose templates render objects of another chart's API group when a value is set (values path, group).
# Helm builds every object of a release before it installs any, so the release fails while that group's CRDs
# are missing ("unable to build kubernetes objects from release manifest: ... no matches for kind
# \"ServiceMonitor\" in version \"monitoring.coreos.com/v1\" ensure CRDs are installed first": helm/helm#8215,
# kubernetes-sigs/kubebuilder#4378). Sources:
# - kueue: kubernetes-sigs/kueue charts/kueue/templates/prometheus/monitor.yaml, `{{- if .Values.enablePrometheus }}`
#   renders a monitoring.coreos.com/v1 ServiceMonitor.
# Not listed: the GPU operator's dcgm-exporter ServiceMonitor (`dcgmExporter.serviceMonitor.enabled`), which the
# operator creates at run time from its ClusterPolicy, not the chart at install (whether it tolerates a missing
# CRD was not confirmed offline).
CHART_RENDERS: dict[str, tuple[tuple[str, str], ...]] = {
    "kueue": (("enablePrometheus", "monitoring.coreos.com"),),
}
