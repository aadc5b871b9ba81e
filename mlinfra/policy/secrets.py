"""Find secret-looking keys that carry literal values in nested config (Helm values, ConfigMap data)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

# Key words that name a credential. Matched on the key lower-cased with '-', '_' and '.' removed.
_SENSITIVE = ("password", "passwd", "secret", "token", "apikey", "accesskey", "privatekey", "credential", "auth")
# Keys that hold the *name* or *location* of a credential rather than the credential: a Secret's name, a key
# inside it, a file path. `secretKey` (MinIO style) is a credential, so only named suffixes count here.
_REFERENCE_SUFFIXES = (
    "name", "names", "ref", "file", "path", "dir", "mountpath", "passwordkey", "tokenkey", "userkey", "usernamekey",
    "secretkeyref", "enabled", "ttl", "expiration", "type", "mode", "url", "endpoint", "header", "policy",
)
# Parents whose whole subtree is a reference to a Secret, not a value.
_REFERENCE_PARENTS = ("valueFrom", "secretKeyRef", "secretRef", "existingSecret", "envFrom", "secret")
# Values the render writes for what the program did not hand over as plain text.
MASKED = ("[secret]", "[unknown]")
_PLACEHOLDER = re.compile(r"^(\$\{[^}]+\}|\{\{.*\}\}|\$\([A-Z_]+\))$")


def _norm(key: str) -> str:
    return re.sub(r"[-_.]", "", key).lower()


def is_sensitive_key(key: str) -> bool:
    """True when a key names a credential (and not a reference to one)."""
    norm = _norm(key)
    if norm.startswith("existing") or norm.startswith("automount"):
        return False
    if not any(word in norm for word in _SENSITIVE):
        return False
    if norm in ("author", "authors", "oauth2proxy") or norm.startswith("authorization"):
        return False
    return not norm.endswith(_REFERENCE_SUFFIXES)


def is_literal(value: Any) -> bool:
    """True for a plain, non-empty string that is not masked or a template placeholder."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    return bool(text) and text not in MASKED and not _PLACEHOLDER.match(text)


def literal_secrets(value: Any, path: str = "", parse_embedded: bool = False) -> Iterator[str]:
    """Paths of secret-looking keys with literal values anywhere under `value`.

    With `parse_embedded`, string values that hold a YAML/JSON mapping (config files kept in a ConfigMap)
    are searched too.
    """
    if isinstance(value, dict):
        for key, child in sorted(value.items(), key=lambda kv: str(kv[0])):
            key = str(key)
            where = f"{path}.{key}" if path else key
            if key in _REFERENCE_PARENTS and isinstance(child, dict):
                continue
            if is_sensitive_key(key) and is_literal(child):
                yield where
            else:
                yield from literal_secrets(child, where, parse_embedded)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from literal_secrets(child, f"{path}[{i}]", parse_embedded)
    elif parse_embedded and isinstance(value, str) and "\n" in value:
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            return
        if isinstance(parsed, (dict, list)):
            yield from literal_secrets(parsed, path, parse_embedded)
