"""`segue install resolve`: the documented folders, atomic replacement, foreign files left alone."""
from __future__ import annotations

from pathlib import Path

import pytest
from resolve_harness import ENTRY, REPO

from segue.cli import main
from segue.install_resolve import (
    ACTIONS,
    InstallError,
    default_lib_dir,
    default_scripts_dir,
    install,
)


def test_resolves_per_user_scripts_folders():
    home = Path("/home/ed")
    assert default_scripts_dir("linux", {}, home) == home / ".local/share/DaVinciResolve/Fusion/Scripts/Edit"
    assert default_scripts_dir("darwin", {}, home) == (
        home / "Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts/Edit")
    appdata = r"C:\Users\ed\AppData\Roaming"
    assert default_scripts_dir("win32", {"APPDATA": appdata}, home) == (
        Path(appdata) / "Blackmagic Design" / "DaVinci Resolve" / "Support" / "Fusion" / "Scripts" / "Edit")
    with pytest.raises(InstallError, match="APPDATA"):
        default_scripts_dir("win32", {}, home)


def test_the_package_lives_outside_resolves_scripts_tree():
    home = Path("/home/ed")
    assert default_lib_dir("linux", {}, home) == home / ".local/share/segue/resolve"
    assert default_lib_dir("linux", {"XDG_DATA_HOME": "/data"}, home) == Path("/data/segue/resolve")
    assert default_lib_dir("darwin", {}, home) == home / "Library/Application Support/Segue/resolve"
    assert default_lib_dir("win32", {"APPDATA": "C:/AppData"}, home) == Path("C:/AppData/Segue/resolve")


def test_install_writes_the_entry_and_a_self_contained_package(tmp_path):
    dest, lib = tmp_path / "Edit", tmp_path / "lib"
    result = install(dest, lib, settings={"address": "render:50051", "token_file": None})

    entry = (dest / ENTRY.name).read_text()
    assert result.entry == dest / ENTRY.name and f"SEGUE_LIB = {str(lib)!r}" in entry
    assert entry.replace(f"SEGUE_LIB = {str(lib)!r}", "SEGUE_LIB = None") == ENTRY.read_text()
    # one file per menu item, each the same entry with its own action
    assert sorted(p.name for p in dest.iterdir()) == sorted(ACTIONS.values())
    for action, name in ACTIONS.items():
        text = (dest / name).read_text()
        assert text.replace(f'SEGUE_ACTION = "{action}"', 'SEGUE_ACTION = "transition"').replace(
            f"SEGUE_LIB = {str(lib)!r}", "SEGUE_LIB = None") == ENTRY.read_text()
    vendored = lib / "segue_resolve" / "_client"
    assert (vendored / "client.py").read_text() == (REPO / "renderd" / "client.py").read_text()
    assert {p.name for p in (vendored / "_proto").glob("*.py")} >= {"render_pb2.py", "render_pb2_grpc.py"}
    assert (lib / "settings.json").read_text().strip() == '{\n  "address": "render:50051"\n}'
    assert '"python"' in (lib / "site.json").read_text()


def test_reinstalling_replaces_segues_own_files_whole(tmp_path):
    dest, lib = tmp_path / "Edit", tmp_path / "lib"
    install(dest, lib)
    (lib / "segue_resolve" / "stale.py").write_text("# from an older version\n")
    install(dest, lib, settings={"address": "other:1"})
    assert not (lib / "segue_resolve" / "stale.py").exists()
    assert "other:1" in (lib / "settings.json").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Edit", "lib"]  # no staging folders left
    assert sorted(p.name for p in dest.iterdir()) == sorted(ACTIONS.values())


def test_a_foreign_entry_is_never_overwritten_silently(tmp_path, capsys):
    dest, lib = tmp_path / "Edit", tmp_path / "lib"
    dest.mkdir()
    theirs = dest / ENTRY.name
    theirs.write_text("print('someone else')\n")
    assert main(["install", "resolve", "--dest", str(dest), "--lib", str(lib)]) == 2
    assert "was not written by Segue" in capsys.readouterr().err
    assert theirs.read_text() == "print('someone else')\n" and not lib.exists()
    assert main(["install", "resolve", "--dest", str(dest), "--lib", str(lib), "--force"]) == 0
    assert "segue-resolve-entry" in theirs.read_text()
    assert "Replaced files that were not Segue's" in capsys.readouterr().out


def test_a_foreign_package_folder_is_never_replaced_silently(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "notes.txt").write_text("mine")
    with pytest.raises(InstallError, match="not empty and was not written by Segue"):
        install(tmp_path / "Edit", lib)
    assert (lib / "notes.txt").read_text() == "mine"
    install(tmp_path / "Edit", lib, force=True)
    assert not (lib / "notes.txt").exists() and (lib / "segue_resolve").is_dir()


def test_the_package_may_not_go_where_resolve_would_list_it(tmp_path):
    with pytest.raises(InstallError, match="must not be inside the Scripts folder"):
        install(tmp_path / "Edit", tmp_path / "Edit" / "segue")
