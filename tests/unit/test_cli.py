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
    err = capsys.readouterr().err
    assert "--gpu: unknown GPU model; closest: H100-96GB, H100-94GB, H100-80GB" in err and "(got 'H100')" in err


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


def test_help_documents_every_exit_code(capsys):
    from mlinfra import cli

    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for code in (cli.EXIT_OK, cli.EXIT_REFUSED, cli.EXIT_USAGE, cli.EXIT_INTERNAL, cli.EXIT_PIPE_CLOSED):
        assert f"\n  {code:<3} " in out, code
    assert len({cli.EXIT_REFUSED, cli.EXIT_USAGE, cli.EXIT_INTERNAL}) == 3


@pytest.mark.parametrize(("args", "key", "expected"), [
    (["catalog", "gpus", "--mig-capable"], "gpu", "A30-24GB"),
    (["catalog", "mig", "--gpu", "A100-40GB"], "memory_slices", 2),
    (["catalog", "aws", "--gpu", "L4-24GB"], "instance_type", "g6.xlarge"),
    (["catalog", "regions", "--cloud", "gcp"], "region", "us-central1"),
])
def test_catalog_json_output(args, key, expected, capsys):
    import json

    assert main([*args, "--output", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert expected in [row[key] for row in data["rows"]]


def test_catalog_regions_by_cloud(capsys):
    assert main(["catalog", "regions", "--cloud", "aws"]) == 0
    out = capsys.readouterr().out
    assert "us-east-1" in out and "us-central1" not in out


class _ClosedPipe:
    """A stdout whose reader went away after the first write."""

    def __init__(self) -> None:
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        if self.writes > 1:
            raise BrokenPipeError(32, "Broken pipe")
        return len(text)

    def flush(self) -> None:
        if self.writes > 1:
            raise BrokenPipeError(32, "Broken pipe")

    def fileno(self) -> int:
        raise ValueError("no descriptor")


@pytest.mark.parametrize("args", [["catalog", "mig"], ["catalog", "aws"], ["--help"]])
def test_a_closed_pipe_ends_quietly(args, monkeypatch, capsys):
    from mlinfra import cli

    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(args) == cli.EXIT_PIPE_CLOSED
    assert "Traceback" not in capsys.readouterr().err


def test_a_closed_pipe_in_a_real_pipeline_prints_no_traceback():
    proc = subprocess.Popen([*MLINFRA, "catalog", "mig"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() in (0, 141)
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_an_unexpected_exception_is_an_internal_error_not_a_refusal(monkeypatch, capsys):
    from mlinfra import cli
    from mlinfra.catalog import cli as catalog_cli

    def boom(argv):
        raise RuntimeError("a bug")

    monkeypatch.setattr(catalog_cli, "main", boom)
    assert main(["catalog"]) == cli.EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "Traceback" in err and "internal error" in err


def test_bad_options_are_usage_errors(capsys):
    assert main(["catalog", "nope"]) == 2
    assert main(["render"]) == 2  # --stack is required


@pytest.mark.parametrize("exc", [PermissionError(13, "Permission denied", "/read-only/out"),
                                 FileNotFoundError(2, "No such file or directory", "/nope/waivers.yaml")])
def test_an_unusable_path_is_a_usage_error_not_a_traceback(exc, monkeypatch, capsys):
    from mlinfra.catalog import cli as catalog_cli

    def fail(argv):
        raise exc

    monkeypatch.setattr(catalog_cli, "main", fail)
    assert main(["catalog"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and exc.filename in err and exc.strerror in err
