"""The DCGM counters mlinfra configures dcgm-exporter with, and the Prometheus metric names they produce."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PromType = Literal["gauge", "counter", "label"]

# The ConfigMap key dcgm-exporter reads when the GPU operator points `dcgmExporter.config.name` at a ConfigMap.
CSV_KEY = "dcgm-metrics.csv"


@dataclass(frozen=True)
class Counter:
    """One DCGM field the exporter collects: its DCGM name (also the metric name), Prometheus type and help.

    `label` fields are not metrics: the exporter attaches their value as a label to every other metric.
    """

    field: str
    prom_type: PromType
    help: str
    why: str = "default"


# dcgm-exporter's default counters (the 4.5.3-4.8.2 default-counters.csv) plus what the GPU alerts and the
# utilisation dashboards need on top: ECC and retired-page counts, throttle (violation) durations and the
# exporter's own XID / clock-event window counts. Ordered by topic, as the CSV is.
DCGM_COUNTERS: tuple[Counter, ...] = (
    # Clocks
    Counter("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz)."),
    Counter("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz)."),
    # Temperature
    Counter("DCGM_FI_DEV_MEMORY_TEMP", "gauge", "Memory temperature (in C)."),
    Counter("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C)."),
    # Power
    Counter("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W)."),
    Counter("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter", "Total energy consumption since boot (in mJ)."),
    # PCIe
    Counter("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "counter", "Total number of PCIe retries."),
    # Utilisation
    Counter("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %)."),
    Counter("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %)."),
    Counter("DCGM_FI_DEV_ENC_UTIL", "gauge", "Encoder utilization (in %)."),
    Counter("DCGM_FI_DEV_DEC_UTIL", "gauge", "Decoder utilization (in %)."),
    # Errors
    Counter("DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered."),
    Counter("DCGM_EXP_XID_ERRORS_COUNT", "counter", "Count of XID errors by XID in the last window.",
            why="alerts: XID errors"),
    # Throttling: how long the clocks were held down, and why
    Counter("DCGM_FI_DEV_POWER_VIOLATION", "counter", "Throttling duration due to power constraints (in ns).",
            why="alerts: power throttling"),
    Counter("DCGM_FI_DEV_THERMAL_VIOLATION", "counter", "Throttling duration due to thermal constraints (in ns).",
            why="alerts: thermal throttling"),
    Counter("DCGM_FI_DEV_BOARD_LIMIT_VIOLATION", "counter",
            "Throttling duration due to board limit constraints (in ns).", why="alerts: board-limit throttling"),
    Counter("DCGM_FI_DEV_RELIABILITY_VIOLATION", "counter",
            "Throttling duration due to reliability constraints (in ns).", why="alerts: reliability throttling"),
    Counter("DCGM_EXP_CLOCK_EVENTS_COUNT", "counter", "Count of clock events (throttle reasons) in the last window.",
            why="alerts: throttle reasons"),
    # Memory usage
    Counter("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB)."),
    Counter("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB)."),
    Counter("DCGM_FI_DEV_FB_RESERVED", "gauge", "Framebuffer memory reserved (in MiB)."),
    # ECC
    Counter("DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", "counter", "Total number of single-bit volatile ECC errors.",
            why="alerts: ECC errors"),
    Counter("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "counter", "Total number of double-bit volatile ECC errors.",
            why="alerts: ECC errors"),
    Counter("DCGM_FI_DEV_ECC_SBE_AGG_TOTAL", "counter", "Total number of single-bit persistent ECC errors.",
            why="alerts: ECC errors"),
    Counter("DCGM_FI_DEV_ECC_DBE_AGG_TOTAL", "counter", "Total number of double-bit persistent ECC errors.",
            why="alerts: ECC errors"),
    # Retired pages (pre-Ampere GPUs retire pages; Ampere and newer remap rows)
    Counter("DCGM_FI_DEV_RETIRED_SBE", "counter", "Total number of retired pages due to single-bit errors.",
            why="alerts: retired pages"),
    Counter("DCGM_FI_DEV_RETIRED_DBE", "counter", "Total number of retired pages due to double-bit errors.",
            why="alerts: retired pages"),
    Counter("DCGM_FI_DEV_RETIRED_PENDING", "counter", "Total number of pages pending retirement.",
            why="alerts: retired pages"),
    # NVLink
    Counter("DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL", "counter",
            "Total number of NVLink bandwidth counters for all lanes."),
    # vGPU licence
    Counter("DCGM_FI_DEV_VGPU_LICENSE_STATUS", "gauge", "vGPU License status"),
    # Remapped rows
    Counter("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "counter", "Number of remapped rows for uncorrectable errors"),
    Counter("DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", "counter", "Number of remapped rows for correctable errors"),
    Counter("DCGM_FI_DEV_ROW_REMAP_FAILURE", "gauge", "Whether remapping of rows has failed"),
    # Static information, attached as labels
    Counter("DCGM_FI_DRIVER_VERSION", "label", "Driver Version"),
    # Datacenter profiling (DCP)
    Counter("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge", "Ratio of time the graphics engine is active."),
    Counter("DCGM_FI_PROF_SM_ACTIVE", "gauge", "The ratio of cycles an SM has at least 1 warp assigned.",
            why="dashboards: real utilisation (GPU_UTIL only says a kernel ran)"),
    Counter("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "gauge", "Ratio of cycles the tensor (HMMA) pipe is active."),
    Counter("DCGM_FI_PROF_DRAM_ACTIVE", "gauge",
            "Ratio of cycles the device memory interface is active sending or receiving data."),
    Counter("DCGM_FI_PROF_PCIE_TX_BYTES", "gauge",
            "The rate of data transmitted over the PCIe bus in bytes per second."),
    Counter("DCGM_FI_PROF_PCIE_RX_BYTES", "gauge", "The rate of data received over the PCIe bus in bytes per second."),
)


def exported_metric_names() -> set[str]:
    """The Prometheus metric names the exporter publishes with mlinfra's counters (label fields excluded)."""
    return {c.field for c in DCGM_COUNTERS if c.prom_type != "label"}


def counters_csv() -> str:
    """The counters in dcgm-exporter's CSV format (`field, type, help`), for the exporter's ConfigMap."""
    lines = ["# DCGM field, Prometheus metric type, help message (generated by mlinfra)"]
    # Commas would split the help text into extra columns.
    lines += [f"{c.field}, {c.prom_type}, {c.help.replace(',', ';')}" for c in DCGM_COUNTERS]
    return "\n".join(lines) + "\n"
