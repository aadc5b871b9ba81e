"""`mlinfra validate DIR`: output lines, summary line and exit codes on a small render directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlinfra.offline.validate import contracts_dir, main, validate_dir


@pytest.fixture
def render(render_fixture: Path, tmp_path: Path) -> Path:
    """A writable copy of the clean render fixture."""
    return Path(shutil.copytree(render_fixture, tmp_path / "render"))


def test_clean_render_exits_zero(render: Path, crds: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(render), "--crds", str(crds)]) == 0
    assert capsys.readouterr().out == "validated 5 objects: 0 errors, 0 rules not checked\n"


def test_errors_exit_one_with_one_line_each(render: Path, crds: Path, capsys: pytest.CaptureFixture[str]) -> None:
    queue = render / "manifests/prod/team-research/LocalQueue-training.yaml"
    queue.write_text(queue.read_text() + "  stopPolicy: Hold\n  cohort: x\n")
    (render / "manifests/prod/_cluster/Gizmo-g.yaml").write_text(
        "apiVersion: example.com/v1\nkind: Gizmo\nmetadata: {name: g}\n")
    assert main([str(render), "--crds", str(crds)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{render}/manifests/prod/_cluster/Gizmo-g.yaml: Gizmo/_cluster/g: $.kind: no schema for example.com/v1 "
        f"Gizmo: not a built-in kind of Kubernetes 1.33 and no CRD for it in {crds} "
        "(pass --allow-kind Gizmo to accept it unchecked)",
        f"{render}/manifests/prod/team-research/LocalQueue-training.yaml: LocalQueue/team-research/training: "
        '$.spec.cohort: unknown field "cohort" (not declared in the schema)',
        "validated 6 objects: 2 errors, 0 rules not checked",
    ]
    assert main([str(render), "--crds", str(crds), "--allow-kind", "Gizmo"]) == 1
    assert capsys.readouterr().out.endswith("validated 6 objects: 1 errors, 0 rules not checked\n")


def test_helm_value_error_fails_the_run(render: Path, crds: Path, capsys: pytest.CaptureFixture[str]) -> None:
    release = render / "helm/prod/gpu-operator.yaml"
    release.write_text(release.read_text().replace("  mig:\n", "  migg:\n"))
    assert main([str(render), "--crds", str(crds)]) == 1
    out = capsys.readouterr().out
    assert f"{release}: HelmRelease/gpu-operator/gpu-operator: $.values.migg: unknown key 'migg'" in out


def test_namespace_folder_counts_as_namespace(render: Path, crds: Path) -> None:
    # LocalQueue-training.yaml has no metadata.namespace: its folder gives it one.
    assert validate_dir(render, crds).problems == []
    moved = render / "manifests/prod/_cluster/LocalQueue-training.yaml"
    (render / "manifests/prod/team-research/LocalQueue-training.yaml").rename(moved)
    assert [p.path for p in validate_dir(render, crds).problems] == ["$.metadata.namespace"]


def test_missing_render_dir_is_a_usage_error(tmp_path: Path, crds: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nope"), "--crds", str(crds)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_missing_crd_folder_is_a_usage_error(render: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(render), "--crds", str(tmp_path / "no-crds")]) == 2
    assert f"contracts folder {tmp_path / 'no-crds'} (from --crds) does not exist" in capsys.readouterr().err


def test_crds_default_from_environment(render: Path, crds: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MLINFRA_UPSTREAM", str(crds))
    assert contracts_dir() == crds
    assert main([str(render)]) == 0
    monkeypatch.setenv("MLINFRA_UPSTREAM", "/nonexistent/crds")
    assert main([str(render)]) == 2
    assert "/nonexistent/crds (from $MLINFRA_UPSTREAM) does not exist" in capsys.readouterr().err


def test_crds_option_wins_over_environment(crds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLINFRA_UPSTREAM", str(tmp_path))
    assert contracts_dir(crds) == crds
    assert contracts_dir() == tmp_path


def test_nothing_found_names_the_fetch_command(render: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    # No option, no variable, an empty cache: the error says what to run.
    monkeypatch.delenv("MLINFRA_UPSTREAM", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert main([str(render)]) == 2
    err = capsys.readouterr().err
    assert "Run `mlinfra upstream fetch`" in err
    assert str(tmp_path / "cache" / "mlinfra" / "upstream") in err


def test_bad_arguments_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["--help"]) == 0
    assert "--allow-kind" in capsys.readouterr().out


def test_unknown_kubernetes_version(render: Path, crds: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(render), "--crds", str(crds), "--kubernetes-version", "1.12"]) == 2
    assert "no schemas" in capsys.readouterr().err
