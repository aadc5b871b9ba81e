"""ObjectMeta checks the API server applies to every object: names, namespace, label and annotation syntax."""

from __future__ import annotations

import re
from typing import Any

# The API server's regexes (k8s.io/apimachinery/pkg/util/validation).
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

# ObjectMeta fields a client may send; anything else in `metadata` is an unknown field.
OBJECT_META_FIELDS = frozenset({
    "name", "generateName", "namespace", "labels", "annotations", "finalizers", "ownerReferences",
    "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
    "deletionGracePeriodSeconds", "managedFields", "selfLink",
})

# Kinds whose names follow other rules than the usual DNS subdomain.
_DNS_LABEL_NAMED = frozenset({"Namespace"})
_DNS_1035_NAMED = frozenset({"Service"})
_PATH_SEGMENT_GROUPS = frozenset({"rbac.authorization.k8s.io"})  # ClusterRole "system:foo" is legal


def _dns_subdomain_error(value: str) -> str | None:
    if len(value) > 253:
        return f"must be no more than 253 characters (got {len(value)})"
    if not _DNS_SUBDOMAIN.match(value):
        return ("must be a lowercase RFC 1123 subdomain: lowercase alphanumerics, '-' or '.', starting and "
                "ending with an alphanumeric")
    return None


def _dns_label_error(value: str) -> str | None:
    if len(value) > 63:
        return f"must be no more than 63 characters (got {len(value)})"
    if not _DNS_LABEL.match(value):
        return "must be a lowercase RFC 1123 label: lowercase alphanumerics or '-', starting and ending with one"
    return None


def _dns_1035_error(value: str) -> str | None:
    if len(value) > 63:
        return f"must be no more than 63 characters (got {len(value)})"
    if not _DNS_1035.match(value):
        return "must be an RFC 1035 label: lowercase alphanumerics or '-', starting with a letter"
    return None


def _path_segment_error(value: str) -> str | None:
    if value in (".", ".."):
        return f"may not be {value!r}"
    if "/" in value or "%" in value:
        return "may not contain '/' or '%'"
    return None


def qualified_name_error(key: str) -> str | None:
    """Error text for a label/annotation key (`prefix/name`), or None when valid."""
    prefix, _, name = key.rpartition("/")
    if "/" in key and not prefix:
        return "prefix part must be non-empty"
    if prefix and _dns_subdomain_error(prefix):
        return "prefix part must be a DNS subdomain (e.g. 'example.com')"
    if not name:
        return "name part must be non-empty"
    if len(name) > 63:
        return f"name part must be no more than 63 characters (got {len(name)})"
    if not _QUALIFIED_NAME.match(name):
        return "name part must consist of alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"
    return None


def check_metadata(meta: Any, kind: str, group: str, namespaced: bool | None, strict_fields: bool,
                   ) -> list[tuple[tuple[str | int, ...], str]]:
    """Problems in `metadata` as (path parts, message).

    `namespaced` None means unknown scope (the namespace check is then skipped). `strict_fields` reports fields
    ObjectMeta does not have (built-in kinds get that from their JSON schema instead).
    """
    out: list[tuple[tuple[str | int, ...], str]] = []
    if not isinstance(meta, dict):
        return [(("metadata",), "metadata must be a mapping")]
    if strict_fields:
        for key in meta:
            if key not in OBJECT_META_FIELDS:
                out.append((("metadata", key), f'unknown field "{key}" (not in ObjectMeta)'))
    name, generate = meta.get("name"), meta.get("generateName")
    if not name and not generate:
        out.append((("metadata", "name"), "name or generateName is required"))
    elif name is not None:
        if not isinstance(name, str):
            out.append((("metadata", "name"), f"name must be a string (got {name!r})"))
        else:
            if group in _PATH_SEGMENT_GROUPS:
                err = _path_segment_error(name)
            elif kind in _DNS_LABEL_NAMED:
                err = _dns_label_error(name)
            elif kind in _DNS_1035_NAMED:
                err = _dns_1035_error(name)
            else:
                err = _dns_subdomain_error(name)
            if err:
                out.append((("metadata", "name"), f"invalid name {name!r}: {err}"))
    ns = meta.get("namespace")
    if ns is not None:
        if not isinstance(ns, str) or _dns_label_error(ns):
            out.append((("metadata", "namespace"), f"invalid namespace {ns!r}: must be an RFC 1123 label"))
        elif namespaced is False:
            out.append((("metadata", "namespace"), f"{kind} is cluster-scoped and must not set a namespace "
                        f"(got {ns!r})"))
    for field_name in ("labels", "annotations"):
        values = meta.get(field_name)
        if values is None:
            continue
        if not isinstance(values, dict):
            out.append((("metadata", field_name), f"{field_name} must be a mapping of strings"))
            continue
        for key, value in values.items():
            path = ("metadata", field_name, str(key))
            err = qualified_name_error(key) if isinstance(key, str) else "key must be a string"
            if err:
                out.append((path, f"invalid {field_name[:-1]} key {key!r}: {err}"))
            if not isinstance(value, str):
                out.append((path, f"{field_name[:-1]} value must be a string (got {type(value).__name__} "
                            f"{value!r}; quote it in YAML)"))
            elif field_name == "labels" and (len(value) > 63 or not _LABEL_VALUE.match(value)):
                out.append((path, f"invalid label value {value!r}: at most 63 alphanumerics, '-', '_' or '.', "
                            "starting and ending with an alphanumeric"))
    return out
