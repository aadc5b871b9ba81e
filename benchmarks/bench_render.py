"""Render cost at three environment sizes, against the mock-runtime floor measured in the same run.

For each size the benchmark renders a synthetic environment (`synthetic.py`) with the real Platform program
under Pulumi's mock runtime, exactly as `mlinfra render` does: load and check the spec, run the program, turn
the registrations into the render files, the summary and the capacity table (writing to disk is left out), with
the garbage collector off as the command runs. Then it replays the very same registrations, precomputed, under
the same mock runtime (the same `RecordingMocks` and `RecordingMonitor`), twice:

- the floor: each resource built with the class the program used (the SDK's typed classes such as
  `pulumi_kubernetes.core.v1.Namespace` with the recorded inputs as keyword arguments; one-line subclasses for
  components, mlinfra's own thin resource classes and bare providers), with the same parent, provider,
  dependencies and resource options, from one flat loop. That is what registering these resources costs any
  Pulumi program: the runtime and the SDK classes, none of mlinfra's work.
- the bare floor: plain `CustomResource`/`ComponentResource`/`ProviderResource` instances with the same
  registrations. Pulumi skips source positions for these (its stack walk looks for a third `__init__` frame) and
  there are no typed inputs to translate, so this is below what any program written with the SDKs can reach.

Both replays must register exactly what the program registered (type, name, parent, provider, dependencies and
inputs) or the run fails. Reported per size: resources, render wall time and its parts, both floors, ms per
resource, render/floor, render/bare floor, the ratio in process CPU time (steadier on a shared machine) and peak
RSS. Each size runs in its own process after one warm-up, so peak RSS is its own; times are medians.

    .venv/bin/python benchmarks/bench_render.py [--sizes small,medium,large] [--repeat 5]
    .venv/bin/python benchmarks/bench_render.py --profile medium   # cProfile of one render, top functions
"""

from __future__ import annotations

import argparse
import gc
import json
import platform as host
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import SIZES, synthetic_environment  # noqa: E402

# What the floor passes on from the program's resource options besides parent, provider and dependencies.
_OPTION_FIELDS = ("ignore_changes", "protect", "delete_before_replace", "replace_on_changes",
                  "additional_secret_outputs", "retain_on_delete", "custom_timeouts")


@dataclass
class Made:
    """How the program made one resource: its Python class, the class's input type and the options it set."""

    cls: type
    args_type: type | None
    options: dict[str, Any]


def spy_on_resources() -> tuple[dict[tuple[str, str], Made], Callable[[], None]]:
    """Record the class, input type and options of every resource constructed until the returned undo runs.

    Only the warm-up render runs with the spy; the timed renders run the program untouched.
    """
    import pulumi
    from pulumi import _types

    made: dict[tuple[str, str], Made] = {}
    original = pulumi.Resource.__init__

    def spy(self: Any, t: str, name: str, custom: bool, props: Any = None, opts: Any = None, *args: Any,
            **kwargs: Any) -> None:
        args_type = type(props) if props is not None and _types.is_input_type(type(props)) else None
        options = {f: getattr(opts, f) for f in _OPTION_FIELDS if opts is not None and getattr(opts, f) is not None}
        made[(t, name)] = Made(type(self), args_type, options)
        original(self, t, name, custom, props, opts, *args, **kwargs)

    pulumi.Resource.__init__ = spy  # type: ignore[method-assign]

    def undo() -> None:
        pulumi.Resource.__init__ = original  # type: ignore[method-assign]

    return made, undo


def floor_steps(records: list[Any], made: dict[tuple[str, str], Made] | None) -> list[tuple[Any, ...]]:
    """Precompute the floor's registrations: (how, record, class, keyword inputs, options).

    With `made` (the typed floor) a resource the program built with an SDK class (`pulumi_kubernetes.core.v1.
    Namespace`, `pulumi_aws.eks.Cluster`, ...) is built with that class again, its recorded inputs passed as the
    class's keyword arguments; components, providers and mlinfra's own thin resource classes become one-line
    subclasses of `ComponentResource`, `ProviderResource` and `CustomResource` (what any Pulumi program's classes
    are). Without `made` (the bare floor) every resource is a plain `CustomResource`/`ComponentResource`/
    `ProviderResource` instance, which Pulumi registers without source positions.
    """
    from pulumi import _types

    steps = []
    for r in records:
        how = made[(r.type, r.name)] if made is not None else None
        options = how.options if how is not None else {}
        if r.type.startswith("pulumi:providers:") and not (how and how.cls.__module__.startswith("pulumi_")):
            steps.append(("provider", r, None, None, options))
        elif not r.custom:
            steps.append(("component", r, None, None, options))
        elif how is not None and how.args_type is not None and how.cls.__module__.startswith("pulumi_"):
            python_names = {v: k for k, v in _types.input_type_py_to_pulumi_names(how.args_type).items()}
            kwargs = {python_names.get(k, k): v for k, v in r.inputs.items()}
            if r.type.startswith("pulumi:providers:"):
                kwargs = {k: _provider_input(v) for k, v in kwargs.items()}
            steps.append(("sdk", r, how.cls, kwargs, options))
        else:
            steps.append(("custom", r, None, None, options))
    return steps


def _provider_input(value: Any) -> Any:
    """A provider's recorded input as its class takes it: providers send non-string inputs as JSON text."""
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        if not isinstance(decoded, str) and json.dumps(decoded) == value:
            return decoded
    return value


def floor_program(steps: list[tuple[Any, ...]], typed: bool) -> None:
    """Register the precomputed `steps` with nothing but Pulumi (and, typed, its SDK classes)."""
    import pulumi

    class Component(pulumi.ComponentResource):
        def __init__(self, t: str, name: str, opts: pulumi.ResourceOptions) -> None:
            super().__init__(t, name, None, opts)

    class Custom(pulumi.CustomResource):
        def __init__(self, t: str, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
            super().__init__(t, name, props, opts)

    class Provider(pulumi.ProviderResource):
        def __init__(self, pkg: str, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
            super().__init__(pkg, name, props, opts)

    by_urn: dict[str, pulumi.Resource] = {}
    providers: dict[str, pulumi.ProviderResource] = {}
    components: list[pulumi.ComponentResource] = []
    for how, r, cls, kwargs, options in steps:
        parent = by_urn.get(r.parent_urn)
        provider = providers.get(r.provider_ref) if r.provider_ref else None
        depends_on = [by_urn[urn] for urn in r.dependencies if urn in by_urn]
        opts = pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=depends_on or None, **options)
        res: pulumi.Resource
        if how == "provider":
            package = r.type[len("pulumi:providers:"):]
            res = (Provider(package, r.name, dict(r.inputs), opts) if typed
                   else pulumi.ProviderResource(package, r.name, dict(r.inputs), opts=opts))
            providers[f"{r.urn}::{r.name}-id"] = res
        elif how == "component":
            res = Component(r.type, r.name, opts) if typed else pulumi.ComponentResource(r.type, r.name, None, opts)
            components.append(res)
        elif how == "sdk":
            res = cls(r.name, opts=opts, **kwargs)
            if isinstance(res, pulumi.ProviderResource):
                providers[f"{r.urn}::{r.name}-id"] = res
        else:
            res = Custom(r.type, r.name, dict(r.inputs), opts) if typed else pulumi.CustomResource(
                r.type, r.name, dict(r.inputs), opts=opts)
        by_urn[r.urn] = res
    for component in components:
        component.register_outputs({})


def _signature(records: list[Any]) -> list[tuple[str, str, str, str, tuple[str, ...], str]]:
    """What must match between the program and a floor: every registration, with its inputs."""
    from mlinfra.offline.render import clean

    # Sorted: the real program's registrations arrive as their Output inputs resolve, the replay's at once.
    return sorted((r.type, r.name, r.parent_urn, r.provider_ref, tuple(sorted(r.dependencies)),
                   json.dumps(clean(r.inputs), sort_keys=True)) for r in records)


def measure(size: str, repeat: int) -> dict[str, Any]:
    """Render `size` once to warm up, then `repeat` times, each followed by both floors; medians.

    Everything timed runs as `mlinfra render` runs it: with the garbage collector off (a render is a short batch
    process; see `mlinfra.offline.render.main`). The collection after each run is not timed.
    """
    from mlinfra.offline.diff import capacity_json
    from mlinfra.offline.render import StackConfig, build_render, run_program
    from mlinfra.offline.summary import summary_markdown
    from mlinfra.spec import load_environment

    platform = synthetic_environment(*SIZES[size])
    config = StackConfig("mlinfra", size, {"mlinfra:platform": json.dumps(platform)}, [])
    holder: dict[str, Any] = {}

    def program() -> None:
        from mlinfra.platform import Platform

        Platform("platform", holder["env"])

    def render() -> tuple[list[Any], dict[str, float]]:
        c0 = time.process_time()
        t0 = time.perf_counter()
        holder["env"] = load_environment(platform)
        t1 = time.perf_counter()
        records = run_program(program, config)
        t2 = time.perf_counter()
        # What `mlinfra render` writes besides the registrations' files: the summary and the capacity.
        files = build_render(records)
        files["summary.md"] = summary_markdown(holder["env"], records)
        files["capacity.json"] = capacity_json(holder["env"])
        t3 = time.perf_counter()
        cpu = time.process_time() - c0
        return records, {"spec": t1 - t0, "program": t2 - t1, "files": t3 - t2, "render": t3 - t0, "render_cpu": cpu}

    def floor(steps: list[tuple[Any, ...]], typed: bool) -> tuple[list[Any], float, float]:
        cpu, start = time.process_time(), time.perf_counter()
        replayed = run_program(lambda: floor_program(steps, typed), config)
        return replayed, time.perf_counter() - start, time.process_time() - cpu

    gc.disable()
    made, undo = spy_on_resources()
    try:
        records, _ = render()  # warm-up (first imports, validators, catalog), and how each resource was made
    finally:
        undo()
    floors = {"floor": (floor_steps(records, made), True), "bare": (floor_steps(records, None), False)}
    for name, (steps, typed) in floors.items():  # warm-up, and the floors register what the program does
        replayed, _, _ = floor(steps, typed)
        if _signature(replayed) != _signature(records):
            raise SystemExit(f"{size}: the {name} floor did not register what the program registers")
    samples: dict[str, list[float]] = {k: [] for k in ("spec", "program", "files", "render", "render_cpu", "floor",
                                                        "floor_cpu", "bare", "bare_cpu")}
    for _ in range(repeat):
        gc.collect()
        _, parts = render()
        for key, value in parts.items():
            samples[key].append(value)
        for name, (steps, typed) in floors.items():
            gc.collect()
            _, wall, cpu = floor(steps, typed)
            samples[name].append(wall)
            samples[f"{name}_cpu"].append(cpu)
    m = {key: statistics.median(values) for key, values in samples.items()}
    return {
        "resources": len(records),
        "sdk_classes": sum(1 for step in floors["floor"][0] if step[0] == "sdk"),
        **{f"{key}_s": value for key, value in m.items()},
        "ms_per_resource": 1000 * m["render"] / len(records),
        "floor_ms_per_resource": 1000 * m["floor"] / len(records),
        "ratio": m["render"] / m["floor"],
        "ratio_cpu": m["render_cpu"] / m["floor_cpu"],
        "bare_ratio": m["render"] / m["bare"],
        "program_ratio": (m["spec"] + m["program"]) / m["floor"],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def profile(size: str, top: int) -> None:
    """cProfile one steady-state render of `size`; print the top functions by cumulative and own time."""
    import cProfile
    import pstats

    from mlinfra.offline.render import StackConfig, build_render, run_program
    from mlinfra.spec import load_environment

    platform = synthetic_environment(*SIZES[size])
    config = StackConfig("mlinfra", size, {"mlinfra:platform": json.dumps(platform)}, [])

    def program() -> None:
        from mlinfra.platform import Platform

        Platform("platform", load_environment(platform))

    build_render(run_program(program, config))
    prof = cProfile.Profile()
    prof.enable()
    build_render(run_program(program, config))
    prof.disable()
    stats = pstats.Stats(prof)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="small,medium,large")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", metavar="SIZE", help="profile one render of SIZE instead of timing")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profile:
        profile(args.profile, args.top)
        return 0
    if args.one:
        print(json.dumps(measure(args.one, args.repeat)))
        return 0
    rows = {}
    for size in args.sizes.split(","):
        out = subprocess.run([sys.executable, __file__, "--one", size, "--repeat", str(args.repeat)],
                             capture_output=True, text=True, check=True).stdout
        rows[size] = json.loads(out.strip().splitlines()[-1])
    import os

    print(f"# bench_render: {time.strftime('%Y-%m-%d')}, {host.python_implementation()} {host.python_version()}, "
          f"{os.cpu_count()} cores, median of {args.repeat} after one warm-up\n")
    print("| size (clusters x pools x teams) | resources | render s | spec s | program s | files s | floor s "
          "| bare floor s | ms/resource (render / floor) | render/floor | (spec+program)/floor "
          "| CPU s render / floor (ratio) | render/bare floor | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for size, r in rows.items():
        c, p, t = SIZES[size]
        print(f"| {size} ({c} x {p} x {t}) | {r['resources']} | {r['render_s']:.3f} | {r['spec_s']:.3f} | "
              f"{r['program_s']:.3f} | {r['files_s']:.3f} | {r['floor_s']:.3f} | {r['bare_s']:.3f} | "
              f"{r['ms_per_resource']:.2f} / {r['floor_ms_per_resource']:.2f} | {r['ratio']:.2f} | "
              f"{r['program_ratio']:.2f} | {r['render_cpu_s']:.3f} / {r['floor_cpu_s']:.3f} ({r['ratio_cpu']:.2f}) | "
              f"{r['bare_ratio']:.2f} | {r['peak_rss_mib']:.0f} |")
    print("\nSDK-class resources in the floor: " + ", ".join(f"{size} {r['sdk_classes']} of {r['resources']}"
                                                            for size, r in rows.items()))
    names = list(rows)
    if len(names) >= 2:
        mid, big = rows[names[-2]], rows[names[-1]]
        res_growth = big["resources"] / mid["resources"]
        for label, key in (("render", "render_s"), ("floor", "floor_s"), ("bare floor", "bare_s"),
                           ("render CPU", "render_cpu_s"), ("floor CPU", "floor_cpu_s")):
            growth = big[key] / mid[key]
            print(f"\n{label} growth {names[-2]} -> {names[-1]}: time x{growth:.2f} for resources x{res_growth:.2f} "
                  f"(time growth / resource growth = {growth / res_growth:.2f}; <= 1.0 is linear or better)", end="")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
