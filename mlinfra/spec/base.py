"""Shared pieces of the spec models: the strict base model and name rules."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

# Names become Kubernetes object names, label values and cloud resource names, so they follow the
# strictest of those: an RFC 1123 label, at most 40 characters to leave room for suffixes.
NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, min_length=1, max_length=40)]

LABEL_KEY_RE = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"  # optional DNS-subdomain prefix
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
LABEL_VALUE_RE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


class SpecModel(BaseModel):
    """Base of every spec model: unknown keys are errors (a typo must not be ignored silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
