"""plugins/blender/build_extension.py: what goes into the extension zip, and nothing by hand."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "plugins" / "blender"))
import build_extension

SOURCE_MODULES = {"__init__.py", "addon.py", "connection.py", "farm.py", "job.py", "mapping.py", "operator.py",
                  "preferences.py", "run.py", "strips.py"}


@pytest.fixture(scope="module")
def bare_zip(tmp_path_factory) -> Path:
    (path,) = build_extension.build(tmp_path_factory.mktemp("dist"), None)
    return path


def test_zip_contents(bare_zip):
    assert bare_zip.name == "segue_transition-0.1.0.zip"
    with zipfile.ZipFile(bare_zip) as archive:
        names = set(archive.namelist())
        assert names == SOURCE_MODULES | {
            "blender_manifest.toml", "_renderd/__init__.py", "_renderd/client.py",
            "_renderd/_proto/__init__.py", "_renderd/_proto/render_pb2.py", "_renderd/_proto/render_pb2_grpc.py"}
        # The shared client itself, byte for byte: vendored, not a fork.
        assert archive.read("_renderd/client.py") == (REPO / "renderd" / "client.py").read_bytes()
        manifest = tomllib.loads(archive.read("blender_manifest.toml").decode())
    assert manifest["id"] == "segue_transition" and manifest["type"] == "add-on"
    assert manifest["blender_version_min"] == "4.2.0"
    assert manifest["license"] == ["SPDX:GPL-3.0-or-later"]
    assert set(manifest["permissions"]) == {"files", "network"}
    assert "wheels" not in manifest and "platforms" not in manifest  # no wheels bundled: any platform


def test_build_is_deterministic(bare_zip, tmp_path):
    (again,) = build_extension.build(tmp_path, None)
    assert again.read_bytes() == bare_zip.read_bytes()


def test_vendored_client_works_without_the_project(bare_zip, tmp_path):
    """Unzipped alone (no segue package on the path), the extension finds its own client."""
    root = tmp_path / "ext"
    with zipfile.ZipFile(bare_zip) as archive:
        archive.extractall(root / "segue_transition")
    code = ("import sys; sys.modules['renderd'] = None\n"  # the project's package must not be used
            "from segue_transition import connection\n"
            "client = connection.client_module()\n"
            "pb = connection.proto_module()\n"
            "print(client.__name__, pb.TransitionSpec(frames=3).frames)")
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["segue_transition._renderd.client", "3"]


def test_source_tree_has_no_hand_copied_client():
    source = REPO / "plugins" / "blender" / "segue_transition"
    assert not (source / "_renderd").exists()
    assert {p.name for p in source.glob("*.py")} == SOURCE_MODULES


def test_manifest_lists_are_filled_in():
    manifest = build_extension.read_manifest()
    text = build_extension.manifest_for(manifest, ["linux-x64"], ["./wheels/a-1-py3-none-any.whl"])
    data = tomllib.loads(text)
    assert data["platforms"] == ["linux-x64"] and data["wheels"] == ["./wheels/a-1-py3-none-any.whl"]
    broken = build_extension.Manifest(manifest.id, manifest.version, manifest.text.replace("wheels = []", ""))
    with pytest.raises(SystemExit, match="wheels = \\[\\]"):
        build_extension.manifest_for(broken, [], [])


def test_pinned_wheels_satisfy_the_projects_floors():
    """The stubs were generated for pyproject's grpcio/protobuf floors; the bundle must meet them."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    floors = {Requirement(r).name: Requirement(r) for r in project["project"]["dependencies"]}
    for pin in build_extension.WHEEL_REQUIREMENTS:
        requirement = Requirement(pin)
        (version,) = [s.version for s in requirement.specifier]
        if requirement.name in floors:
            assert floors[requirement.name].specifier.contains(version), (pin, str(floors[requirement.name]))
    assert {"grpcio", "protobuf"} <= {Requirement(p).name for p in build_extension.WHEEL_REQUIREMENTS}


def test_bundled_wheels_are_dependency_complete():
    """Every Requires-Dist of a bundled wheel (this platform, both Pythons) is bundled too."""
    platform = build_extension.current_platform()
    wheels = build_extension.download_wheels(platform, build_extension.DEFAULT_WHEEL_CACHE)
    names = {parse_wheel_filename(w.name)[0] for w in wheels}
    for python in build_extension.PYTHON_VERSIONS:
        tags = {f"cp{python.replace('.', '')}", "abi3", "py3"}
        per_python = [w for w in wheels if {t.interpreter for t in parse_wheel_filename(w.name)[3]} & tags
                      or {t.abi for t in parse_wheel_filename(w.name)[3]} & tags]
        assert {parse_wheel_filename(w.name)[0] for w in per_python} == names, python
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            lines = archive.read(metadata).decode().splitlines()
        for line in lines:
            if line.startswith("Requires-Dist:"):
                requirement = Requirement(line.split(":", 1)[1].strip())
                for python in build_extension.PYTHON_VERSIONS:
                    if requirement.marker is None or requirement.marker.evaluate(
                            {"python_version": python, "extra": ""}):
                        assert canonicalize_name(requirement.name) in names, (wheel.name, str(requirement))


def test_copy_sources_refuses_a_hand_copied_client(tmp_path, monkeypatch):
    fake = tmp_path / "src"
    (fake / "_renderd").mkdir(parents=True)
    (fake / "_renderd" / "client.py").write_text("")
    monkeypatch.setattr(build_extension, "SOURCE", fake)
    with pytest.raises(SystemExit, match="must not live in the source tree"):
        build_extension.copy_sources(tmp_path / "stage")
