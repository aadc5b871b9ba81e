"""Kubernetes rules over manifests: pod hardening, pinned images, privileged namespaces, secrets in ConfigMaps."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from mlinfra.policy.model import Record, dig, rule
from mlinfra.policy.secrets import literal_secrets

WORKLOAD_KINDS = ("Deployment", "DaemonSet", "StatefulSet", "Job", "CronJob", "ReplicaSet", "Pod")

# Namespaces whose pods need the host: the GPU operator (driver, toolkit, device plugin), monitoring (node
# exporter reads /proc and /sys of the host) and Fluid (FUSE mounts). Any other privileged namespace is an error.
PRIVILEGED_NAMESPACES = frozenset({"gpu-operator", "monitoring", "fluid-system"})
PSA_ENFORCE = "pod-security.kubernetes.io/enforce"

PSS = "Kubernetes Pod Security Standards (restricted)"
NSA = "NSA/CISA Kubernetes Hardening Guide v1.2"


def pod_spec(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    """The pod spec inside a workload of any kind."""
    kind = manifest.get("kind")
    if kind == "Pod":
        return dig(manifest, "spec") or {}
    if kind == "CronJob":
        return dig(manifest, "spec", "jobTemplate", "spec", "template", "spec") or {}
    return dig(manifest, "spec", "template", "spec") or {}


def containers(manifest: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(path, container) for every init, regular and ephemeral container of a workload's pod."""
    spec = pod_spec(manifest)
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for i, container in enumerate(spec.get(field) or []):
            yield f"{field}[{i}] {container.get('name', '?')}", container


def _inputs(record: Record) -> Mapping[str, Any]:
    return record.get("inputs") or {}


@rule(
    "MLI-K8S-001",
    "high",
    "Containers run as non-root",
    "A root process that escapes its container is root on the node.",
    f"{PSS}: Running as Non-root; CIS EKS 4.2.6 / CIS GKE 4.2.1; {NSA} (non-root containers)",
    kinds=WORKLOAD_KINDS,
)
def run_as_non_root(record: Record) -> Iterator[str]:
    """Each container has `runAsNonRoot: true` (its own or the pod's) and never `runAsUser: 0`."""
    pod = dig(pod_spec(_inputs(record)), "securityContext") or {}
    for path, c in containers(_inputs(record)):
        ctx = c.get("securityContext") or {}
        non_root = ctx.get("runAsNonRoot", pod.get("runAsNonRoot"))
        user = ctx.get("runAsUser", pod.get("runAsUser"))
        if user == 0:
            yield f"{path}: runAsUser is 0"
        elif non_root is not True:
            yield f"{path}: securityContext.runAsNonRoot must be true (on the container or the pod)"


@rule(
    "MLI-K8S-002",
    "high",
    "No privilege escalation and no privileged containers",
    "setuid binaries and privileged mode hand a container the node's full power.",
    f"{PSS}: Privilege Escalation; Pod Security Standards (baseline): Privileged Containers; CIS EKS 4.2.1, 4.2.5",
    kinds=WORKLOAD_KINDS,
)
def no_privilege_escalation(record: Record) -> Iterator[str]:
    """Each container sets `allowPrivilegeEscalation: false` and is not `privileged`."""
    for path, c in containers(_inputs(record)):
        ctx = c.get("securityContext") or {}
        if ctx.get("privileged") is True:
            yield f"{path}: securityContext.privileged is true"
        if ctx.get("allowPrivilegeEscalation") is not False:
            yield f"{path}: securityContext.allowPrivilegeEscalation must be false"


@rule(
    "MLI-K8S-003",
    "medium",
    "Containers drop all capabilities",
    "Capabilities like NET_RAW and SYS_ADMIN widen the kernel surface a compromised process can use.",
    f"{PSS}: Capabilities; CIS EKS 4.2.7-4.2.9",
    kinds=WORKLOAD_KINDS,
)
def drop_capabilities(record: Record) -> Iterator[str]:
    """Each container drops ALL and adds back at most NET_BIND_SERVICE (what the restricted profile allows)."""
    for path, c in containers(_inputs(record)):
        caps = dig(c, "securityContext", "capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            yield f"{path}: securityContext.capabilities.drop must include ALL"
        extra = [cap for cap in caps.get("add") or [] if cap != "NET_BIND_SERVICE"]
        if extra:
            yield f"{path}: adds capabilities {', '.join(extra)}"


# CPU is compressible: a request buys a fair share under contention, while a CPU limit throttles data loaders
# even on an idle node. Memory is not: without a limit one pod can push its neighbours into the OOM killer.
REQUIRED_RESOURCES = {"requests": ("cpu", "memory"), "limits": ("memory",)}


@rule(
    "MLI-K8S-004",
    "medium",
    "Containers set resource requests and a memory limit",
    "Without requests the scheduler overcommits GPU nodes; without a memory limit one pod can OOM its neighbours.",
    f"{NSA} (resource policies); CIS Kubernetes Benchmark 5.7 (general policies)",
    kinds=WORKLOAD_KINDS,
)
def requests_and_limits(record: Record) -> Iterator[str]:
    """Each container requests cpu and memory and limits memory (a CPU limit is allowed, not required)."""
    for path, c in containers(_inputs(record)):
        if path.startswith("ephemeralContainers"):
            continue  # debug containers cannot carry resources
        for section, names in REQUIRED_RESOURCES.items():
            values = dig(c, "resources", section) or {}
            missing = [r for r in names if r not in values]
            if missing:
                yield f"{path}: resources.{section} is missing {', '.join(missing)}"


_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def image_problem(image: Any) -> str | None:
    """Why an image reference is not pinned, or None when it is (a digest, or a tag other than latest)."""
    if not isinstance(image, str) or not image.strip():
        return "has no image"
    if _DIGEST.search(image):
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image!r} has no tag (pulls latest)"
    tag = last.rsplit(":", 1)[1]
    if not tag or tag == "latest":
        return f"image {image!r} is not pinned (tag {tag or 'empty'!r})"
    return None


@rule(
    "MLI-K8S-005",
    "high",
    "Images are pinned",
    "`latest` or a missing tag makes a rollout unreproducible and lets a registry push change what runs.",
    "CIS EKS 5.1 (image registries); NSA/CISA Kubernetes Hardening Guide v1.2 (image scanning and provenance)",
    kinds=WORKLOAD_KINDS,
)
def pinned_images(record: Record) -> Iterator[str]:
    """Each container image has a non-latest tag or a digest."""
    for path, c in containers(_inputs(record)):
        problem = image_problem(c.get("image"))
        if problem:
            yield f"{path}: {problem}"


@rule(
    "MLI-K8S-006",
    "high",
    "Host namespaces and hostPath only in privileged-exempt namespaces",
    "hostNetwork, hostPID, hostIPC and hostPath cross the container boundary; only node agents need them.",
    "Kubernetes Pod Security Standards (baseline): Host Namespaces, HostPath Volumes; CIS EKS 4.2.2-4.2.4",
    kinds=WORKLOAD_KINDS,
)
def host_access(record: Record) -> Iterator[str]:
    """Pods outside the privileged namespaces do not use host namespaces or hostPath volumes."""
    namespace = dig(_inputs(record), "metadata", "namespace")
    if namespace in PRIVILEGED_NAMESPACES:
        return
    spec = pod_spec(_inputs(record))
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key) is True:
            yield f"{key} is true in namespace {namespace!r}"
    for volume in spec.get("volumes") or []:
        if "hostPath" in volume:
            yield f"volume {volume.get('name')!r} is a hostPath in namespace {namespace!r}"


@rule(
    "MLI-PSA-001",
    "critical",
    "Privileged Pod Security only where a node agent needs it",
    "A namespace that enforces `privileged` admits any pod, so only named node-agent namespaces may.",
    f"CIS EKS 4.2 / CIS GKE 4.2.1 (enforce baseline or stricter); allowed: {', '.join(sorted(PRIVILEGED_NAMESPACES))}",
    kinds=("Namespace",),
)
def privileged_namespaces(record: Record) -> Iterator[str]:
    """`pod-security.kubernetes.io/enforce: privileged` only on the allow-listed namespaces."""
    meta = dig(_inputs(record), "metadata") or {}
    level = (meta.get("labels") or {}).get(PSA_ENFORCE)
    if level == "privileged" and meta.get("name") not in PRIVILEGED_NAMESPACES:
        yield (
            f"namespace {meta.get('name')!r} enforces privileged Pod Security; only "
            f"{', '.join(sorted(PRIVILEGED_NAMESPACES))} may"
        )


@rule(
    "MLI-PSA-002",
    "high",
    "Every namespace enforces a Pod Security level",
    "A namespace without an enforce label admits any pod the cluster default allows, often privileged ones.",
    "CIS EKS 4.2 / CIS GKE 4.2.1 (Pod Security Standards enforced on every namespace with user workloads)",
    kinds=("Namespace",),
)
def namespace_enforces_pod_security(record: Record) -> Iterator[str]:
    """`pod-security.kubernetes.io/enforce` is set to a Pod Security Standard level."""
    meta = dig(_inputs(record), "metadata") or {}
    level = (meta.get("labels") or {}).get(PSA_ENFORCE)
    if level not in ("privileged", "baseline", "restricted"):
        yield f"namespace {meta.get('name')!r} sets no {PSA_ENFORCE} level (got {level!r})"


@rule(
    "MLI-SEC-001",
    "critical",
    "No secret values in ConfigMaps",
    "ConfigMaps are readable by anyone who can read config and are not encrypted at rest like Secrets.",
    "CIS EKS 4.4.1 / CIS GKE 4.4.1 (secrets management); NSA/CISA Kubernetes Hardening Guide v1.2 (secrets)",
    kinds=("ConfigMap",),
)
def no_secrets_in_configmaps(record: Record) -> Iterator[str]:
    """No password/secret/token/key-looking entry in `data` carries a literal value."""
    data = dig(_inputs(record), "data") or {}
    for path in literal_secrets(data, "data", parse_embedded=True):
        yield f"{path} looks like a secret with a literal value; use a Secret and reference it"
