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
resource, render/floor, render/bare floor, the ratio in process CPU time (steadier on a shared machine), CPU ms per
resource by step, how long the render's main thread waited for a CPU (Linux schedstat: other processes' load, not
the render's cost) and peak RSS. Each size runs in its own process after one warm-up, so peak RSS is its own;
times are medians.

With a size of at least 1,000 resources and one of at least 10,000 in the run (`--sizes large,10k`), the table
is followed by the flatness check: render ms per resource at the bigger size within 10% of the smaller one, in
wall time and in CPU time, each reported met or not met, beside the floor's own growth.

    .venv/bin/python benchmarks/bench_render.py [--sizes small,medium,large] [--repeat 5]
    .venv/bin/python benchmarks/bench_render.py --sizes large,10k --repeat 3   # with the flatness check
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

# The flatness target: render cost per resource at 10,000 resources within this factor of its cost at 1,000.
FLAT_FROM, FLAT_TO, FLAT_WITHIN = 1_000, 10_000, 1.10

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

    steps: list[tuple[Any, ...]] = []
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


def run_queue_wait_s() -> float | None:
    """Seconds this process's main thread has spent runnable but waiting for a CPU (Linux schedstat), or None.

    On a shared machine wall time = CPU time + this wait (+ a little sleeping): the wait is other processes'
    load, so it shows how much of a wall-time reading the render itself did not cost.
    """
    import os

    try:
        with open(f"/proc/self/task/{os.getpid()}/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def base_rss() -> float:
    """MiB of RSS before the size's renders: after one render of the small environment (every SDK module the
    components use imported) and a collection. Peak RSS minus this is what the size's runs held."""
    import os

    from mlinfra.offline.render import StackConfig, build_render, run_program
    from mlinfra.spec import load_environment

    small = synthetic_environment(*SIZES["small"])
    env = load_environment(small, on_warning=None)

    def program() -> None:
        from mlinfra.platform import Platform

        Platform("platform", env)

    build_render(run_program(program, StackConfig("mlinfra", "small", {"mlinfra:platform": json.dumps(small)}, [])))
    gc.collect()
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
        w0 = run_queue_wait_s()
        c0 = time.process_time()
        t0 = time.perf_counter()
        holder["env"] = load_environment(platform)
        t1, c1 = time.perf_counter(), time.process_time()
        records = run_program(program, config)
        t2, c2 = time.perf_counter(), time.process_time()
        # What `mlinfra render` writes besides the registrations' files: the summary and the capacity.
        files = build_render(records)
        files["summary.md"] = summary_markdown(holder["env"], records)
        files["capacity.json"] = capacity_json(holder["env"])
        t3, c3 = time.perf_counter(), time.process_time()
        w3 = run_queue_wait_s()
        parts = {"spec": t1 - t0, "program": t2 - t1, "files": t3 - t2, "render": t3 - t0, "render_cpu": c3 - c0,
                 "spec_cpu": c1 - c0, "program_cpu": c2 - c1, "files_cpu": c3 - c2}
        if w0 is not None and w3 is not None:
            parts["render_runq"] = w3 - w0
        return records, parts

    def floor(steps: list[tuple[Any, ...]], typed: bool) -> tuple[list[Any], float, float]:
        cpu, start = time.process_time(), time.perf_counter()
        replayed = run_program(lambda: floor_program(steps, typed), config)
        return replayed, time.perf_counter() - start, time.process_time() - cpu

    gc.disable()
    base_rss_mib = base_rss()
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
    samples: dict[str, list[float]] = {k: [] for k in ("spec", "program", "files", "render", "render_cpu", "spec_cpu",
                                                        "program_cpu", "files_cpu", "render_runq", "floor",
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
    m = {key: statistics.median(values) for key, values in samples.items() if values}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "resources": len(records),
        "sdk_classes": sum(1 for step in floors["floor"][0] if step[0] == "sdk"),
        **{f"{key}_s": value for key, value in m.items()},
        "ms_per_resource": 1000 * m["render"] / len(records),
        "floor_ms_per_resource": 1000 * m["floor"] / len(records),
        "cpu_ms_per_resource": 1000 * m["render_cpu"] / len(records),
        "floor_cpu_ms_per_resource": 1000 * m["floor_cpu"] / len(records),
        "ratio": m["render"] / m["floor"],
        "ratio_cpu": m["render_cpu"] / m["floor_cpu"],
        "bare_ratio": m["render"] / m["bare"],
        "program_ratio": (m["spec"] + m["program"]) / m["floor"],
        "peak_rss_mib": peak,
        "base_rss_mib": base_rss_mib,
        # What the run held per resource at its peak: the warm-up's registrations, both floors' steps and one
        # render (the collector is off while each runs).
        "kib_per_resource": 1024 * (peak - base_rss_mib) / len(records),
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
    print("\n| size | CPU ms/resource: render (spec / program / files) / floor | render wall ms/resource, of it "
          "waiting for a CPU | base RSS MiB | peak RSS MiB | KiB/resource at peak |")
    print("|---|---|---|---|---|---|")
    for size, r in rows.items():
        n = r["resources"]
        waited = f"{1000 * r['render_runq_s'] / n:.2f}" if "render_runq_s" in r else "n/a"
        print(f"| {size} | {r['cpu_ms_per_resource']:.2f} ({1000 * r['spec_cpu_s'] / n:.2f} / "
              f"{1000 * r['program_cpu_s'] / n:.2f} / {1000 * r['files_cpu_s'] / n:.2f}) / "
              f"{r['floor_cpu_ms_per_resource']:.2f} | {r['ms_per_resource']:.2f}, {waited} | "
              f"{r['base_rss_mib']:.0f} | {r['peak_rss_mib']:.0f} | {r['kib_per_resource']:.0f} |")
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
    for line in flatness(rows):
        print(line)
    return 0


def flatness(rows: dict[str, dict[str, Any]]) -> list[str]:
    """The flatness check, from the measured rows: ms per resource at the biggest size of at least `FLAT_TO`
    resources against the smallest of at least `FLAT_FROM`, in wall and in CPU time; the floor's own growth beside
    it. No lines when the run lacks either size."""
    low = [(r["resources"], s) for s, r in rows.items() if FLAT_FROM <= r["resources"] < FLAT_TO]
    high = [(r["resources"], s) for s, r in rows.items() if r["resources"] >= FLAT_TO]
    if not low or not high:
        return []
    a, b = rows[min(low)[1]], rows[max(high)[1]]
    names = f"{min(low)[1]} ({a['resources']:,} resources) -> {max(high)[1]} ({b['resources']:,})"
    lines = [f"\nFlatness: render ms/resource at {FLAT_TO:,}+ resources within {FLAT_WITHIN:.2f}x of "
             f"{FLAT_FROM:,}+, {names}"]
    for label, key, floor_key in (("wall", "ms_per_resource", "floor_ms_per_resource"),
                                  ("CPU", "cpu_ms_per_resource", "floor_cpu_ms_per_resource")):
        growth, floor_growth = b[key] / a[key], b[floor_key] / a[floor_key]
        verdict = "met" if growth <= FLAT_WITHIN else "not met"
        lines.append(f"- {label}: {a[key]:.2f} -> {b[key]:.2f} ms/resource, x{growth:.2f}: {verdict} "
                     f"(floor {a[floor_key]:.2f} -> {b[floor_key]:.2f}, x{floor_growth:.2f})")
    if "render_runq_s" in a and "render_runq_s" in b:
        lines.append(f"- of the render's wall time, waiting for a CPU (other processes' load): "
                     f"{1000 * a['render_runq_s'] / a['resources']:.2f} -> "
                     f"{1000 * b['render_runq_s'] / b['resources']:.2f} ms/resource")
    share, share_cpu = b["ratio"] / a["ratio"], b["ratio_cpu"] / a["ratio_cpu"]
    lines.append(f"- render/floor, measured in the same process (what mlinfra adds to Pulumi's own cost): "
                 f"{a['ratio']:.2f} -> {b['ratio']:.2f} (x{share:.2f}), CPU {a['ratio_cpu']:.2f} -> "
                 f"{b['ratio_cpu']:.2f} (x{share_cpu:.2f})")
    memory = b["kib_per_resource"] / a["kib_per_resource"]
    lines.append(f"- memory held at peak: {a['kib_per_resource']:.0f} -> {b['kib_per_resource']:.0f} KiB/resource, "
                 f"x{memory:.2f}: {'met' if memory <= FLAT_WITHIN else 'not met'}")
    return lines


if __name__ == "__main__":
    sys.exit(main())
