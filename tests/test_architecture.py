"""The layers point one way: plugins and the front end -> renderd -> core -> the native kernel.

Read statically from every module's imports (top level and inside functions alike), so
a lazy import cannot hide an arrow; and once at run time: a local render loads neither
grpc nor torch. docs/architecture.md draws the map these tests hold.
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "core" / "assets" / "demo"

#: layer -> layers and third-party packages it must never import ("segue" is the front end:
#: the command line, the public API and the installers)
FORBIDDEN = {
    "core": {"renderd", "plugins", "segue", "training", "grpc", "grpc_health", "grpc_status", "torch"},
    "training": {"renderd", "plugins", "segue", "grpc"},
    "renderd": {"plugins", "segue", "training", "torch"},
    "plugins": {"core", "training", "segue", "torch"},
    "web": {"plugins", "training", "torch"},
}


def layer(name: str) -> str:
    """The layer an imported name belongs to: ``segue.core.flow`` -> core, ``segue.cli`` -> segue."""
    parts = name.split(".")
    if parts[0] == "segue" and len(parts) > 1 and parts[1] in {"core", "renderd", "training", "web"}:
        return parts[1]
    return parts[0]


def imported_modules(path: Path) -> set[str]:
    """Every absolute name ``path`` imports, anywhere in the file (``from a import b`` as ``a.b``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def sources(folder: str) -> list[Path]:
    return sorted(p for p in (REPO / folder).rglob("*.py") if "_proto" not in p.parts)


def test_nothing_imports_a_folder_by_its_repository_name() -> None:
    """``core``, ``renderd``, ``training``: folder names only; Python knows them under ``segue``."""
    wrong = [f"{path.relative_to(REPO)} imports {name}"
             for folder in ("segue", "core", "renderd", "training", "plugins", "web", "tests", "bench")
             for path in sources(folder) for name in imported_modules(path)
             if name.split(".")[0] in {"core", "renderd", "training", "plugins", "web"}]
    assert not wrong, "\n".join(wrong)


def test_every_installed_name_is_under_segue() -> None:
    """The wheel's folders (pyproject.toml) and the built modules (CMake) all land in ``segue/``."""
    build = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["scikit-build"]
    packages = build["wheel"]["packages"]
    assert packages["segue/core"] == "core" and packages["segue/renderd"] == "renderd"
    assert all(dest == "segue" or dest.startswith("segue/") for dest in packages), packages
    for cmake in (REPO / "native" / "CMakeLists.txt", REPO / "proto" / "CMakeLists.txt"):
        destinations = re.findall(r"DESTINATION\s+(\S+?)\)", cmake.read_text(encoding="utf-8"))
        assert destinations and all(d.startswith("segue/") for d in destinations), (cmake, destinations)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_arrow_points_back(package: str) -> None:
    wrong = []
    for path in sources(package):
        for name in imported_modules(path):
            if layer(name) in FORBIDDEN[package]:
                wrong.append(f"{path.relative_to(REPO)} imports {name}")
    assert sources(package) and not wrong, "\n".join(wrong)


#: what the daemon may use of the engine: its packages' public surfaces, never a pipeline's internals
PUBLIC_CORE = {f"segue.{name}" for name in (
    "core", "core.errors", "core.engine", "core.transition", "core.retime", "core.media", "core.color",
    "core.conform", "core.limits", "core.allocator", "core.model.infer", "core.farm")}


def test_the_daemon_uses_only_the_engines_public_modules() -> None:
    wrong = []
    for path in sources("renderd"):
        for name in imported_modules(path):
            if layer(name) == "core" and name.rsplit(".", 1)[0] not in PUBLIC_CORE and name not in PUBLIC_CORE:
                wrong.append(f"{path.relative_to(REPO)} imports {name}")
    assert not wrong, "\n".join(wrong)


def test_plugins_reach_the_daemon_only_through_its_client() -> None:
    wrong = [f"{path.relative_to(REPO)} imports {name}" for path in sources("plugins")
             for name in imported_modules(path)
             if layer(name) == "renderd" and not name.startswith(("segue.renderd.client", "segue.renderd._proto"))]
    assert not wrong, "\n".join(wrong)


def test_imported_modules_sees_lazy_imports(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("import os\n\ndef f():\n    from segue.renderd.client import x\n    import torch.nn\n")
    assert imported_modules(probe) == {"os", "segue.renderd.client.x", "torch.nn"}


def test_a_local_render_loads_neither_grpc_nor_torch(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from segue.cli import main\n"
        f"code = main(['transition', {str(DEMO / 'take_a.mp4')!r}, {str(DEMO / 'take_b.mp4')!r}, '--frames', '1',"
        f" '-o', {str(tmp_path / 'out')!r}, '-q'])\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'grpc', 'torch'}"
        " | {m for m in sys.modules if m.startswith(('segue.renderd', 'segue.training'))})\n"
        "print(code, loaded)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-2:] == ["0", "[]"], done.stdout
    assert (tmp_path / "out" / "frame_0001.png").is_file()


def test_the_public_api_is_segue() -> None:
    import segue
    from segue.core.engine import Engine

    assert segue.Engine is Engine and segue.__version__
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        segue.Nope  # noqa: B018 - the attribute access is the test
