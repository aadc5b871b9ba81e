"""`mlinfra catalog`: list GPU models, MIG profiles, AWS instance types, GCP machine types and regions."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from mlinfra import catalog
from mlinfra.problems import InputError, Problem


def _print_table(headers: list[str], rows: Sequence[Sequence[object]]) -> None:
    widths = [max(len(str(x)) for x in [h, *(r[i] for r in rows)]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _emit(output: str, table: str, headers: list[str], rows: Sequence[Sequence[object]]) -> None:
    """Print rows as an aligned table, or as JSON (`{"table", "rows": [{header: value}]}`) for `--output json`."""
    if output == "json":
        keys = [h.lower().replace(" ", "_").replace("/", "_per_").replace("-", "_") for h in headers]
        data = {"table": table, "rows": [dict(zip(keys, row, strict=True)) for row in rows]}
        print(json.dumps(data, indent=1))
        return
    _print_table(headers, rows)
    print(f"\n{len(rows)} rows")


def main(argv: list[str] | None = None) -> int:
    """CLI entry: `mlinfra catalog [gpus|mig|aws|gcp|regions] [--gpu MODEL] [--mig-capable] [--min-gpus N]
    [--cloud aws|gcp] [--output text|json]`. Exit 0, or 2 for an unknown GPU model (listed with the closest)."""
    parser = argparse.ArgumentParser(prog="mlinfra catalog", description=__doc__.splitlines()[0])
    parser.add_argument("table", nargs="?", default="gpus", choices=["gpus", "mig", "aws", "gcp", "regions"])
    parser.add_argument("--gpu", help="only rows for this GPU model (case-insensitive)")
    parser.add_argument("--mig-capable", action="store_true", help="only MIG-capable GPUs")
    parser.add_argument("--min-gpus", type=int, default=0, help="only types with at least N GPUs")
    parser.add_argument("--cloud", choices=["aws", "gcp"], help="regions: only this cloud's")
    parser.add_argument("--output", choices=["text", "json"], default="text", help="output format (default: text)")
    args = parser.parse_args(argv)

    gpu = None
    if args.gpu:
        gpu = catalog.find_gpu(args.gpu)
        if gpu is None:
            from mlinfra.checks.pools import unknown_gpu_message

            raise InputError([Problem("--gpu", args.gpu, unknown_gpu_message(args.gpu))], "the command line",
                             usage=True)

    def keep(model: str | None) -> bool:
        if model is None:
            return False
        if gpu is not None and model != gpu.name:
            return False
        return not args.mig_capable or catalog.GPU_MODELS[model].mig_capable

    rows: list[list[object]]
    if args.table == "regions":
        from mlinfra.catalog import regions

        rows = [[cloud, name] for cloud, names in regions.REGIONS.items() if args.cloud in (None, cloud)
                for name in names]
        _emit(args.output, args.table, ["cloud", "region"], rows)
    elif args.table == "gpus":
        rows = [[g.name, g.memory_gb, "yes" if g.mig_capable else "no", g.max_mig_instances or "-",
                 ", ".join(g.mig_profiles) or "-"] for g in catalog.GPU_MODELS.values() if keep(g.name)]
        _emit(args.output, args.table, ["gpu", "memory GB", "MIG", "max instances", "MIG profiles"], rows)
    elif args.table == "mig":
        rows = [[g.name, p.name, p.compute_slices, p.memory_slices, p.memory_gb, p.max_count, p.resource_name]
                for g in catalog.GPU_MODELS.values() if keep(g.name) for p in g.mig_profiles.values()]
        _emit(args.output, args.table, ["gpu", "profile", "slices", "memory slices", "memory GB", "max/GPU",
                                        "mixed-strategy resource"], rows)
    elif args.table == "aws":
        rows = [[t.name, t.gpu_model, t.gpu_count, t.gpu_memory_mib, t.vcpu, t.memory_mib, t.arch,
                 t.karpenter_gpu_name] for t in catalog.AWS_INSTANCE_TYPES.values()
                if keep(t.gpu_model) and t.gpu_count >= max(args.min_gpus, 1)]
        _emit(args.output, args.table, ["instance type", "gpu", "GPUs", "GPU MiB", "vCPU", "memory MiB", "arch",
                                        "karpenter gpu name"], rows)
    else:
        rows = []
        for m in catalog.gcp_machine_offers():
            acc = catalog.GCP_ACCELERATOR_TYPES[m.accelerator_type]
            if keep(acc.gpu_model) and m.gpu_count >= args.min_gpus:
                parts = ", ".join(f"{p}:{n}" for p, n in acc.gke_partition_sizes.items()) or "-"
                rows.append([m.name, m.accelerator_type, acc.gpu_model, m.gpu_count, m.vcpu, m.memory_gb, parts])
        _emit(args.output, args.table, ["machine type", "accelerator", "gpu", "GPUs", "vCPU", "memory GB",
                                        "GKE partitions"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
