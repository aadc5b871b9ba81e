"""Pure cross-layer checks: an environment spec in, a list of problems out. No Pulumi imports here."""

from __future__ import annotations

from mlinfra.checks import caches, clouds, gke, gpu_operator, monitoring, pools, scheduling
from mlinfra.problems import Problem
from mlinfra.spec.environment import EnvironmentSpec

# Pools come first: the later sections resolve pools and assume the pool checks passed.
_SECTIONS = (pools, clouds, gke, gpu_operator, scheduling, caches, monitoring)


def run_checks(env: EnvironmentSpec) -> list[Problem]:
    """Every problem of the environment, errors and warnings, in a stable order."""
    problems = list(pools.check(env))
    if any(p.severity == "error" for p in problems):
        # Later sections resolve pools through the catalog; with broken pools they would only add noise.
        return problems
    for section in _SECTIONS[1:]:
        problems.extend(section.check(env))
    return problems
