"""The `mlinfra` command: help, dispatch, and the catalog listing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mlinfra.cli import main

MLINFRA = [sys.executable, "-m", "mlinfra.cli"]


def test_help_lists_commands_without_importing_pulumi():
    code = ("import sys; from mlinfra.cli import main; main(['--help']); "
            "print('pulumi' in sys.modules, 'pulumi_aws' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "render" in out and "catalog" in out
    assert out.strip().endswith("False False")


def test_unknown_command_is_a_usage_error(capsys):
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["catalog", "mig", "--gpu", "h100-80gb"], ["H100-80GB  1g.10gb", "nvidia.com/mig-3g.40gb", "7 rows"]),
        (["catalog", "aws", "--gpu", "H200-141GB"], ["p5e.48xlarge", "p5en.48xlarge", "2 rows"]),
        (["catalog", "gcp", "--mig-capable", "--min-gpus", "8"], ["a3-megagpu-8g", "nvidia-h100-mega-80gb"]),
        (["catalog", "gpus", "--mig-capable"], ["A30-24GB", "B200-180GB"]),
    ],
)
def test_catalog_listing(args, expected, capsys):
    assert main(args) == 0
    out = capsys.readouterr().out
    for text in expected:
        assert text in out


def test_catalog_unknown_gpu_suggests(capsys):
    assert main(["catalog", "mig", "--gpu", "H100"]) == 2
    assert "closest: H100-96GB, H100-94GB, H100-80GB" in capsys.readouterr().out


def test_catalog_does_not_import_pulumi():
    code = ("import sys; from mlinfra.cli import main; main(['catalog']); "
            "print('pulumi' in sys.modules, 'pydantic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("False False")


def test_version_is_the_distribution_version(capsys):
    from importlib.metadata import version

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"mlinfra-pulumi {version('mlinfra-pulumi')}\n"


def test_help_lists_the_upstream_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: mlinfra [--version] COMMAND")
    assert "  upstream   fetch the pinned upstream CRDs" in out
