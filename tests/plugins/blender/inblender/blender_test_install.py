"""The built zip as a user gets it: valid, installable, self-contained, in the menus."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import bpy
import pytest
from blender_fixtures import TAKE_A, TAKE_B, add_movie, select_only, strip_names

pytest_plugins = ("blender_fixtures",)


def test_blenders_own_validator_accepts_the_zip():
    cli = Path(bpy.utils.resource_path("LOCAL")) / "scripts" / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"
    result = subprocess.run([sys.executable, str(cli), "validate", os.environ["SEGUE_EXTENSION_ZIP"]],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_installed_extension_uses_its_bundled_wheels_and_vendored_client(extension):
    import grpc
    from google import protobuf

    # This venv has no grpcio or protobuf: they can only come from the zip's wheels,
    # which Blender unpacked into its extensions' site-packages.
    site = Path(os.environ["BLENDER_USER_RESOURCES"]) / "extensions" / ".local"
    assert Path(grpc.__file__).is_relative_to(site), grpc.__file__
    assert Path(protobuf.__file__).is_relative_to(site), protobuf.__file__
    connection = sys.modules[f"{extension}.connection"]
    client = connection.client_module()
    assert client.__name__ == f"{extension}._renderd.client"
    assert connection.proto_module().__name__ == f"{extension}._renderd._proto.render_pb2"


def test_operator_and_menu_entries(extension):
    op = bpy.ops.sequencer.synthesize_transition
    assert op.get_rna_type().name == "Synthesize Transition"
    operator = sys.modules[f"{extension}.operator"]
    for menu in (bpy.types.SEQUENCER_MT_strip, bpy.types.SEQUENCER_MT_context_menu):
        assert operator.menu_draw in menu.draw._draw_funcs

    class Layout:
        def __init__(self):
            self.calls = []

        def __getattr__(self, name):
            return lambda *args, **kw: self.calls.append((name, args, kw))

    class Menu:
        layout = Layout()

    operator.menu_draw(Menu, bpy.context)
    entries = [(args, kw) for name, args, kw in Menu.layout.calls if name == "operator"]
    assert entries == [(("sequencer.synthesize_transition",), {"text": "Synthesize Transition",
                                                                 "icon": "RENDER_ANIMATION"}),
                       (("sequencer.send_transitions_to_farm",), {"text": "Send Transitions to Render Farm…",
                                                                  "icon": "NETWORK_DRIVE"}),
                       (("sequencer.open_transition_contact_sheet",), {"text": "Open Transition Contact Sheet",
                                                                        "icon": "IMAGE_DATA"})]


def test_preferences_defaults(extension):
    prefs = bpy.context.preferences.addons[extension].preferences
    assert prefs.address == "127.0.0.1:50051"
    assert prefs.auto_start is True
    assert prefs.renderd_path == "segue-renderd"
    assert prefs.output_dir == "//segue_transitions"


def test_network_address_needs_online_access(addon, project):
    assert bpy.app.online_access is False  # Blender as a module runs offline, like a new install
    addon.prefs.address = "192.0.2.10:50051"  # TEST-NET-1: never contacted, refused before any connection
    a = add_movie("a", TAKE_A, 1, 1)
    b = add_movie("b", TAKE_B, 1, 13)
    select_only(a, b)
    with pytest.raises(RuntimeError, match="online access is off"):
        bpy.ops.sequencer.synthesize_transition(frames=2)
    assert strip_names() == {"a", "b"}
    assert not (project / "segue_transitions").exists()


def test_disable_and_enable_again(extension):
    bpy.ops.preferences.addon_disable(module=extension)
    assert not hasattr(bpy.types, "SEQUENCER_OT_synthesize_transition")
    bpy.ops.preferences.addon_enable(module=extension)
    assert hasattr(bpy.types, "SEQUENCER_OT_synthesize_transition")
