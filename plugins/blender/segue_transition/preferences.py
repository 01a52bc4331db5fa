"""Add-on preferences: where the daemon is, whether to start one, where frames go.

`settings` and `output_root` read them for the operator. When the package is registered
outside Blender's add-on system (``import segue_transition; segue_transition.register()``
from a script), there are no stored preferences and the defaults below apply.
"""
from __future__ import annotations

import os
import tempfile
from typing import Any

import bpy
from bpy.props import BoolProperty, StringProperty

from . import connection

ADDON_ID = __package__
DEFAULT_OUTPUT = "//segue_transitions"


def _blend_relative_option() -> set[str]:
    """``{'PATH_SUPPORTS_BLEND_RELATIVE'}`` where Blender knows it (newer versions warn
    about a '//' path in a property without it), else an empty set (older ones reject it)."""
    class SEGUE_PG_path_probe(bpy.types.PropertyGroup):
        path: StringProperty(subtype="DIR_PATH", options={"PATH_SUPPORTS_BLEND_RELATIVE"})

    try:
        bpy.utils.register_class(SEGUE_PG_path_probe)
    except ValueError:
        return set()
    bpy.utils.unregister_class(SEGUE_PG_path_probe)
    return {"PATH_SUPPORTS_BLEND_RELATIVE"}


class SegueAddonPreferences(bpy.types.AddonPreferences):
    """Edit > Preferences > Add-ons > Segue Transition: the daemon and the frames' folder."""

    bl_idname = ADDON_ID

    address: StringProperty(
        name="Daemon Address", default=connection.DEFAULT_ADDRESS,
        description="Where Segue's render daemon (segue-renderd) listens, as host:port. 127.0.0.1 is this "
                    "computer; a daemon on another computer needs Blender's online access")
    token_file: StringProperty(
        name="Token File", subtype="FILE_PATH", default="",
        description="Leave empty for a daemon you started on this computer. Only for a daemon started by "
                    "another user or with its own token file (its --token-file): that file")
    tls_ca_file: StringProperty(
        name="TLS CA File", subtype="FILE_PATH", default="",
        description="Only for a daemon on another computer that uses TLS: the PEM file of the certificate "
                    "authority that signed its certificate. Setting it turns TLS on")
    auto_start: BoolProperty(
        name="Start a Local Daemon", default=True,
        description="When no daemon answers on this computer, start one (segue-renderd serve); it stops when "
                    "Blender quits")
    renderd_path: StringProperty(
        name="segue-renderd", subtype="FILE_PATH", default="segue-renderd",
        description="Where the daemon program is: a full path, or a name found on PATH (pip install segue "
                    "installs it)")
    output_dir: StringProperty(
        name="Output Folder", subtype="DIR_PATH", default=DEFAULT_OUTPUT, options=_blend_relative_option(),
        description="Where new frames go, one folder per transition. '//' is the .blend's folder; an unsaved "
                    "file uses the system's temporary folder")
    daemon_ocio_config: StringProperty(
        name="OCIO Config on the Daemon", subtype="FILE_PATH", default="",
        description="Leave empty for a daemon on this computer. Only for a daemon on another computer: where "
                    "that computer sees Blender's colour management config (config.ocio)")

    def draw(self, context: Any) -> None:
        layout = self.layout
        layout.use_property_split = True
        col = layout.column(heading="Daemon")
        col.prop(self, "address")
        col.prop(self, "token_file")
        col.prop(self, "tls_ca_file")
        col.prop(self, "auto_start")
        sub = col.column()
        sub.active = self.auto_start
        sub.prop(self, "renderd_path")
        col = layout.column(heading="Frames")
        col.prop(self, "output_dir")
        col.prop(self, "daemon_ocio_config")
        row = layout.row()
        row.operator("segue.check_daemon", icon="PLUGIN")
        if not bpy.app.online_access and not connection.is_loopback(self.address):
            layout.label(text="Online access is off: only a daemon on this computer can be used (Preferences > "
                              "System > Network > Allow Online Access)", icon="ERROR")


class _Defaults:
    """The preferences' defaults, for a package registered outside the add-on system."""

    address = connection.DEFAULT_ADDRESS
    token_file = tls_ca_file = daemon_ocio_config = ""
    auto_start = True
    renderd_path = "segue-renderd"
    output_dir = DEFAULT_OUTPUT


def preferences(context: Any = None) -> Any:
    """The stored preferences, or the defaults."""
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_ID)
    return addon.preferences if addon is not None and addon.preferences is not None else _Defaults()


def settings(context: Any = None) -> connection.Settings:
    """The connection settings from the preferences and Blender's online-access switch."""
    prefs = preferences(context)
    return connection.Settings(
        address=prefs.address.strip() or connection.DEFAULT_ADDRESS,
        token_file=_abs(prefs.token_file), tls_ca_file=_abs(prefs.tls_ca_file),
        auto_start=prefs.auto_start, renderd_path=_abs(prefs.renderd_path) if os.sep in prefs.renderd_path
        else prefs.renderd_path, store_dir=_store_dir(), online_access=bpy.app.online_access)


def output_root(context: Any = None) -> str:
    """Absolute folder for new transitions ('//' needs a saved .blend, else a temp folder)."""
    folder = preferences(context).output_dir or DEFAULT_OUTPUT
    if folder.startswith("//") and not bpy.data.filepath:
        return os.path.join(tempfile.gettempdir(), "segue-blender")
    return os.path.normpath(bpy.path.abspath(folder))


def daemon_ocio_config(context: Any = None) -> str:
    """The preferences' override, if set (a daemon on another machine), else ''."""
    return _abs(preferences(context).daemon_ocio_config)


def _abs(path: str) -> str:
    return os.path.normpath(bpy.path.abspath(path)) if path else ""


def _store_dir() -> str:
    # Extensions get a writable folder of their own (4.2+); a plain add-on uses the user's datafiles.
    try:
        return bpy.utils.extension_path_user(ADDON_ID, path="renderd-store", create=True)
    except (ValueError, AttributeError):
        return bpy.utils.user_resource("DATAFILES", path=os.path.join("segue", "renderd-store"), create=True)
