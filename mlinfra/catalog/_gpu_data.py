"""GPU models and their MIG profiles (facts from the NVIDIA MIG user guide and mig-parted v0.15.0)."""

# One row per MIG-capable GPU: catalog name, memory (GB), max GPU instances, PCI device IDs,
# then its profiles as (profile, compute slices, memory GB, max count per GPU).
MIG_GPUS: tuple[tuple[str, int, int, tuple[str, ...], tuple[tuple[str, int, int, int], ...]], ...] = (
    (
        'A30-24GB', 24, 4, ('0x20B710DE',),
        (
            ('1g.6gb', 1, 6, 4),
            ('1g.6gb+me', 1, 6, 1),
            ('2g.12gb', 2, 12, 2),
            ('2g.12gb+me', 2, 12, 1),
            ('4g.24gb', 4, 24, 1),
        ),
    ),
    (
        'A100-40GB', 40, 7, ('0x20B010DE', '0x20B110DE', '0x20F110DE', '0x20F610DE'),
        (
            ('1g.5gb', 1, 5, 7),
            ('1g.5gb+me', 1, 5, 1),
            ('1g.10gb', 1, 10, 4),
            ('2g.10gb', 2, 10, 3),
            ('3g.20gb', 3, 20, 2),
            ('4g.20gb', 4, 20, 1),
            ('7g.40gb', 7, 40, 1),
        ),
    ),
    (
        'A100-80GB', 80, 7, ('0x20B210DE', '0x20B510DE', '0x20F310DE', '0x20F510DE'),
        (
            ('1g.10gb', 1, 10, 7),
            ('1g.10gb+me', 1, 10, 1),
            ('1g.20gb', 1, 20, 4),
            ('2g.20gb', 2, 20, 3),
            ('3g.40gb', 3, 40, 2),
            ('4g.40gb', 4, 40, 1),
            ('7g.80gb', 7, 80, 1),
        ),
    ),
    (
        'H100-80GB', 80, 7, ('0x233010DE', '0x233110DE', '0x232210DE', '0x232410DE'),
        (
            ('1g.10gb', 1, 10, 7),
            ('1g.10gb+me', 1, 10, 1),
            ('1g.20gb', 1, 20, 4),
            ('2g.20gb', 2, 20, 3),
            ('3g.40gb', 3, 40, 2),
            ('4g.40gb', 4, 40, 1),
            ('7g.80gb', 7, 80, 1),
        ),
    ),
    (
        'H100-94GB', 94, 7, ('0x232110DE', '0x233A10DE'),
        (
            ('1g.12gb', 1, 12, 7),
            ('1g.12gb+me', 1, 12, 1),
            ('1g.24gb', 1, 24, 4),
            ('2g.24gb', 2, 24, 3),
            ('3g.47gb', 3, 47, 2),
            ('4g.47gb', 4, 47, 1),
            ('7g.94gb', 7, 94, 1),
        ),
    ),
    (
        'H100-96GB', 96, 7, ('0x234210DE', '0x233D10DE', '0x20B610DE', '0x232910DE'),
        (
            ('1g.12gb', 1, 12, 7),
            ('1g.12gb+me', 1, 12, 1),
            ('1g.24gb', 1, 24, 4),
            ('2g.24gb', 2, 24, 3),
            ('3g.48gb', 3, 48, 2),
            ('4g.48gb', 4, 48, 1),
            ('7g.96gb', 7, 96, 1),
        ),
    ),
    (
        'GH200-144GB', 144, 7, ('0x234810DE',),
        (
            ('1g.18gb', 1, 18, 7),
            ('1g.18gb+me', 1, 18, 1),
            ('1g.36gb', 1, 36, 4),
            ('2g.36gb', 2, 36, 3),
            ('3g.72gb', 3, 72, 2),
            ('4g.72gb', 4, 72, 1),
            ('7g.144gb', 7, 144, 1),
        ),
    ),
    (
        'H200-141GB', 141, 7, ('0x233510DE', '0x233B10DE'),
        (
            ('1g.18gb', 1, 18, 7),
            ('1g.18gb+me', 1, 18, 1),
            ('1g.35gb', 1, 35, 4),
            ('2g.35gb', 2, 35, 3),
            ('3g.71gb', 3, 71, 2),
            ('4g.71gb', 4, 71, 1),
            ('7g.141gb', 7, 141, 1),
        ),
    ),
    (
        'B200-180GB', 180, 7, ('0x290110DE',),
        (
            ('1g.23gb', 1, 23, 7),
            ('1g.23gb+me', 1, 23, 1),
            ('1g.45gb', 1, 45, 4),
            ('2g.45gb', 2, 45, 3),
            ('3g.90gb', 3, 90, 2),
            ('4g.90gb', 4, 90, 1),
            ('7g.180gb', 7, 180, 1),
        ),
    ),
    (
        'GB200-186GB', 186, 7, ('0x294110DE',),
        (
            ('1g.23gb', 1, 23, 7),
            ('1g.23gb+me', 1, 23, 1),
            ('1g.47gb', 1, 47, 4),
            ('2g.47gb', 2, 47, 3),
            ('3g.93gb', 3, 93, 2),
            ('4g.93gb', 4, 93, 1),
            ('7g.186gb', 7, 186, 1),
        ),
    ),
    (
        'B300-269GB', 269, 7, ('0x318210DE',),
        (
            ('1g.34gb', 1, 34, 7),
            ('1g.34gb+me', 1, 34, 1),
            ('1g.67gb', 1, 67, 4),
            ('2g.67gb', 2, 67, 3),
            ('3g.135gb', 3, 135, 2),
            ('4g.135gb', 4, 135, 1),
            ('7g.269gb', 7, 269, 1),
        ),
    ),
    (
        'GB300-278GB', 278, 7, ('0x31C210DE',),
        (
            ('1g.35gb', 1, 35, 7),
            ('1g.35gb+me', 1, 35, 1),
            ('1g.70gb', 1, 70, 4),
            ('2g.70gb', 2, 70, 3),
            ('3g.139gb', 3, 139, 2),
            ('4g.139gb', 4, 139, 1),
            ('7g.278gb', 7, 278, 1),
        ),
    ),
    (
        'RTX-PRO-6000-96GB', 96, 4, ('0x2BB510DE',),
        (
            ('1g.24gb', 1, 24, 4),
            ('1g.24gb+me', 1, 24, 1),
            ('1g.24gb+gfx', 1, 24, 4),
            ('1g.24gb+me.all', 1, 24, 1),
            ('1g.24gb-me', 1, 24, 4),
            ('2g.48gb', 2, 48, 2),
            ('2g.48gb+gfx', 2, 48, 2),
            ('2g.48gb+me.all', 2, 48, 1),
            ('2g.48gb-me', 2, 48, 2),
            ('4g.96gb', 4, 96, 1),
            ('4g.96gb+gfx', 4, 96, 1),
        ),
    ),
)

# GPUs without MIG that the cloud catalogs offer: catalog name, memory (GB).
PLAIN_GPUS: tuple[tuple[str, int], ...] = (
    ('A10G-24GB', 24),
    ('L4-24GB', 24),
    ('L40S-48GB', 48),
    ('T4-16GB', 16),
    ('T4G-16GB', 16),
    ('V100-16GB', 16),
    ('V100-32GB', 32),
    ('P100-16GB', 16),
    ('P4-8GB', 8),
)

# Memory slices of a MIG-capable GPU, by its compute slices. A100/H100/H200/B200-class GPUs have 7 compute and
# 8 memory slices; A30 and RTX PRO 6000 have 4 of each (NVIDIA MIG User Guide, "Supported MIG Profiles": the
# "Fraction of Memory" column is 1/8 for A100 1g.5gb and 1/4 for A30 1g.6gb). A profile's memory slices follow
# from its memory: 1g.10gb on an A100-40GB is 10/40 of 8 = 2 slices.
MIG_MEMORY_SLICES: dict[int, int] = {7: 8, 4: 4}

# Where a GPU instance may be placed: for a GPU with N memory slices, the allowed start indexes of a profile with
# (compute slices, memory slices); an instance at start s occupies memory slices s..s+size-1, and a new instance
# cannot be created over an occupied slice (NVML nvmlDeviceGetGpuInstancePossiblePlacements_v2,
# https://docs.nvidia.com/deploy/nvml-api/ ). The 8-slice rows are `nvidia-smi mig -lgipp` as printed in the NVIDIA
# MIG User Guide ("Getting Started with MIG", A100-40GB: {0..6}:1, {0,2,4,6}:2 for 1g.10gb, {0,2,4}:2, {0,4}:4,
# {0}:4, {0}:8), the same on H100-80GB (GoogleCloudDataproc initialization-actions, gpu/install_gpu_driver.sh)
# and H100 NVL. The 4-slice rows (A30, RTX PRO 6000) apply the same rule (start aligned to the instance's memory
# size, compute window inside the GPU); no printed table for them was found.
MIG_PLACEMENTS: dict[int, dict[tuple[int, int], tuple[int, ...]]] = {
    8: {
        (1, 1): (0, 1, 2, 3, 4, 5, 6),
        (1, 2): (0, 2, 4, 6),
        (2, 2): (0, 2, 4),
        (3, 4): (0, 4),
        (4, 4): (0,),
        (7, 8): (0,),
    },
    4: {
        (1, 1): (0, 1, 2, 3),
        (2, 2): (0, 2),
        (4, 4): (0,),
    },
}
