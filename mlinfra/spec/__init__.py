"""The typed environment spec and its loader.

`load_environment(config)` turns the stack's `mlinfra:platform` config into an `EnvironmentSpec`,
collecting every field error and every cross-layer problem into one `SpecError` before anything is created.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from mlinfra.problems import Problem, SpecError, path_join
from mlinfra.spec.base import NAME_PATTERN
from mlinfra.spec.caches import CacheSpec
from mlinfra.spec.clusters import NETWORK_TAGS, ClusterSpec, ExistingCluster, release_pattern_hint
from mlinfra.spec.environment import EnvironmentSpec
from mlinfra.spec.gpu_operator import GpuOperatorSpec
from mlinfra.spec.monitoring import MonitoringSpec
from mlinfra.spec.pools import MigSpec, MpsSpec, PoolSpec, Taint, TimeSlicingSpec
from mlinfra.spec.scheduling import SchedulingSpec, TeamSpec


def _pydantic_problems(err: ValidationError) -> list[Problem]:
    problems = []
    for e in err.errors():
        loc = [p for p in e["loc"]
               if not (isinstance(p, str) and p in ("int", "float", "function-after", *NETWORK_TAGS))]
        message = e["msg"]
        if e["type"] == "extra_forbidden":
            message = "unknown field; check the spelling against the documented fields"
        elif e["type"] == "missing":
            message = "required field is missing"
        elif e["type"] == "string_pattern_mismatch" and (e.get("ctx") or {}).get("pattern") == NAME_PATTERN:
            message = "must be a lowercase RFC 1123 name (a-z, 0-9, '-'; start and end alphanumeric)"
        elif e["type"] == "string_pattern_mismatch":
            message = release_pattern_hint((e.get("ctx") or {}).get("pattern", "")) or message
        problems.append(Problem(path_join(*loc) or "<root>", e.get("input"), message))
    return problems


class SpecWarning(UserWarning):
    """A problem worth a look that does not stop the environment (a spot pool with one instance type)."""


def _warn(problem: Problem) -> None:
    warnings.warn(str(problem), SpecWarning, stacklevel=3)


def load_environment(
    config: Any, *, raise_on_error: bool = True, on_warning: Callable[[Problem], None] | None = _warn
) -> EnvironmentSpec:
    """Parse and check one environment; raise `SpecError` listing every problem when it is inconsistent.

    Warnings go to `on_warning` (default: Python's `warnings` as `SpecWarning`; a stack program passes
    `pulumi.log.warn` so they show in the preview). Pass None to drop them.
    """
    from mlinfra.checks import run_checks

    try:
        env = EnvironmentSpec.model_validate(config)
    except ValidationError as err:
        raise SpecError(_pydantic_problems(err)) from None
    problems = run_checks(env)
    if raise_on_error and any(p.severity == "error" for p in problems):
        raise SpecError(problems)
    if on_warning is not None:
        for problem in problems:
            if problem.severity == "warning":
                on_warning(problem)
    return env


__all__ = [
    "CacheSpec",
    "ClusterSpec",
    "EnvironmentSpec",
    "ExistingCluster",
    "GpuOperatorSpec",
    "MigSpec",
    "MonitoringSpec",
    "MpsSpec",
    "PoolSpec",
    "Problem",
    "SchedulingSpec",
    "SpecError",
    "SpecWarning",
    "Taint",
    "TeamSpec",
    "TimeSlicingSpec",
    "load_environment",
]
