"""MIG layouts are checked the way the hardware places GPU instances: memory slices and placement start indexes."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mlinfra import catalog
from mlinfra.catalog import _gpu_data
from mlinfra.catalog.mig_placement import allowed_starts, memory_slices_needed, place
from mlinfra.checks.pools import check_mig_layout

MIG_GPUS = [g for g in catalog.GPU_MODELS.values() if g.mig_capable]


def problems(gpu: str, layout: dict[str, int]) -> list[str]:
    return [p.message for p in check_mig_layout(catalog.GPU_MODELS[gpu], layout, "clusters[0].pools[0].mig.profiles")]


# The placement rows as the NVIDIA MIG User Guide prints `nvidia-smi mig -lgipp` for an A100-40GB ("Getting
# Started with MIG"): profile -> ({start indexes}, size in memory slices). Same output quoted for an H100-80GB in
# GoogleCloudDataproc/initialization-actions gpu/install_gpu_driver.sh (profile IDs 19, 20, 15, 14, 9, 5, 0).
LGIPP_A100_40GB = {
    "1g.5gb": ((0, 1, 2, 3, 4, 5, 6), 1),     # profile ID 19
    "1g.5gb+me": ((0, 1, 2, 3, 4, 5, 6), 1),  # 20
    "1g.10gb": ((0, 2, 4, 6), 2),             # 15
    "2g.10gb": ((0, 2, 4), 2),                # 14
    "3g.20gb": ((0, 4), 4),                   # 9
    "4g.20gb": ((0,), 4),                     # 5
    "7g.40gb": ((0,), 8),                     # 0
}
LGIPP_H100_80GB = dict(zip(["1g.10gb", "1g.10gb+me", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"],
                           LGIPP_A100_40GB.values(), strict=True))


@pytest.mark.parametrize(("gpu", "table"), [("A100-40GB", LGIPP_A100_40GB), ("H100-80GB", LGIPP_H100_80GB)])
def test_placements_are_the_lgipp_table(gpu: str, table: dict[str, tuple[tuple[int, ...], int]]) -> None:
    model = catalog.GPU_MODELS[gpu]
    assert model.memory_slices == 8
    assert {p: (allowed_starts(model, p), model.mig_profiles[p].memory_slices) for p in model.mig_profiles} == table


@pytest.mark.parametrize("gpu", MIG_GPUS, ids=lambda g: g.name)
def test_every_profile_has_memory_slices_and_placements(gpu: catalog.GpuModel) -> None:
    whole = max(p.memory_gb for p in gpu.mig_profiles.values())
    for p in gpu.mig_profiles.values():
        exact = p.memory_gb * gpu.memory_slices / whole
        # Profile names round memory (3g.71gb of 141 GB), but never by a tenth of a slice.
        assert abs(exact - p.memory_slices) < 0.1, (p.name, exact)
        assert allowed_starts(gpu, p.name), p.name
        # A profile alone fits as many times as the fact table's max_count, and not once more.
        assert place(gpu, {p.name: p.max_count}) is not None, p.name
        if not p.media_extensions:
            assert place(gpu, {p.name: p.max_count + 1}) is None, p.name


REFUSED = [
    # (gpu, layout, words in the message)
    ("A100-40GB", {"1g.10gb": 4, "1g.5gb": 3}, "needs 11 of the 8 memory slices"),
    ("H100-80GB", {"3g.40gb": 2, "1g.10gb": 1}, "needs 9 of the 8 memory slices"),
    ("A100-80GB", {"1g.20gb": 4, "1g.10gb": 1}, "needs 9 of the 8 memory slices"),
    ("H200-141GB", {"3g.71gb": 1, "1g.35gb": 2, "1g.18gb": 1}, "needs 9 of the 8 memory slices"),
    ("B200-180GB", {"4g.90gb": 1, "1g.45gb": 2, "1g.23gb": 1}, "needs 9 of the 8 memory slices"),
    ("H100-94GB", {"2g.24gb": 3, "1g.24gb": 1, "1g.12gb": 0}, "must be >= 1"),
    ("GH200-144GB", {"4g.72gb": 1, "1g.36gb": 2, "1g.18gb": 1}, "needs 9 of the 8 memory slices"),
    ("A30-24GB", {"2g.12gb": 1, "1g.6gb": 3}, "compute slices"),
    ("RTX-PRO-6000-96GB", {"2g.48gb": 2, "1g.24gb": 1}, "compute slices"),
    ("A100-40GB", {"4g.20gb": 1, "2g.10gb": 2}, "compute slices"),
    ("A100-40GB", {"7g.40gb": 1, "1g.5gb": 1}, "compute slices"),
    ("A100-40GB", {"1g.5gb": 8}, "at most 7"),
    ("A100-40GB", {"1g.5gb+me": 2}, "at most 1"),
    ("A100-40GB", {"1g.6gb": 1}, "does not offer"),
    ("GB200-186GB", {"1g.47gb": 4, "2g.47gb": 1}, "needs 10 of the 8 memory slices"),
]


@pytest.mark.parametrize(("gpu", "layout", "words"), REFUSED)
def test_layouts_that_do_not_fit_are_refused(gpu: str, layout: dict[str, int], words: str) -> None:
    found = problems(gpu, layout)
    assert found and any(words in m for m in found), found


ACCEPTED = [
    ("A100-40GB", {"3g.20gb": 1, "1g.5gb": 4}),   # 3g at slices 4-7, the 1g instances at 0-3
    ("A100-40GB", {"1g.10gb": 3, "1g.5gb": 2}),   # needs the free 2-slice run at 0-1, not 6-7
    ("A100-40GB", {"1g.10gb": 1, "1g.5gb": 6}),   # only 1g.10gb at 6-7 leaves six single slices
    ("A100-40GB", {"3g.20gb": 1, "2g.10gb": 1, "1g.5gb": 2}),
    ("A100-40GB", {"4g.20gb": 1, "3g.20gb": 1}),
    ("H100-80GB", {"3g.40gb": 1, "2g.20gb": 1, "1g.10gb": 2}),
    ("H100-80GB", {"1g.20gb": 2, "1g.10gb": 3}),
    ("H200-141GB", {"3g.71gb": 2}),
    ("A30-24GB", {"2g.12gb": 1, "1g.6gb": 2}),
    ("RTX-PRO-6000-96GB", {"2g.48gb": 1, "1g.24gb": 2}),
]


@pytest.mark.parametrize(("gpu", "layout"), ACCEPTED)
def test_layouts_the_hardware_can_place_are_accepted(gpu: str, layout: dict[str, int]) -> None:
    assert problems(gpu, layout) == []
    placement = place(catalog.GPU_MODELS[gpu], layout)
    assert placement is not None and len(placement) == sum(layout.values())


def test_a_fitting_sum_is_not_enough() -> None:
    # 1g.10gb may start only at 0, 2, 4 or 6 and 1g.5gb never at 7. The layout fills all 8 slices, so slice 7
    # must go to a 1g.10gb at 6: the first arrangement a greedy placement tries (0, 2, 4) leaves 6-7 to the
    # 1g.5gb instances and fails; the search must go on to one that works.
    gpu = catalog.GPU_MODELS["A100-40GB"]
    layout = {"1g.10gb": 3, "1g.5gb": 2}
    placement = place(gpu, layout)
    assert placement is not None
    assert ("1g.10gb", 6) in [(p.profile, p.start) for p in placement]
    assert not _brute_force(gpu, {"1g.5gb": 2}, blocked=0b00111111)


def _mig_parted_layouts(upstream: Path) -> list[tuple[str, str, dict[str, int]]]:
    """(config name, catalog GPU, layout) for every MIG layout of mig-parted's config-default.yaml that names a
    GPU of the catalog, by device filter, or (no filter) that uses only profiles the GPU offers."""
    doc = yaml.safe_load((upstream / "mig-parted/v0.15.0/config-default.yaml").read_text())
    by_pci = {pci.lower(): g for g in MIG_GPUS for pci in g.pci_device_ids}
    out = []
    for config, entries in doc["mig-configs"].items():
        for entry in entries:
            layout = entry.get("mig-devices") or {}
            if not entry.get("mig-enabled") or not layout:
                continue
            filters = entry.get("device-filter")
            filters = [filters] if isinstance(filters, str) else filters
            names = ({by_pci[f.lower()].name for f in filters if f.lower() in by_pci} if filters
                     else {g.name for g in MIG_GPUS if set(layout) <= set(g.mig_profiles)})
            out += [(config, name, dict(layout)) for name in sorted(names)]
    return out


def test_every_layout_mig_parted_ships_is_accepted(upstream: Path) -> None:
    layouts = _mig_parted_layouts(upstream)
    # Each all-<profile> config of each catalog GPU plus the balanced ones: well over a hundred layouts.
    assert len(layouts) > 100
    refused = [(c, g, lay, problems(g, lay)) for c, g, lay in layouts if problems(g, lay)]
    assert refused == []


# Exhaustive cross-check of the search on small layouts: a layout is placeable exactly when some assignment of
# allowed starts to its instances leaves no slice shared.
def _brute_force(gpu: catalog.GpuModel, layout: dict[str, int], blocked: int = 0) -> bool:
    instances = [n for n, c in layout.items() for _ in range(c)]
    choices = [allowed_starts(gpu, n) for n in instances]
    for starts in itertools.product(*choices):
        used = blocked
        for name, start in zip(instances, starts, strict=True):
            mask = ((1 << gpu.mig_profiles[name].memory_slices) - 1) << start
            if used & mask or start + gpu.mig_profiles[name].memory_slices > gpu.memory_slices:
                break
            used |= mask
        else:
            return True
    return False


@st.composite
def small_layouts(draw: st.DrawFn) -> tuple[catalog.GpuModel, dict[str, int]]:
    gpu = draw(st.sampled_from(MIG_GPUS))
    names = draw(st.lists(st.sampled_from(sorted(gpu.mig_profiles)), min_size=1, max_size=3, unique=True))
    counts = draw(st.lists(st.integers(1, 3), min_size=len(names), max_size=len(names)))
    return gpu, dict(zip(names, counts, strict=True))


@settings(max_examples=300, deadline=None)
@given(small_layouts())
def test_search_agrees_with_brute_force(case: tuple[catalog.GpuModel, dict[str, int]]) -> None:
    gpu, layout = case
    placement = place(gpu, layout)
    assert (placement is not None) == _brute_force(gpu, layout)
    if placement is not None:
        used = 0
        for p in placement:
            assert p.start in allowed_starts(gpu, p.profile)
            mask = ((1 << p.size) - 1) << p.start
            assert not used & mask and p.start + p.size <= gpu.memory_slices
            used |= mask
        assert memory_slices_needed(gpu, layout) <= gpu.memory_slices


@settings(max_examples=300, deadline=None)
@given(small_layouts())
def test_check_accepts_exactly_the_placeable_layouts(case: tuple[catalog.GpuModel, dict[str, int]]) -> None:
    gpu, layout = case
    found = list(check_mig_layout(gpu, layout, "p"))
    counts_ok = all(c <= gpu.mig_profiles[n].max_count for n, c in layout.items())
    assert (not found) == (counts_ok and sum(layout.values()) <= gpu.max_mig_instances
                           and place(gpu, layout) is not None)


def test_placement_table_has_a_row_per_geometry() -> None:
    for gpu in MIG_GPUS:
        assert gpu.memory_slices in _gpu_data.MIG_PLACEMENTS
