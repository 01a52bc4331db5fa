"""Build the installable Blender extension zip(s) of ``plugins/blender/segue_transition``.

    python plugins/blender/build_extension.py                      # every platform, into dist/blender/
    python plugins/blender/build_extension.py --platform current   # this machine's platform only
    python plugins/blender/build_extension.py --no-wheels          # no wheels (Blender must have grpcio)

Each zip holds, besides the add-on's own modules and ``blender_manifest.toml``:

* ``_renderd/client.py``: the shared client, copied from ``renderd/client.py``, and
  ``_renderd/_proto/``: the stubs generated from ``proto/segue/render/v1/render.proto``
  (generated here with grpcio-tools when it is installed, else taken from the installed
  ``segue.renderd._proto`` that the project's build generated). The client imports the stubs
  relatively, so the pair works under any package name. Vendored at build time only:
  neither is ever committed under ``plugins/``.
* ``wheels/``: grpcio, protobuf and typing_extensions for Python 3.11 (Blender 4.2-5.0)
  and 3.13 (5.1+),
  fetched from the package index with ``pip download --only-binary=:all:`` for the
  zip's platform, and listed in the manifest's ``wheels`` (Blender installs the ones
  matching the running Python). Downloads are cached in ``--wheel-cache``.

One zip per platform (``segue_transition-0.1.0-linux_x64.zip`` ...), as Blender's own
``extension build --split-platforms`` does: the wheels are the bulk of the size.
The zips are deterministic (sorted entries, fixed timestamps).
"""
from __future__ import annotations

import argparse
import importlib.util
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the project supports 3.10, where tomli is a dependency
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SOURCE = HERE / "segue_transition"
CLIENT = REPO / "renderd" / "client.py"
BUILD_STUBS = REPO / "proto" / "build_stubs.py"
DEFAULT_OUT = REPO / "dist" / "blender"
DEFAULT_WHEEL_CACHE = REPO / "build" / "blender-wheels"

#: Exact versions bundled: the client's runtime and everything it needs (grpcio imports
#: typing_extensions, which Blender's Python need not have). The stubs need grpcio and
#: protobuf at least as new as the grpcio-tools that generated them (pyproject.toml's
#: floors); tests check both that and that the set is dependency-complete.
WHEEL_REQUIREMENTS = ("grpcio==1.85.1", "protobuf==7.36.2", "typing_extensions==4.16.0")
#: Blender 4.2-5.0 run Python 3.11, Blender 5.1+ Python 3.13.
PYTHON_VERSIONS = ("3.11", "3.13")
#: Blender platform -> wheel platform tags pip may pick (Blender needs glibc 2.28, macOS 11).
PLATFORM_TAGS = {
    "linux-x64": ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"),
    "macos-arm64": ("macosx_11_0_arm64", "macosx_11_0_universal2", "macosx_10_9_universal2"),
    "macos-x64": ("macosx_11_0_x86_64", "macosx_10_9_x86_64", "macosx_10_9_universal2"),
    "windows-x64": ("win_amd64",),
}
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Manifest:
    """The fields of blender_manifest.toml the build needs."""

    id: str
    version: str
    text: str


def read_manifest(path: Path = SOURCE / "blender_manifest.toml") -> Manifest:
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return Manifest(data["id"], data["version"], text)


def current_platform() -> str:
    """This machine as a Blender platform name (``linux-x64`` ...)."""
    system = {"Linux": "linux", "Darwin": "macos", "Windows": "windows"}.get(platform.system(), "")
    machine = {"x86_64": "x64", "amd64": "x64", "arm64": "arm64", "aarch64": "arm64"}.get(platform.machine().lower())
    name = f"{system}-{machine}"
    if name not in PLATFORM_TAGS:
        raise SystemExit(f"no wheels are known for this platform ({platform.system()} {platform.machine()})")
    return name


# -- the vendored client ---------------------------------------------------------------


def stub_files(work: Path) -> list[Path]:
    """The generated stub package's files: fresh from the proto if grpcio-tools is there."""
    if importlib.util.find_spec("grpc_tools") is not None:
        out = work / "stubs"
        subprocess.run([sys.executable, str(BUILD_STUBS), "--out", str(out)], check=True)
        folder = out
    else:
        spec = importlib.util.find_spec("segue.renderd._proto")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("no render.proto stubs: install the project (pip install -e .), "
                             "which generates segue.renderd._proto, or install grpcio-tools")
        folder = Path(next(iter(spec.submodule_search_locations)))
    files = [folder / name for name in ("__init__.py", "render_pb2.py", "render_pb2_grpc.py")]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise SystemExit(f"stub files missing: {', '.join(missing)}")
    return files


def vendor_client(package: Path, stubs: list[Path]) -> None:
    """Copy the shared client and its stubs into ``package/_renderd``."""
    target = package / "_renderd"
    (target / "_proto").mkdir(parents=True)
    (target / "__init__.py").write_text(
        '"""segue-renderd\'s shared client (renderd/client.py) and the stubs generated from\n'
        'render.proto, vendored by plugins/blender/build_extension.py. Do not edit."""\n', encoding="utf-8")
    shutil.copyfile(CLIENT, target / "client.py")
    for stub in stubs:
        shutil.copyfile(stub, target / "_proto" / stub.name)


# -- wheels ----------------------------------------------------------------------------


def download_wheels(blender_platform: str, cache: Path) -> list[Path]:
    """The wheels of `WHEEL_REQUIREMENTS` for every Python in `PYTHON_VERSIONS`."""
    wheels: dict[str, Path] = {}
    for python in PYTHON_VERSIONS:
        dest = cache / blender_platform / python
        dest.mkdir(parents=True, exist_ok=True)
        abi = "cp" + python.replace(".", "")
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                   "--only-binary=:all:", "--no-deps", "--dest", str(dest), "--implementation", "cp",
                   "--python-version", python, "--abi", abi]
        for tag in PLATFORM_TAGS[blender_platform]:
            command += ["--platform", tag]
        subprocess.run([*command, *WHEEL_REQUIREMENTS], check=True)
        for requirement in WHEEL_REQUIREMENTS:
            wheels.update((p.name, p) for p in _matching_wheels(dest, requirement, abi))
    return [wheels[name] for name in sorted(wheels)]


def _matching_wheels(folder: Path, requirement: str, abi: str) -> list[Path]:
    # The cache may hold older downloads: pick the pinned version's wheel for this Python.
    name, version = requirement.split("==")
    prefix = f"{name.replace('-', '_')}-{version}-"
    found = [p for p in folder.glob("*.whl") if p.name.lower().startswith(prefix.lower())
             and (f"-{abi}-" in p.name or "-abi3-" in p.name or "-none-" in p.name)]
    if not found:
        raise SystemExit(f"pip downloaded no wheel of {requirement} for {abi} into {folder}")
    return sorted(found)[-1:]


# -- assembling ------------------------------------------------------------------------


def manifest_for(manifest: Manifest, platforms: list[str], wheels: list[str]) -> str:
    """The manifest text with its ``platforms`` and ``wheels`` lists filled in."""
    text = manifest.text
    for key, values in (("platforms", platforms), ("wheels", wheels)):
        line = f"{key} = [{', '.join(repr_toml(v) for v in values)}]" if values else ""
        text, count = re.subn(rf"(?m)^{key} = \[\]\n", line + "\n" if line else "", text)
        if count != 1:
            raise SystemExit(f"blender_manifest.toml must contain one line '{key} = []' for the build to fill in")
    return text


def repr_toml(value: str) -> str:
    return '"' + value.replace("\\", "/").replace('"', "") + '"'


def copy_sources(target: Path) -> None:
    """The add-on's own files (no caches, no hidden files, no manifest: it is written per zip)."""
    target.mkdir(parents=True)
    for path in sorted(SOURCE.rglob("*")):
        relative = path.relative_to(SOURCE)
        if any(part.startswith((".", "__pycache__")) for part in relative.parts) or path.suffix == ".pyc":
            continue
        if relative.parts[0] == "_renderd":
            raise SystemExit(f"{path}: the vendored client must not live in the source tree")
        if path.is_dir() or path.name == "blender_manifest.toml":
            continue
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / relative)


def write_zip(folder: Path, zip_path: Path) -> None:
    """A deterministic zip of ``folder``'s contents (entries at the zip's root)."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = zip_path.with_suffix(".zip.part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), _ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_STORED if path.suffix == ".whl" else zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    tmp.replace(zip_path)


def build(out: Path, platforms: list[str] | None, wheel_cache: Path = DEFAULT_WHEEL_CACHE) -> list[Path]:
    """Build one zip per platform (``platforms=None``: one zip without wheels or platforms)."""
    manifest = read_manifest()
    built = []
    with tempfile.TemporaryDirectory(prefix="segue-blender-") as tmp:
        work = Path(tmp)
        stubs = stub_files(work)
        for name in platforms or [None]:
            stage = work / (name or "any") / manifest.id
            copy_sources(stage)
            vendor_client(stage, stubs)
            wheel_names: list[str] = []
            if name is not None:
                (stage / "wheels").mkdir()
                for wheel in download_wheels(name, wheel_cache):
                    shutil.copyfile(wheel, stage / "wheels" / wheel.name)
                    wheel_names.append(f"./wheels/{wheel.name}")
            (stage / "blender_manifest.toml").write_text(
                manifest_for(manifest, [name] if name else [], wheel_names), encoding="utf-8")
            suffix = f"-{name.replace('-', '_')}" if name else ""
            zip_path = out / f"{manifest.id}-{manifest.version}{suffix}.zip"
            write_zip(stage, zip_path)
            built.append(zip_path)
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--platform", default="all",
                        help=f"'all', 'current' or a comma-separated list of {', '.join(PLATFORM_TAGS)}")
    parser.add_argument("--no-wheels", action="store_true",
                        help="one zip without bundled wheels, for a Blender that already has grpcio and protobuf")
    parser.add_argument("--wheel-cache", type=Path, default=DEFAULT_WHEEL_CACHE,
                        help=f"where downloaded wheels are kept (default {DEFAULT_WHEEL_CACHE})")
    args = parser.parse_args(argv)
    if args.no_wheels:
        platforms = None
    elif args.platform == "all":
        platforms = list(PLATFORM_TAGS)
    elif args.platform == "current":
        platforms = [current_platform()]
    else:
        platforms = [p.strip() for p in args.platform.split(",") if p.strip()]
        unknown = [p for p in platforms if p not in PLATFORM_TAGS]
        if unknown:
            parser.error(f"unknown platform(s) {', '.join(unknown)}; known: {', '.join(PLATFORM_TAGS)}")
    for path in build(args.out.resolve(), platforms, args.wheel_cache.resolve()):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
