"""Benchmark `mlinfra validate`: one-time setup, then the cost per object of schema checks and of CEL rules.

Run: `.venv/bin/python benchmarks/bench_validate.py [--objects 2000] [--crds PATH]`. Not a test: it prints
numbers and never fails on them (machines differ); the target is well under 1 ms per object for schema checks
once validators are built.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path
from unittest import mock

import yaml

from mlinfra.offline import cel_k8s, structural
from mlinfra.offline.validate import Validator, contracts_dir

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "contract" / "fixtures" / "validate"


def _objects(count: int) -> list[dict]:
    """`count` objects cycling through the valid fixtures (built-in kinds and custom resources)."""
    base = [d for name in ("builtins_valid.yaml", "crs_valid.yaml")
            for d in yaml.safe_load_all((FIXTURES / name).read_text()) if d]
    out = []
    for i in range(count):
        obj = copy.deepcopy(base[i % len(base)])
        obj["metadata"]["name"] = f"{obj['metadata']['name']}-{i}"
        out.append(obj)
    return out


def _run(validator: Validator, objects: list[dict]) -> tuple[float, int, int]:
    start = time.perf_counter()
    errors = rules = 0
    for obj in objects:
        report = validator.validate_object(obj, "bench")
        errors += len(report.problems)
        rules += report.cel_rules_evaluated
    return time.perf_counter() - start, errors, rules


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--crds", type=Path, default=None)
    args = parser.parse_args()
    crds = contracts_dir(args.crds)

    start = time.perf_counter()
    validator = Validator(crds, "1.33")
    _ = validator.index
    index_s = time.perf_counter() - start
    objects = _objects(args.objects)
    warm = objects[: min(len(objects), 40)]
    start = time.perf_counter()
    _run(validator, warm)  # builds every validator, compiles every CRD schema and CEL rule used
    setup_s = time.perf_counter() - start

    total_s, errors, rules = _run(validator, objects)
    # The same walk with CEL switched off: the difference is what the CEL rules cost.
    with mock.patch.object(structural.Walker, "_cel", lambda *a, **k: None):
        schema_s, _, _ = _run(validator, objects)
    builtin = [o for o in objects if validator.builtins.validator(o["apiVersion"], o["kind"]) is not None]
    builtin_s, _, _ = _run(validator, builtin)
    custom = [o for o in objects if o not in builtin]
    with mock.patch.object(structural.Walker, "_cel", lambda *a, **k: None):
        custom_schema_s, _, _ = _run(validator, custom)

    n = len(objects)
    print(f"CRD index of {crds}: {index_s * 1000:.1f} ms ({len(validator.index.kinds())} kinds)")
    print(f"first {len(warm)} objects (builds validators, compiles schemas and CEL): {setup_s * 1000:.1f} ms")
    print(f"{n} objects ({len(builtin)} built-in, {len(custom)} custom), {errors} errors, {rules} CEL rules run")
    print(f"  total             {total_s * 1000 / n:.3f} ms/object")
    print(f"  schema checks     {schema_s * 1000 / n:.3f} ms/object "
          f"(built-in {builtin_s * 1000 / max(1, len(builtin)):.3f}, "
          f"custom {custom_schema_s * 1000 / max(1, len(custom)):.3f})")
    print(f"  CEL               {(total_s - schema_s) * 1000 / n:.3f} ms/object, "
          f"{(total_s - schema_s) * 1e6 / max(1, rules):.1f} us/rule")
    print(f"  CEL compile cache {cel_k8s.compile_rule.cache_info().currsize} distinct rule texts")


if __name__ == "__main__":
    main()
