"""The monitoring add-on: kube-prometheus-stack, GPU alerts, Grafana dashboards and prometheus-adapter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi

from mlinfra.catalog.versions import KUBE_PROMETHEUS_STACK, PROMETHEUS_ADAPTER, ChartPin
from mlinfra.k8s import namespaces
from mlinfra.k8s.dashboards import dashboard_configmaps
from mlinfra.k8s.helm import release_source_args
from mlinfra.k8s.monitoring_rules import exported_dcgm_metrics, prometheus_rule, rule_groups
from mlinfra.k8s.prometheus_adapter import adapter_values, gpu_adapter_rules
from mlinfra.spec.monitoring import MonitoringSpec
from mlinfra.spec.resolve import GPU_RESOURCE, LABEL_GPU_MODEL, LABEL_POOL

if TYPE_CHECKING:
    from mlinfra.context import ClusterContext

NAMESPACE = "monitoring"
# The Prometheus operator serves its admission webhook (PrometheusRule validation) on this port
# (`prometheusOperator.tls.internalPort`, kube-prometheus-stack 88.5.3 values.yaml); set explicitly so the GKE
# control-plane firewall rule follows it.
OPERATOR_WEBHOOK_PORT = 10250
STACK_RELEASE = "kube-prometheus-stack"
ADAPTER_RELEASE = "prometheus-adapter"
GRAFANA_ADMIN_SECRET = "grafana-admin"
PROMETHEUS_PORT = 9090
# Share of the volume Prometheus may fill before dropping old blocks; the rest absorbs the WAL and compaction.
RETENTION_SIZE_SHARE = 0.85


# Control-plane components EKS and GKE run outside the cluster: nothing in it serves their metrics, so a
# ServiceMonitor for them never gets a target and their "down" alerts fire forever
# (prometheus-operator/prometheus-operator#2461 "components that can't be scraped on EKS";
# aws/containers-roadmap#1298; prometheus-community/helm-charts#3368, #4106; kube-prometheus#298).
# kube-proxy serves its metrics on 127.0.0.1:10249 only (the default `metricsBindAddress`, kept by EKS:
# prometheus-community/helm-charts#977, terraform-aws-eks#731), out of Prometheus' reach as well.
HIDDEN_COMPONENTS = ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy")
# The chart's default rule groups for those components (kube-prometheus-stack 88.5.3 `defaultRules.rules`).
HIDDEN_COMPONENT_RULES = ("etcd", "kubeControllerManager", "kubeProxy", "kubeSchedulerAlerting",
                          "kubeSchedulerRecording")


def managed_control_plane_values() -> dict[str, Any]:
    """Values that stop scraping and alerting on the control-plane components EKS and GKE hide."""
    values: dict[str, Any] = {component: {"enabled": False} for component in HIDDEN_COMPONENTS}
    values["defaultRules"] = {"rules": {group: False for group in HIDDEN_COMPONENT_RULES}}
    return values


def stack_fullname(release: str, chart: str = "kube-prometheus-stack", fullname_override: str = "") -> str:
    """The chart's `kube-prometheus-stack.fullname`: the override, else the release name when it contains the
    chart name, else `<release>-<chart>`; cut to 26 characters without a trailing `-`."""
    if fullname_override:
        name = fullname_override
    elif chart in release:
        name = release
    else:
        name = f"{release}-{chart}"
    return name[:26].rstrip("-")


def prometheus_service_url(release: str = STACK_RELEASE, namespace: str = NAMESPACE) -> str:
    """In-cluster URL of the Prometheus Service the stack creates (`<fullname>-prometheus`), without port."""
    return f"http://{stack_fullname(release)}-prometheus.{namespace}.svc"


def namespace_manifest(name: str = NAMESPACE) -> dict[str, Any]:
    """The monitoring namespace. Privileged Pod Security: node-exporter reads the host's /proc, /sys and
    network namespace, which no lower level admits."""
    return namespaces.namespace_manifest(name, "privileged", {"app.kubernetes.io/part-of": "mlinfra"})


def grafana_admin_secret(password: Any, namespace: str = NAMESPACE) -> dict[str, Any]:
    """The Secret Grafana reads its admin credentials from (`grafana.admin.existingSecret`)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": GRAFANA_ADMIN_SECRET, "namespace": namespace},
        "type": "Opaque",
        "stringData": {"admin-user": "admin", "admin-password": password},
    }


def retention_size(storage_gib: int) -> str:
    """Prometheus `retentionSize` for a volume of `storage_gib` GiB."""
    return f"{max(1, int(storage_gib * RETENTION_SIZE_SHARE))}GiB"


def stack_values(spec: MonitoringSpec, environment: str, cluster: str) -> dict[str, Any]:
    """kube-prometheus-stack values for one cluster.

    The `*SelectorNilUsesHelmValues: false` settings make Prometheus select every ServiceMonitor, PodMonitor,
    PrometheusRule, Probe and ScrapeConfig in every namespace, not only those with the chart's `release`
    label: the GPU operator's and Kueue's monitors and the project's rules carry no such label.
    """
    volume: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": f"{spec.storage_gib}Gi"}},
    }
    if spec.storage_class:
        volume["storageClassName"] = spec.storage_class
    prometheus_spec: dict[str, Any] = {
        "retention": spec.retention,
        "retentionSize": retention_size(spec.storage_gib),
        "storageSpec": {"volumeClaimTemplate": {"spec": volume}},
        "externalLabels": {"cluster": cluster, "environment": environment},
    }
    for kind in ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig"):
        prometheus_spec[f"{kind}SelectorNilUsesHelmValues"] = False
    grafana: dict[str, Any] = {
        # The admin password lives in a Secret made from a generated password, never in the values.
        "admin": {
            "existingSecret": GRAFANA_ADMIN_SECRET,
            "userKey": "admin-user",
            "passwordKey": "admin-password",
        },
        "sidecar": {"dashboards": {"enabled": True, "label": "grafana_dashboard", "searchNamespace": "ALL"}},
    }
    if spec.grafana_storage_gib:
        grafana["persistence"] = {"enabled": True, "size": f"{spec.grafana_storage_gib}Gi"}
    return {
        **managed_control_plane_values(),
        "prometheus": {"prometheusSpec": prometheus_spec},
        "prometheusOperator": {"tls": {"internalPort": OPERATOR_WEBHOOK_PORT}},
        "grafana": grafana,
        # Pool and GPU model node labels become `kube_node_labels` series, which the dashboards join on.
        "kube-state-metrics": {"metricLabelsAllowlist": [f"nodes=[{LABEL_POOL},{LABEL_GPU_MODEL}]"]},
    }


def _release_args(pin: ChartPin, release: str, values: Any) -> dict[str, Any]:
    return dict(
        name=release,
        **release_source_args(pin),
        namespace=NAMESPACE,
        values=values,
        atomic=True,
        timeout=900,
    )


@dataclass
class MonitoringArgs:
    """Inputs of the Monitoring component.

    `spec`: the environment's monitoring section. `environment`, `cluster`: external labels on every series.
    `kueue`: add the Kueue queueing alerts. `mig`: the cluster has MIG pools (utilisation from
    DCGM_FI_PROF_GR_ENGINE_ACTIVE). `gpu_resources`: the extended resources its GPU nodes advertise (default
    `nvidia.com/gpu`). `stack_pin` / `adapter_pin`: chart escape hatches (default: the pins in
    `mlinfra.catalog.versions`).
    """

    spec: MonitoringSpec
    environment: str
    cluster: str
    kueue: bool = False
    mig: bool = False
    gpu_resources: list[str] = field(default_factory=lambda: [GPU_RESOURCE])
    stack_pin: ChartPin | None = None
    adapter_pin: ChartPin | None = None


class Monitoring(pulumi.ComponentResource):
    """kube-prometheus-stack with the GPU alerts and dashboards, and prometheus-adapter for GPU autoscaling.

    Outputs: `namespace`, `prometheus_url` (in-cluster, with port), `grafana_admin_password` (secret),
    `stack` (the Helm release others depend on for the monitoring CRDs).
    """

    namespace: pulumi.Output[str]
    prometheus_url: pulumi.Output[str]
    grafana_admin_password: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:monitoring:Monitoring", name, None, opts)
        import pulumi_kubernetes as k8s
        import pulumi_random as random

        stack_pin = args.stack_pin or KUBE_PROMETHEUS_STACK
        adapter_pin = args.adapter_pin or PROMETHEUS_ADAPTER
        child = pulumi.ResourceOptions(parent=self)
        ns_doc = namespace_manifest()
        namespace = k8s.core.v1.Namespace(f"{name}-namespace", metadata=ns_doc["metadata"], opts=child)
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[namespace])

        password = random.RandomPassword(f"{name}-grafana-password", length=32, special=False, opts=child)
        secret_doc = grafana_admin_secret(pulumi.Output.secret(password.result))
        admin_secret = k8s.core.v1.Secret(
            f"{name}-grafana-admin",
            metadata=secret_doc["metadata"],
            type=secret_doc["type"],
            string_data=secret_doc["stringData"],
            opts=in_ns,
        )
        self.stack = k8s.helm.v3.Release(
            f"{name}-stack",
            **_release_args(stack_pin, STACK_RELEASE, stack_values(args.spec, args.environment, args.cluster)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, admin_secret]),
        )
        after_stack = pulumi.ResourceOptions(parent=self, depends_on=[self.stack])
        groups = rule_groups(args.spec.alerts, exported_dcgm_metrics(), args.kueue, args.mig, args.gpu_resources)
        rule = prometheus_rule("mlinfra-gpu-alerts", NAMESPACE, groups)
        k8s.apiextensions.CustomResource(
            f"{name}-gpu-alerts",
            api_version=rule["apiVersion"],
            kind=rule["kind"],
            metadata=rule["metadata"],
            spec=rule["spec"],
            opts=after_stack,
        )
        for cm in dashboard_configmaps(args.cluster, NAMESPACE):
            k8s.core.v1.ConfigMap(
                f"{name}-{cm['metadata']['name']}", metadata=cm["metadata"], data=cm["data"], opts=in_ns
            )
        self.adapter = None
        if args.spec.autoscaling:
            self.adapter = k8s.helm.v3.Release(
                f"{name}-adapter",
                **_release_args(
                    adapter_pin,
                    ADAPTER_RELEASE,
                    adapter_values(prometheus_service_url(), PROMETHEUS_PORT, gpu_adapter_rules(args.mig)),
                ),
                opts=after_stack,
            )
        self.namespace = pulumi.Output.from_input(NAMESPACE)
        self.prometheus_url = pulumi.Output.from_input(f"{prometheus_service_url()}:{PROMETHEUS_PORT}")
        self.grafana_admin_password = pulumi.Output.secret(password.result)
        self.register_outputs(
            {
                "namespace": self.namespace,
                "prometheus_url": self.prometheus_url,
                "grafana_admin_password": self.grafana_admin_password,
            }
        )


def addon(ctx: ClusterContext) -> pulumi.ComponentResource | None:
    """Create the monitoring add-on for the cluster, or None when the spec does not ask for it."""
    spec = ctx.env.monitoring
    if spec.storage_class is None and ctx.storage_class is not None:
        # EKS has no default StorageClass of its own: the cluster's encrypted gp3 class holds Prometheus' data.
        spec = spec.model_copy(update={"storage_class": ctx.storage_class})
    if not spec.enabled:
        return None
    args = MonitoringArgs(
        spec=spec, environment=ctx.env.environment, cluster=ctx.name, kueue=ctx.cluster.scheduler == "kueue",
        mig=any(p.spec.mig is not None for p in ctx.pools),
        gpu_resources=sorted({r for p in ctx.pools for r in p.resources_per_node()}) or [GPU_RESOURCE],
    )
    return Monitoring(f"{ctx.name}-monitoring", args, ctx.child_opts())
