"""Start-up cost of the `mlinfra` command and of the imports behind it.

Each case runs in a fresh interpreter (subprocess wall time, median of N runs), then once more under
`python -X importtime` to list what it imports: the heaviest modules by cumulative import time, and the
import time per top-level package. `import pulumi` is measured as the yardstick: the most `mlinfra --help` and
`mlinfra catalog` may pay.

    .venv/bin/python benchmarks/bench_startup.py [--runs 15] [--top 8]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GCP_SPEC = (
    "{'environment': 'dev', 'clusters': [{'name': 'gke', 'cloud': 'gcp', 'region': 'us-central1', "
    "'project': 'p', 'pools': [{'name': 'l4', 'gpu': 'L4-24GB', 'gpus_per_node': 1, 'max_nodes': 2}]}], "
    "'scheduling': {'teams': [{'name': 'research', 'cluster': 'gke'}]}}"
)

# name -> python code run with `python -c`; the CLI cases go through the same entry point as the console script.
CASES: dict[str, str] = {
    "python (empty interpreter)": "pass",
    "import pulumi (yardstick)": "import pulumi",
    "import mlinfra": "import mlinfra",
    "mlinfra --help": "import sys; from mlinfra.cli import main; sys.argv = ['mlinfra', '--help']; main()",
    "mlinfra catalog": "import sys; from mlinfra.cli import main; sys.argv = ['mlinfra', 'catalog']; main()",
    "load_environment (GKE-only spec)": f"from mlinfra.spec import load_environment; load_environment({GCP_SPEC})",
    "import mlinfra.platform": "import mlinfra.platform",
    "render imports (GKE-only spec)": (
        "from mlinfra.offline.render import render_environment; render_environment(" + GCP_SPEC + ")"
    ),
}


def _run(code: str, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, *flags, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env=env, check=True)


def wall_times(code: str, runs: int) -> list[float]:
    """Wall time of `runs` fresh interpreters running `code`."""
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        _run(code)
        out.append(time.perf_counter() - start)
    return out


_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def import_profile(code: str) -> tuple[list[tuple[int, str]], dict[str, int], set[str]]:
    """From `-X importtime`: (cumulative us, module) of top-level imports, self us per package, packages."""
    stderr = _run(code, "-X", "importtime").stderr
    roots: list[tuple[int, str]] = []
    per_package: dict[str, int] = defaultdict(int)
    for line in stderr.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        self_us, cumulative_us, indent, module = int(m[1]), int(m[2]), len(m[3]), m[4]
        per_package[module.split(".")[0]] += self_us
        if indent <= 1:
            roots.append((cumulative_us, module))
    roots.sort(reverse=True)
    return roots, dict(per_package), set(per_package)


CLOUD_SDKS = ("pulumi", "pulumi_aws", "pulumi_gcp", "pulumi_kubernetes", "pulumi_random", "pydantic", "yaml")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--top", type=int, default=6)
    args = parser.parse_args()
    print(f"# bench_startup: {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, median of {args.runs} fresh "
          f"interpreters (min in brackets)\n")
    print("| case | wall s, median (min) | SDKs and big libraries imported |")
    print("|---|---|---|")
    profiles = {}
    for name, code in CASES.items():
        times = wall_times(code, args.runs)
        roots, per_package, packages = import_profile(code)
        profiles[name] = (roots, per_package)
        heavy = [p for p in CLOUD_SDKS if p in packages]
        print(f"| {name} | {statistics.median(times):.3f} ({min(times):.3f}) | {', '.join(heavy) or 'none'} |")
    print("\n## -X importtime: heaviest imports per case (cumulative ms), then self time per package (ms)\n")
    for name, (roots, per_package) in profiles.items():
        if not roots:
            continue
        top = ", ".join(f"{m} {us / 1000:.0f}" for us, m in roots[: args.top])
        packages = sorted(per_package.items(), key=lambda kv: -kv[1])[: args.top]
        print(f"- {name}: {top}\n  packages: " + ", ".join(f"{p} {us / 1000:.0f}" for p, us in packages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
