"""Whether a MIG layout can be created on one GPU: an exact search over the hardware's placement table.

A GPU instance occupies a run of the GPU's memory slices that starts at one of its profile's allowed start
indexes (`_gpu_data.MIG_PLACEMENTS`); two instances may not share a slice. A layout (profile -> count) is
valid only when every instance gets a place. The search is exhaustive (at most 7 instances on 8 slices).
"""

from __future__ import annotations

from dataclasses import dataclass

from mlinfra.catalog import GpuModel, _gpu_data


@dataclass(frozen=True)
class Placement:
    """One GPU instance placed on the memory slices `start`..`start + size - 1`."""

    profile: str
    start: int
    size: int


def allowed_starts(gpu: GpuModel, profile: str) -> tuple[int, ...]:
    """Start indexes (memory slices) where `profile` may be created on `gpu`; () when the table has no row.

    KeyError when `gpu` does not offer `profile`.
    """
    p = gpu.mig_profiles[profile]
    return _gpu_data.MIG_PLACEMENTS.get(gpu.memory_slices, {}).get((p.compute_slices, p.memory_slices), ())


def memory_slices_needed(gpu: GpuModel, profiles: dict[str, int]) -> int:
    """Memory slices the layout occupies in total (profiles `gpu` does not offer count as 0)."""
    return sum(gpu.mig_profiles[n].memory_slices * c for n, c in profiles.items() if n in gpu.mig_profiles)


def place(gpu: GpuModel, profiles: dict[str, int]) -> list[Placement] | None:
    """A non-overlapping placement of every instance of `profiles` on one `gpu`, or None when none exists.

    `profiles` maps profile names of `gpu` to counts (>= 0). Raises KeyError for a profile `gpu` does not offer.
    Instances with the fewest allowed starts are placed first; the search backtracks over every start, so
    None means no placement exists.
    """
    instances = [name for name, count in profiles.items() for _ in range(max(count, 0))]
    instances.sort(key=lambda n: (len(allowed_starts(gpu, n)), -gpu.mig_profiles[n].memory_slices, n))
    placed: list[Placement] = []

    def search(i: int, used: int) -> bool:
        if i == len(instances):
            return True
        name = instances[i]
        size = gpu.mig_profiles[name].memory_slices
        # Instances of one profile are interchangeable: place each at or after the previous one's start.
        floor = placed[-1].start if placed and placed[-1].profile == name else -1
        for start in allowed_starts(gpu, name):
            mask = ((1 << size) - 1) << start
            if start > floor and not used & mask and start + size <= gpu.memory_slices:
                placed.append(Placement(name, start, size))
                if search(i + 1, used | mask):
                    return True
                placed.pop()
        return False

    return sorted(placed, key=lambda p: p.start) if search(0, 0) else None
