"""Built-in Kubernetes kinds: strict JSON schemas shipped by kubernetes-validate, one cached validator per kind."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

# Built-in kinds that are cluster-scoped; every other built-in kind is namespaced. The schemas do not say.
CLUSTER_SCOPED = frozenset({
    "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "PriorityClass",
    "StorageClass", "CSIDriver", "CSINode", "VolumeAttachment", "IngressClass", "RuntimeClass",
    "CustomResourceDefinition", "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding", "CertificateSigningRequest", "ClusterTrustBundle", "FlowSchema",
    "PriorityLevelConfiguration", "ComponentStatus", "DeviceClass", "ResourceSlice", "IPAddress", "ServiceCIDR",
    "StorageVersionMigration", "VolumeAttributesClass",
})


def schema_dir(kubernetes_version: str) -> Path:
    """The strict schema folder for `1.NN` (or `v1.NN`, `1.NN.x`); ValueError listing the shipped versions."""
    import kubernetes_validate  # imported here: the package is a dev extra, only `validate` needs it

    root = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    match = re.match(r"^v?(\d+)\.(\d+)", kubernetes_version.strip())
    if match:
        folder = root / f"v{match.group(1)}.{match.group(2)}.0-local-strict"
        if folder.is_dir():
            return folder
    shipped = sorted(p.name.split("-")[0][1:].rsplit(".", 1)[0] for p in root.glob("v*-local-strict"))
    raise ValueError(f"kubernetes version {kubernetes_version!r} has no schemas in kubernetes-validate "
                     f"{getattr(kubernetes_validate, '__version__', '')}; shipped: {', '.join(shipped)}")


class BuiltinSchemas:
    """Validators for built-in kinds of one Kubernetes version, built on first use and cached.

    kubernetes_validate.validate() re-reads and re-resolves the 1.4 MB definitions file on every call (about
    6 ms per object); a cached Draft 2020-12 validator sharing one registry costs about 0.3 ms per Deployment.
    """

    def __init__(self, kubernetes_version: str = "1.33") -> None:
        self.folder = schema_dir(kubernetes_version)
        self._registry: Registry | None = None
        self._validators: dict[tuple[str, str], jsonschema.protocols.Validator | None] = {}

    def _get_registry(self) -> Registry:
        if self._registry is None:
            defs = json.loads((self.folder / "_definitions.json").read_text())
            self._registry = Registry().with_resource(defs["$id"], Resource.from_contents(defs))
        return self._registry

    def validator(self, api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
        """The validator for a built-in (apiVersion, kind), or None when kubernetes-validate has no schema."""
        key = (api_version, kind)
        if key not in self._validators:
            # Same file naming as kubernetes-validate: rbac.authorization.k8s.io/v1 -> rbac-v1, v1 -> v1.
            suffix = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
            path = self.folder / f"{kind.lower()}-{suffix}.json"
            validator = None
            if path.is_file() and "/" not in kind:
                schema = json.loads(path.read_text())
                validator = jsonschema.Draft202012Validator(schema, registry=self._get_registry())
            self._validators[key] = validator
        return self._validators[key]

    def validate(self, obj: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]] | None:
        """Problems as (path parts, message), or None when the kind is not built in."""
        validator = self.validator(str(obj.get("apiVersion")), str(obj.get("kind")))
        if validator is None:
            return None
        out: list[tuple[tuple[str | int, ...], str]] = []
        for error in validator.iter_errors(obj):
            path = tuple(error.absolute_path)
            if error.validator == "additionalProperties" and isinstance(error.instance, dict):
                known = set(error.schema.get("properties", {}))
                for extra in error.instance:
                    if extra not in known:
                        out.append(((*path, extra), f'unknown field "{extra}"'))
            else:
                out.append((path, _short(error)))
        return out


def _short(error: jsonschema.ValidationError) -> str:
    """jsonschema's message, without echoing a huge instance back."""
    message = error.message
    if len(message) > 300:
        message = message[:300] + "..."
    return message
