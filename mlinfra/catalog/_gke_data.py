"""GKE and Compute Engine facts the GCP checks need: versions, boot disks, provisioning models, zones, N1 GPUs.

Each table names its source. Reference tests (tests/reference/test_gke_*.py) pin the rows that the stacks and
the checks depend on, with the same sources.
"""

# GKE minor versions and their end of life (GKE release schedule,
# https://cloud.google.com/kubernetes-engine/docs/release-schedule, as published by endoflife.date's
# google-kubernetes-engine API; 1.33's end of life as the GKE release schedule gives it, 2026-08-03).
# After end of life a version can no longer be used to create a cluster.
GKE_VERSIONS: tuple[tuple[str, str], ...] = (
    ("1.33", "2026-08-03"),
    ("1.34", "2026-10-01"),
    ("1.35", "2027-04-11"),
)

# Boot disk types per machine series, and the default mlinfra picks. Sources:
# - Compute Engine API reference, AttachedDiskInitializeParams.diskType: A3 and newer series default to
#   hyperdisk-balanced; first and second generation series (N1, A2) to pd-standard.
# - Vertex AI DiskSpec.bootDiskType: "for A3U machines, the default value is hyperdisk-balanced".
# - skypilot-org/skypilot#5351: A3 series take hyperdisk-balanced and not pd-standard; hyperdisk-balanced is
#   the only Hyperdisk type that can be a boot disk.
# - NVIDIA/aicr#2338 (quoted by issue 18): a4x refuses pd-balanced.
# A3 Ultra, A4, A4X and G4 machines boot from Hyperdisk only; the others keep pd-balanced, the cheaper SSD.
# series prefix, allowed boot disk types, default.
BOOT_DISKS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("n1-", ("pd-standard", "pd-balanced", "pd-ssd"), "pd-balanced"),
    ("a2-", ("pd-standard", "pd-balanced", "pd-ssd"), "pd-balanced"),
    ("g2-", ("pd-balanced", "pd-ssd"), "pd-balanced"),
    ("a3-ultragpu-", ("hyperdisk-balanced",), "hyperdisk-balanced"),
    ("a3-", ("pd-balanced", "pd-ssd", "hyperdisk-balanced"), "pd-balanced"),
    ("a4x-", ("hyperdisk-balanced",), "hyperdisk-balanced"),
    ("a4-", ("hyperdisk-balanced",), "hyperdisk-balanced"),
    ("g4-", ("hyperdisk-balanced",), "hyperdisk-balanced"),
)

# Machine types Compute Engine does not offer on demand, with the provisioning models it does offer.
# - a3-highgpu-1g/2g/4g: Spot or Flex-start only (Compute Engine accelerator-optimized machines, "consumption
#   option availability by machine type"; dstackai/gpuhunt#176 drops their on-demand offers for that reason).
# - a4-highgpu-8g: no on-demand VMs (dstackai/dstack#3100, citing the same table); Spot or Flex-start.
# Every other catalog machine type is offered on demand and as Spot.
NOT_ON_DEMAND: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("a3-highgpu-1g", ("spot", "flex-start")),
    ("a3-highgpu-2g", ("spot", "flex-start")),
    ("a3-highgpu-4g", ("spot", "flex-start")),
    ("a4-highgpu-8g", ("spot", "flex-start")),
)

# Zones per region where a machine series exists (Compute Engine machineTypes.list per zone, as recorded by
# skypilot-org/skypilot-catalog catalogs/v8/gcp/vms.csv; the GPU regions-and-zones page of the Compute Engine
# docs lists the same accelerators). Every size of a series has the same zones there.
# series prefix -> ((region, (zone suffixes...)), ...)
ZONES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("a2-highgpu-", (
        ("asia-northeast1", "ac"), ("asia-northeast3", "ab"), ("asia-southeast1", "abc"), ("europe-west4", "ab"),
        ("me-west1", "ac"), ("us-central1", "abcf"), ("us-east1", "b"), ("us-west1", "b"), ("us-west3", "b"),
        ("us-west4", "b"),
    )),
    ("a2-megagpu-", (("asia-southeast1", "ac"), ("europe-west4", "ab"), ("us-central1", "abcf"))),
    ("a2-ultragpu-", (
        ("asia-southeast1", "c"), ("europe-west4", "a"), ("us-central1", "ac"), ("us-east4", "c"),
        ("us-east5", "ab"),
    )),
    ("a3-highgpu-", (
        ("asia-east1", "c"), ("asia-northeast1", "b"), ("asia-south1", "c"), ("asia-south2", "b"),
        ("asia-southeast1", "bc"), ("australia-southeast1", "c"), ("europe-north1", "c"), ("europe-west1", "bc"),
        ("europe-west3", "c"), ("europe-west4", "bc"), ("europe-west8", "c"), ("europe-west9", "c"),
        ("us-central1", "abc"), ("us-east4", "abc"), ("us-east5", "a"), ("us-west1", "ab"), ("us-west4", "a"),
    )),
    ("a3-edgegpu-", (
        ("asia-northeast1", "b"), ("asia-northeast3", "ac"), ("asia-south1", "c"), ("asia-southeast1", "bc"),
        ("europe-west2", "b"), ("europe-west3", "ac"), ("europe-west4", "bc"), ("europe-west9", "c"),
        ("northamerica-northeast2", "c"), ("us-central1", "abc"), ("us-east4", "abc"), ("us-east5", "a"),
        ("us-west1", "ab"), ("us-west4", "a"),
    )),
    ("a3-megagpu-", (
        ("asia-east1", "c"), ("asia-northeast1", "b"), ("asia-southeast1", "bc"), ("australia-southeast1", "c"),
        ("europe-north1", "c"), ("europe-west1", "bc"), ("europe-west3", "c"), ("europe-west4", "bc"),
        ("us-central1", "abc"), ("us-east4", "abc"), ("us-east5", "a"), ("us-west1", "ab"), ("us-west4", "a"),
    )),
    ("a3-ultragpu-", (
        ("asia-south1", "b"), ("asia-south2", "c"), ("europe-west1", "b"), ("europe-west4", "a"),
        ("us-central1", "b"), ("us-east4", "b"), ("us-east5", "a"), ("us-south1", "b"), ("us-west1", "c"),
    )),
    ("a4-highgpu-", (
        ("asia-northeast1", "b"), ("asia-southeast1", "b"), ("europe-north1", "b"), ("europe-west4", "b"),
        ("us-central1", "b"), ("us-east1", "b"), ("us-east4", "b"), ("us-south1", "b"), ("us-west2", "c"),
        ("us-west3", "bc"),
    )),
)

# N1 machine types GPUs attach to (name, vCPU, memory GB). N1 standard has 3.75 GB per vCPU and N1 highmem
# 6.5 GB (Compute Engine general-purpose machines, N1). Sizes under 4 vCPU are left out: a GPU node needs room
# for its system pods beside the workload.
N1_MACHINE_ROWS: tuple[tuple[str, int, int], ...] = (
    ("n1-standard-4", 4, 15),
    ("n1-standard-8", 8, 30),
    ("n1-standard-16", 16, 60),
    ("n1-standard-32", 32, 120),
    ("n1-standard-64", 64, 240),
    ("n1-standard-96", 96, 360),
    ("n1-highmem-4", 4, 26),
    ("n1-highmem-8", 8, 52),
    ("n1-highmem-16", 16, 104),
    ("n1-highmem-32", 32, 208),
    ("n1-highmem-64", 64, 416),
    ("n1-highmem-96", 96, 624),
)

# GPUs attachable to an N1 machine: accelerator, count, most vCPU, most memory GB of the machine (Compute
# Engine GPU machine types, "N1 general-purpose machine types"; transcribed in dstackai/gpuhunt
# src/gpuhunt/providers/gcp.py `accelerator_limits`).
N1_GPU_LIMITS: tuple[tuple[str, int, int, int], ...] = (
    ("nvidia-tesla-t4", 1, 48, 312),
    ("nvidia-tesla-t4", 2, 48, 312),
    ("nvidia-tesla-t4", 4, 96, 624),
    ("nvidia-tesla-v100", 1, 12, 78),
    ("nvidia-tesla-v100", 2, 24, 156),
    ("nvidia-tesla-v100", 4, 48, 312),
    ("nvidia-tesla-v100", 8, 96, 624),
    ("nvidia-tesla-p100", 1, 16, 104),
    ("nvidia-tesla-p100", 2, 32, 208),
    ("nvidia-tesla-p100", 4, 96, 624),
    ("nvidia-tesla-p4", 1, 24, 156),
    ("nvidia-tesla-p4", 2, 48, 312),
    ("nvidia-tesla-p4", 4, 96, 624),
)
