"""Render cost at three environment sizes, against the mock-runtime floor measured in the same run.

For each size the benchmark renders a synthetic environment (`synthetic.py`) with the real Platform program
under Pulumi's mock runtime, exactly as `mlinfra render` does: load and check the spec, run the program, turn
the registrations into the render files, the summary and the capacity table (writing to disk is left out).
Then it replays the very same registrations through a bare program under the same mock runtime (the same
`RecordingMocks` and `RecordingMonitor`): same types, names, parents, explicit providers, dependencies and
inputs, precomputed as plain values; components register (empty) outputs as the real ones do. That replay is
the floor Pulumi's runtime sets for this many resources.

Reported per size: resources registered, render wall time (and its parts: spec, program, files), floor wall
time, ms per resource, render/floor and (spec+program)/floor, the same ratio in process CPU time (steadier
than wall time on a shared machine), and peak RSS. Each size runs in its own process after one warm-up render
(imports, caches), so peak RSS is its own and times are steady-state; times are medians.

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
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import SIZES, synthetic_environment  # noqa: E402


def floor_program(records: list[Any]) -> None:
    """Register `records` again, with nothing but Pulumi: the cost of the registrations themselves."""
    import pulumi

    by_urn: dict[str, pulumi.Resource] = {}
    providers: dict[str, pulumi.ProviderResource] = {}
    components: list[pulumi.ComponentResource] = []
    for r in records:
        parent = by_urn.get(r.parent_urn)
        provider = providers.get(r.provider_ref) if r.provider_ref else None
        depends_on = [by_urn[urn] for urn in r.dependencies if urn in by_urn]
        opts = pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=depends_on or None)
        res: pulumi.Resource
        if r.type.startswith("pulumi:providers:"):
            res = pulumi.ProviderResource(r.type[len("pulumi:providers:"):], r.name, dict(r.inputs), opts=opts)
            providers[f"{r.urn}::{r.name}-id"] = res
        elif r.custom:
            res = pulumi.CustomResource(r.type, r.name, dict(r.inputs), opts=opts)
        else:
            res = pulumi.ComponentResource(r.type, r.name, None, opts=opts)
            components.append(res)
        by_urn[r.urn] = res
    for component in components:
        component.register_outputs({})


def _signature(records: list[Any]) -> list[tuple[str, str, str, str, tuple[str, ...]]]:
    # Sorted: the real program's registrations arrive as their Output inputs resolve, the replay's at once.
    return sorted((r.type, r.name, r.parent_urn, r.provider_ref, tuple(sorted(r.dependencies))) for r in records)


def measure(size: str, repeat: int) -> dict[str, Any]:
    """Render `size` once to warm up, then `repeat` times, each followed by the floor replay; medians."""
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

    records, _ = render()  # warm-up: first imports, validators, catalog
    run_program(lambda: floor_program(records), config)
    samples: dict[str, list[float]] = {k: [] for k in ("spec", "program", "files", "render", "render_cpu", "floor",
                                                        "floor_cpu")}
    for _ in range(repeat):
        gc.collect()
        records, parts = render()
        for key, value in parts.items():
            samples[key].append(value)
        gc.collect()
        cpu, start = time.process_time(), time.perf_counter()
        replayed = run_program(lambda recs=records: floor_program(recs), config)
        samples["floor"].append(time.perf_counter() - start)
        samples["floor_cpu"].append(time.process_time() - cpu)
        if _signature(replayed) != _signature(records):
            raise SystemExit(f"{size}: the floor did not replay the same registrations")
    m = {key: statistics.median(values) for key, values in samples.items()}
    return {
        "resources": len(records),
        **{f"{key}_s": value for key, value in m.items()},
        "ms_per_resource": 1000 * m["render"] / len(records),
        "floor_ms_per_resource": 1000 * m["floor"] / len(records),
        "ratio": m["render"] / m["floor"],
        "ratio_cpu": m["render_cpu"] / m["floor_cpu"],
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
          "| ms/resource (render / floor) | render/floor | (spec+program)/floor | CPU s render / floor (ratio) "
          "| peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for size, r in rows.items():
        c, p, t = SIZES[size]
        print(f"| {size} ({c} x {p} x {t}) | {r['resources']} | {r['render_s']:.3f} | {r['spec_s']:.3f} | "
              f"{r['program_s']:.3f} | {r['files_s']:.3f} | {r['floor_s']:.3f} | "
              f"{r['ms_per_resource']:.2f} / {r['floor_ms_per_resource']:.2f} | {r['ratio']:.2f} | "
              f"{r['program_ratio']:.2f} | {r['render_cpu_s']:.3f} / {r['floor_cpu_s']:.3f} ({r['ratio_cpu']:.2f}) | "
              f"{r['peak_rss_mib']:.0f} |")
    names = list(rows)
    if len(names) >= 2:
        mid, big = rows[names[-2]], rows[names[-1]]
        res_growth = big["resources"] / mid["resources"]
        for label, key in (("render", "render_s"), ("floor", "floor_s")):
            growth = big[key] / mid[key]
            print(f"\n{label} growth {names[-2]} -> {names[-1]}: time x{growth:.2f} for resources x{res_growth:.2f} "
                  f"(time growth / resource growth = {growth / res_growth:.2f}; <= 1.0 is linear or better)", end="")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
