"""Helm release rules: charts pinned to an exact version, no literal secrets in values, no default Grafana login."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from mlinfra.policy.model import Record, dig, rule
from mlinfra.policy.secrets import MASKED, literal_secrets

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
# An exact SemVer 2 version, with the optional leading v some charts use (the GPU operator's v26.7.0).
_EXACT = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
# kube-prometheus-stack's built-in Grafana password, public in its values.yaml.
GRAFANA_DEFAULT_PASSWORD = "prom-operator"


def _chart(record: Record) -> str:
    return str(dig(record, "inputs", "chart") or "")


@rule(
    "MLI-HELM-001",
    "high",
    "Helm charts are pinned to an exact version",
    "A range or an empty version installs whatever the repository serves that day; renders stop being reproducible.",
    "NSA/CISA Kubernetes Hardening Guide v1.2 (supply chain); SLSA build integrity",
    types=(HELM_RELEASE,),
)
def chart_pinned(record: Record) -> Iterator[str]:
    """`version` is an exact SemVer version: no empty value, no ranges, wildcards or `latest`."""
    version = dig(record, "inputs", "version")
    if not isinstance(version, str) or not _EXACT.match(version.strip()):
        yield f"chart {_chart(record)!r} version must be exact (got {version!r})"


@rule(
    "MLI-SEC-002",
    "critical",
    "No literal secrets in Helm values",
    "Values are stored in the Helm release Secret and the Pulumi state; a literal in code is a leaked credential.",
    "CIS EKS 4.4.2 / CIS GKE 4.4.1 (external secret storage); NSA/CISA Kubernetes Hardening Guide v1.2 (secrets)",
    types=(HELM_RELEASE,),
    secret_aware=True,
)
def no_literal_secrets_in_values(record: Record) -> Iterator[str]:
    """No password/secret/token/key-looking value is a literal; Pulumi secrets (masked `[secret]`) are fine."""
    for path in literal_secrets(dig(record, "inputs", "values") or {}, "values"):
        yield f"{path} looks like a secret with a literal value; pass a Pulumi secret or an existing Secret"


def _grafana(record: Record) -> dict[str, Any] | None:
    if "kube-prometheus-stack" not in _chart(record):
        return None
    grafana = dig(record, "inputs", "values", "grafana")
    return grafana if isinstance(grafana, dict) else {}


def _existing_secret(grafana: dict[str, Any]) -> bool:
    return bool(dig(grafana, "admin", "existingSecret"))


@rule(
    "MLI-MON-001",
    "critical",
    "Grafana does not keep the chart's default admin password",
    f"kube-prometheus-stack ships Grafana with the public password {GRAFANA_DEFAULT_PASSWORD!r}.",
    "CIS Controls v8 4.7 (manage default accounts); NSA/CISA Kubernetes Hardening Guide v1.2 (authentication)",
    types=(HELM_RELEASE,),
)
def grafana_no_default_password(record: Record) -> Iterator[str]:
    """With Grafana enabled, `grafana.adminPassword` is set and not the default, or `admin.existingSecret` is used."""
    grafana = _grafana(record)
    if grafana is None or grafana.get("enabled") is False or _existing_secret(grafana):
        return
    password = grafana.get("adminPassword")
    if password in (None, ""):
        yield f"grafana.adminPassword is unset: the chart falls back to {GRAFANA_DEFAULT_PASSWORD!r}"
    elif password == GRAFANA_DEFAULT_PASSWORD:
        yield f"grafana.adminPassword is the chart default {GRAFANA_DEFAULT_PASSWORD!r}"


@rule(
    "MLI-MON-002",
    "high",
    "Grafana's admin password is a secret",
    "A literal password in the program is in git; a Pulumi secret or an existing Secret is not.",
    "NSA/CISA Kubernetes Hardening Guide v1.2 (secrets); CIS EKS 4.4.2",
    types=(HELM_RELEASE,),
    secret_aware=True,
)
def grafana_password_secret(record: Record) -> Iterator[str]:
    """`grafana.adminPassword` is a Pulumi secret (`[secret]` in the render) unless `admin.existingSecret` is set."""
    grafana = _grafana(record)
    if grafana is None or grafana.get("enabled") is False or _existing_secret(grafana):
        return
    password = grafana.get("adminPassword")
    if password not in (None, "") and password not in MASKED:
        yield "grafana.adminPassword is a literal; pass a Pulumi secret or set grafana.admin.existingSecret"


@rule(
    "MLI-HELM-002",
    "high",
    "Helm releases install into namespaces created with Pod Security labels",
    "`createNamespace` makes a bare namespace that enforces no Pod Security level; create it explicitly.",
    "CIS EKS 4.2 / CIS GKE 4.2.1 (Pod Security Standards enforced on every namespace)",
    types=(HELM_RELEASE,),
)
def no_helm_created_namespace(record: Record) -> Iterator[str]:
    """`createNamespace` is off: the release's namespace is a Namespace resource with its labels."""
    if dig(record, "inputs", "createNamespace") is True:
        yield f"chart {_chart(record)!r} creates its namespace; create a Namespace with Pod Security labels instead"
