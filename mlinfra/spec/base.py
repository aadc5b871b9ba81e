"""Shared pieces of the spec models: the strict base model and name rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache, cached_property
from typing import Annotated, Any, Self

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

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy without the indexes a model caches from its fields (`functools.cached_property`).

        Pydantic copies the instance `__dict__`, where those cached values live, so a copy with `update` would
        otherwise answer from the original's fields (`SchedulingSpec.teams_by_cluster` after new `teams`).
        """
        copy = super().model_copy(update=update, deep=deep)
        for name in _cached_properties(type(self)):
            copy.__dict__.pop(name, None)
        return copy


@cache
def _cached_properties(cls: type) -> tuple[str, ...]:
    """The names of a class's `functools.cached_property` attributes, its bases' included."""
    return tuple(name for klass in cls.__mro__ for name, value in vars(klass).items()
                 if isinstance(value, cached_property))
