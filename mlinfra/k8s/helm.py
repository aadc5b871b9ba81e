"""Helm releases the way every mlinfra add-on installs them: pinned chart, explicit Pod Security namespace."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from mlinfra.catalog.versions import ChartPin
from mlinfra.k8s.namespaces import PodSecurity, namespace_manifest


@dataclass(frozen=True)
class ChartSource:
    """Where the Helm Release of pulumi-kubernetes fetches a pinned chart from.

    `chart`: the Release's `chart` input. `repository`: its `repository_opts.repo`, or None for no repository
    options at all.
    """

    chart: str
    repository: str | None


def chart_source(pin: ChartPin) -> ChartSource:
    """The one form of `chart` and repository options that fetches `pin`.

    A chart repository (https) serves an `index.yaml`: `chart=<name>` with `repository_opts.repo=<url>`.
    An OCI registry serves no index, so the chart reference carries the whole path
    (`chart="oci://<registry>/<path>/<name>"`) and no repository options are given: the provider asks the
    repository URL for its index whenever `repository_opts.repo` parses as a URL, and fails with "not a valid
    chart repository" on a registry (pulumi-kubernetes provider/pkg/provider/helm_release.go, `resolveChartName`
    and `locateChart`; pulumi-kubernetes#2158, #2334).
    """
    if pin.is_oci:
        return ChartSource(f"{pin.repository.rstrip('/')}/{pin.chart}", None)
    return ChartSource(pin.chart, pin.repository)


def release_source_args(pin: ChartPin) -> dict[str, Any]:
    """The `chart`, `version` and `repository_opts` arguments of a Helm Release of `pin`."""
    from pulumi_kubernetes.helm.v3 import RepositoryOptsArgs

    source = chart_source(pin)
    return {
        "chart": source.chart,
        "version": pin.version,
        "repository_opts": None if source.repository is None else RepositoryOptsArgs(repo=source.repository),
    }


def release_namespace(
    resource_name: str, namespace: str, pod_security: PodSecurity, parent: pulumi.Resource
) -> pulumi.Resource:
    """The namespace a release installs into, created by mlinfra with its Pod Security level.

    Helm's `createNamespace` would make a bare namespace that enforces nothing, so no release uses it.
    """
    import pulumi_kubernetes as k8s

    doc = namespace_manifest(namespace, pod_security)
    return k8s.core.v1.Namespace(resource_name, metadata=doc["metadata"], opts=pulumi.ResourceOptions(parent=parent))


def pinned_release(
    resource_name: str,
    release_name: str,
    pin: ChartPin,
    namespace: pulumi.Input[str],
    values: pulumi.Input[dict[str, Any]],
    opts: pulumi.ResourceOptions,
    **release_args: Any,
) -> pulumi.Resource:
    """A Helm release of `pin` (exact chart version, fetched in the form `chart_source` decides) into an
    existing namespace. `release_args`: further Release arguments (`atomic`, `timeout`, ...)."""
    from pulumi_kubernetes.helm.v3 import Release

    return Release(
        resource_name,
        name=release_name,
        **release_source_args(pin),
        namespace=namespace,
        create_namespace=False,
        values=values,
        opts=opts,
        **release_args,
    )
