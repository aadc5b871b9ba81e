"""Every chart and image version mlinfra deploys; the one module that owns the pins.

A `ChartPin` ties a chart's version to its repository and app version, so a release is always
reproducible. Components take an optional `ChartPin` override (the escape hatch for a custom version);
the default is the pin below.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChartPin:
    """A Helm chart at an exact version, with the repository it comes from."""

    chart: str
    version: str
    repository: str
    app_version: str

    @property
    def is_oci(self) -> bool:
        """True when the repository is an OCI registry (the chart reference then carries the full path)."""
        return self.repository.startswith("oci://")


GPU_OPERATOR = ChartPin("gpu-operator", "v26.7.0", "https://helm.ngc.nvidia.com/nvidia", "v26.7.0")
KUEUE = ChartPin("kueue", "0.19.2", "oci://registry.k8s.io/kueue/charts", "v0.19.2")
VOLCANO = ChartPin("volcano", "1.15.1", "https://volcano-sh.github.io/helm-charts", "1.15.1")
FLUID = ChartPin("fluid", "1.0.8", "https://fluid-cloudnative.github.io/charts", "1.0.8-6533239")
KUBE_PROMETHEUS_STACK = ChartPin(
    "kube-prometheus-stack", "88.5.3", "https://prometheus-community.github.io/helm-charts", "v0.93.1"
)
PROMETHEUS_ADAPTER = ChartPin(
    "prometheus-adapter", "5.3.0", "https://prometheus-community.github.io/helm-charts", "v0.12.0"
)
KARPENTER = ChartPin("karpenter", "1.14.1", "oci://public.ecr.aws/karpenter", "1.14.1")
# Karpenter's CRDs as their own release, so `helm upgrade` of the controller upgrades them too (Helm never upgrades
# a chart's crds/ folder); same registry and version as the controller (Karpenter upgrade guide, "CRD upgrades").
KARPENTER_CRD = ChartPin("karpenter-crd", "1.14.1", "oci://public.ecr.aws/karpenter", "1.14.1")
# kubernetes/autoscaler tag cluster-autoscaler-chart-9.59.0 (Chart.yaml appVersion 1.35.0); the image tag is set
# per cluster to the autoscaler minor matching the cluster's Kubernetes minor (catalog/eks.py).
CLUSTER_AUTOSCALER = ChartPin("cluster-autoscaler", "9.59.0", "https://kubernetes.github.io/autoscaler", "1.35.0")

CHARTS: dict[str, ChartPin] = {
    pin.chart: pin
    for pin in (GPU_OPERATOR, KUEUE, VOLCANO, FLUID, KUBE_PROMETHEUS_STACK, PROMETHEUS_ADAPTER, KARPENTER,
                KARPENTER_CRD, CLUSTER_AUTOSCALER)
}

# Images mlinfra sets explicitly (the charts above pin the rest). The Kueue chart at its git tag points at a
# staging image, so the release image is pinned here.
IMAGES: dict[str, str] = {
    "kueue": "registry.k8s.io/kueue/kueue:v0.19.2",
    "dcgm-exporter": "nvcr.io/nvidia/k8s/dcgm-exporter:4.6.0-4.8.3-distroless",
    "device-plugin": "nvcr.io/nvidia/k8s-device-plugin:v0.20.0",
    "mig-manager": "nvcr.io/nvidia/cloud-native/k8s-mig-manager:v0.15.0",
    "busybox": "busybox:1.37.0",
}

# Upstream component versions the pins above correspond to (for the summary and for humans).
COMPONENT_VERSIONS: dict[str, str] = {
    "device-plugin": "v0.20.0",
    "mig-parted": "v0.15.0",
    "dcgm-exporter": "4.5.3-4.8.2",
    "prometheus-operator": "v0.93.0",
}
