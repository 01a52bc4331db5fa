"""``segue install resolve``: put the Scripts menu entry and its package where Resolve finds them.

Two places, both per user:

* the **entries**, one file per menu item (``Segue Synthesize Transition.py``, ``Segue
  Send Cuts to Render Farm.py``, ``Segue Import Farm Transitions.py``, all written from
  the one entry script with its ``SEGUE_ACTION`` set), go into Resolve's Scripts/Edit
  folder, which Resolve lists under Workspace > Scripts on the Edit page (Resolve's
  scripting README, "Using a script"):

  - Linux: ``~/.local/share/DaVinciResolve/Fusion/Scripts/Edit``
  - macOS: ``~/Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts/Edit``
  - Windows: ``%APPDATA%\\Blackmagic Design\\DaVinci Resolve\\Support\\Fusion\\Scripts\\Edit``

* the **package** ``segue_resolve`` (with the shared renderd client and its generated
  stubs vendored into ``segue_resolve/_client``), ``settings.json`` and ``site.json`` go
  into a folder of their own, because Resolve turns every folder under Scripts into a
  submenu and every ``.py`` file in it into a menu entry:

  - Linux: ``$XDG_DATA_HOME/segue/resolve`` (``~/.local/share/segue/resolve``)
  - macOS: ``~/Library/Application Support/Segue/resolve``
  - Windows: ``%APPDATA%\\Segue\\resolve``

Each entry carries the package folder's path. All are replaced atomically (written under
a temporary name, then renamed), and only if they are Segue's own: a foreign file or
folder in the way is an error unless ``--force``.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_HERE = Path(__file__).resolve().parent
#: the plugin's files: ``segue/plugins/resolve`` in an installed wheel (pyproject.toml's
#: ``wheel.packages`` puts it there), ``plugins/resolve`` beside this folder in the repository
PLUGIN_DIR = next((p for p in (_HERE / "plugins" / "resolve", _HERE.parent / "plugins" / "resolve") if p.is_dir()),
                  _HERE / "plugins" / "resolve")
ENTRY_NAME = "Segue Synthesize Transition.py"
#: the menu items, as the package names them (``segue_resolve.ACTIONS``): action -> entry file name
ACTIONS = {"transition": ENTRY_NAME, "farm": "Segue Send Cuts to Render Farm.py",
           "import": "Segue Import Farm Transitions.py"}
ENTRY_MARKER = "# segue-resolve-entry"
LIB_MARKER = ".segue-resolve-install.json"
PACKAGE = "segue_resolve"
_LIB_LINE = "SEGUE_LIB = None"
_ACTION_LINE = 'SEGUE_ACTION = "transition"'


class InstallError(Exception):
    """The installation was refused; the message names the path and what to do."""


@dataclass(frozen=True)
class Installed:
    """What `install` wrote: ``entry`` is the Synthesize Transition item, ``entries`` every item."""

    entry: Path
    entries: tuple[Path, ...]
    lib: Path
    python: str
    replaced_foreign: bool


def default_scripts_dir(platform: str = sys.platform, environ: Mapping[str, str] = os.environ,
                        home: Path | None = None) -> Path:
    """Resolve's per-user Scripts/Edit folder on this platform."""
    home = home or Path.home()
    if platform.startswith("win"):
        return _appdata(environ) / "Blackmagic Design" / "DaVinci Resolve" / "Support" / "Fusion" / "Scripts" / "Edit"
    if platform == "darwin":
        return (home / "Library" / "Application Support" / "Blackmagic Design" / "DaVinci Resolve" / "Fusion"
                / "Scripts" / "Edit")
    return home / ".local" / "share" / "DaVinciResolve" / "Fusion" / "Scripts" / "Edit"


def default_lib_dir(platform: str = sys.platform, environ: Mapping[str, str] = os.environ,
                    home: Path | None = None) -> Path:
    """The per-user folder for the segue_resolve package (outside Resolve's Scripts tree)."""
    home = home or Path.home()
    if platform.startswith("win"):
        return _appdata(environ) / "Segue" / "resolve"
    if platform == "darwin":
        return home / "Library" / "Application Support" / "Segue" / "resolve"
    data = environ.get("XDG_DATA_HOME") or str(home / ".local" / "share")
    return Path(data) / "segue" / "resolve"


def _appdata(environ: Mapping[str, str]) -> Path:
    if not environ.get("APPDATA"):
        raise InstallError("APPDATA is not set: pass --dest and --lib")
    return Path(environ["APPDATA"])


def install(dest: Path | None = None, lib: Path | None = None, *, settings: Mapping[str, str] | None = None,
            force: bool = False) -> Installed:
    """Install the entry into ``dest`` (Scripts/Edit) and the package into ``lib``.

    ``settings`` (``address``, ``token_file``, ``tls_ca``, ``output_root``) are written to
    ``settings.json`` for the script to read.
    """
    dest = Path(dest).expanduser().resolve() if dest else default_scripts_dir()
    lib = Path(lib).expanduser().resolve() if lib else default_lib_dir()
    entries = {action: dest / name for action, name in ACTIONS.items()}
    foreign = [e for e in entries.values() if e.exists() and not _is_our_entry(e)]
    foreign_lib = lib.exists() and any(lib.iterdir()) and not (lib / LIB_MARKER).is_file()
    if foreign and not force:
        raise InstallError(f"{foreign[0]} exists and was not written by Segue; move it away or pass --force")
    if foreign_lib and not force:
        raise InstallError(f"{lib} is not empty and was not written by Segue; choose another --lib or pass --force")
    if lib == dest or dest in lib.parents:
        raise InstallError(f"--lib {lib} must not be inside the Scripts folder {dest}: Resolve would list its "
                           "modules as scripts")

    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    lib.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{lib.name}.", dir=lib.parent))
    try:
        _stage_package(staging, settings or {}, python)
        _swap_folder(staging, lib)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    dest.mkdir(parents=True, exist_ok=True)
    for action, entry in entries.items():
        _write_atomic(entry, entry_text(action, str(lib)))
    return Installed(entries["transition"], tuple(entries.values()), lib, python, bool(foreign) or foreign_lib)


def entry_text(action: str, lib: str | None) -> str:
    """The entry script as the menu item ``action`` (`ACTIONS`), loading the package from ``lib``."""
    source = (PLUGIN_DIR / ENTRY_NAME).read_text(encoding="utf-8")
    for line in (_LIB_LINE, _ACTION_LINE):
        if source.count(line) != 1:
            raise InstallError(f"{PLUGIN_DIR / ENTRY_NAME}: expected one {line!r} line")
    if lib is not None:
        source = source.replace(_LIB_LINE, f"SEGUE_LIB = {lib!r}")
    if action not in ACTIONS:
        raise InstallError(f"unknown menu item {action!r} (known: {', '.join(ACTIONS)})")
    return source.replace(_ACTION_LINE, f'SEGUE_ACTION = "{action}"')


def _is_our_entry(path: Path) -> bool:
    try:
        return ENTRY_MARKER in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def _stage_package(root: Path, settings: Mapping[str, str], python: str) -> None:
    """Write the complete lib folder into ``root``: package, vendored client, settings, site."""
    shutil.copytree(PLUGIN_DIR / PACKAGE, root / PACKAGE, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    client_dir = root / PACKAGE / "_client"
    client_dir.mkdir()
    client_file, proto_dir = _client_sources()
    (client_dir / "__init__.py").write_text('"""The shared renderd client, vendored by `segue install resolve`."""\n',
                                            encoding="utf-8")
    shutil.copyfile(client_file, client_dir / "client.py")
    shutil.copytree(proto_dir, client_dir / "_proto", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _write_json(root / "settings.json", {k: str(v) for k, v in settings.items() if v})
    _write_json(root / "site.json", {"python": python, "paths": _dependency_paths()})
    _write_json(root / LIB_MARKER, {"installed_by": "segue install resolve", "python": python,
                                    "source": str(PLUGIN_DIR)})


def _client_sources() -> tuple[Path, Path]:
    """renderd/client.py and its generated stubs folder, wherever this environment has them."""
    try:
        import segue.renderd._proto as proto
        from segue.renderd import client
    except ImportError as exc:
        raise InstallError(f"the renderd client is not importable here ({exc}); install segue first") from None
    return Path(client.__file__), Path(proto.__file__).parent


def _dependency_paths() -> list[str]:
    """The folders that hold grpcio and protobuf in this environment (for a Resolve of the same Python)."""
    import google.protobuf
    import grpc

    paths = [Path(grpc.__file__).resolve().parents[1], Path(google.protobuf.__file__).resolve().parents[2]]
    return list(dict.fromkeys(str(p) for p in paths))


def _swap_folder(new: Path, target: Path) -> None:
    """Replace ``target`` by ``new`` with renames only, so Resolve never sees half a package."""
    if not target.exists():
        os.replace(new, target)
        return
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.replace(target, old)
    try:
        os.replace(new, target)
    except OSError:
        os.replace(old, target)  # put the previous install back
        raise
    shutil.rmtree(old, ignore_errors=True)


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def describe(result: Installed) -> str:
    """What to tell the user after installing."""
    lines = [*(f"Resolve script: {entry}" for entry in result.entries), f"Segue package:  {result.lib}",
             ("In Resolve: Workspace > Scripts > Edit > Segue Synthesize Transition, Segue Send Cuts to Render Farm "
              "and Segue Import Farm Transitions (restart Resolve if they are not listed yet)."),
             "Start the render daemon first: segue-renderd serve",
             (f"Resolve's Python needs grpcio and protobuf: this environment's are used if Resolve runs Python "
              f"{result.python}; otherwise install them for Resolve's Python (see docs/resolve.md).")]
    if result.replaced_foreign:
        lines.insert(0, "Replaced files that were not Segue's (--force).")
    return "\n".join(lines)
