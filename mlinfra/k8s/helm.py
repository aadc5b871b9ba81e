"""Helm releases the way every mlinfra add-on installs them: pinned chart, explicit Pod Security namespace."""

from __future__ import annotations

from typing import Any

import pulumi

from mlinfra.catalog.versions import ChartPin
from mlinfra.k8s.namespaces import PodSecurity, namespace_manifest


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
) -> pulumi.Resource:
    """A Helm release of `pin` (exact chart version and repository) into an existing namespace."""
    from pulumi_kubernetes.helm.v3 import Release, RepositoryOptsArgs

    return Release(
        resource_name,
        name=release_name,
        chart=pin.chart,
        version=pin.version,
        repository_opts=RepositoryOptsArgs(repo=pin.repository),
        namespace=namespace,
        create_namespace=False,
        values=values,
        opts=opts,
    )
