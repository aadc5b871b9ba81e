"""Every refusal is the same clean error, raised before any resource is registered."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pulumi
import pytest

from mlinfra.offline import mocks
from mlinfra.offline.render import StackConfig, program_path, run_program
from mlinfra.problems import InputError, SpecError

ROOT = Path(__file__).resolve().parents[2]
MLINFRA = [sys.executable, "-m", "mlinfra.cli"]


@pytest.fixture
def monitors(monkeypatch):
    """Every RecordingMonitor a run creates, to read its registrations even when the program raised."""
    made: list[mocks.RecordingMonitor] = []
    original = mocks.RecordingMonitor.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(mocks.RecordingMonitor, "__init__", init)
    return made


@pytest.mark.parametrize("metric", ["gpu_temperature", "DCGM_FI_DEV_GPU_UTIL", "", "gpu_utilisation"])
def test_an_hpa_metric_the_adapter_does_not_serve_is_refused_before_anything_is_registered(monitors, metric):
    import pulumi_kubernetes as k8s

    from mlinfra.k8s.gpu_hpa import GpuUtilizationHpa, GpuUtilizationHpaArgs

    def program() -> None:
        # The team-stack example's order: arguments first, then the workloads, then the HPA.
        args = GpuUtilizationHpaArgs(deployment="serve", namespace="team", max_replicas=4, metric=metric)
        k8s.batch.v1.Job("train", spec={"template": {"spec": {"containers": [], "restartPolicy": "Never"}}})
        k8s.apps.v1.Deployment("serve", spec={"selector": {}, "template": {}})
        GpuUtilizationHpa("serve", args)

    with pytest.raises(InputError) as err:
        run_program(program, StackConfig("team", "test", {}, []))
    problem = err.value.problems[0]
    assert (problem.path, problem.value) == ("GpuUtilizationHpaArgs.metric", metric)
    assert "use one of: gpu_memory_used_percent, gpu_utilization" in problem.message
    assert [r.type for r in monitors[-1].registrations if not r.type.startswith("pulumi:")] == []


def test_the_team_stack_refuses_a_bad_metric_cleanly_with_nothing_rendered(tmp_path):
    project = tmp_path / "team"
    shutil.copytree(ROOT / "examples" / "team-stack", project, ignore=shutil.ignore_patterns("golden"))
    main = project / "__main__.py"
    main.write_text(main.read_text().replace("target_utilization_percent=config.get_int",
                                             'metric="gpu_temp",\n    target_utilization_percent=config.get_int'))
    platform = tmp_path / "platform"
    assert subprocess.run([*MLINFRA, "render", "--stack", "dev", "--out", str(platform)], cwd=ROOT,
                          capture_output=True, check=False).returncode == 0
    out = tmp_path / "out"
    result = subprocess.run([*MLINFRA, "render", "--stack", "dev", "--project", str(project), "--out", str(out),
                             "--platform-render", str(platform)], capture_output=True, text=True, check=False)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "GpuUtilizationHpaArgs.metric: is not served" in result.stderr and "(got 'gpu_temp')" in result.stderr
    assert not out.exists()


def test_the_platform_program_refuses_an_invalid_spec_with_a_run_error_not_a_traceback():
    # Under `pulumi up` the CLI prints a RunError's message alone; nothing is registered before it.
    bad = {"environment": "t", "clusters": [{"name": "c", "cloud": "gcp", "region": "us-central9", "project": "p",
                                             "pools": [{"name": "a", "gpu": "nvidia-l4", "max_nodes": 1}]}]}
    config = StackConfig("mlinfra", "bad", {"mlinfra:platform": json.dumps(bad)}, [])
    with pytest.raises(pulumi.RunError) as err:
        run_program(program_path(ROOT), config)
    text = str(err.value)
    assert "clusters[0].region: not a GCP region" in text and "(got 'us-central9')" in text
    assert "clusters[0].pools[0].gpu: nvidia-l4 is a GKE accelerator type" in text and "L4-24GB" in text
    assert not isinstance(err.value, SpecError) and "Traceback" not in text


@pytest.mark.parametrize(("exc", "path"), [
    (pulumi.InputPropertyError("args.replicas", "must be >= 1"), "args.replicas"),
    (pulumi.RunError("missing required configuration variable 'team:team'"), "<program>"),
    (InputError([]), None),
])
def test_program_refusals_become_problems(exc, path):
    from mlinfra.offline.render import program_refusal

    refusal = program_refusal(exc)
    assert isinstance(refusal, SpecError)
    if path is not None:
        assert refusal.problems[0].path == path


def test_an_unexpected_exception_is_not_a_refusal():
    from mlinfra.offline.render import program_refusal

    assert program_refusal(TypeError("bug")) is None
