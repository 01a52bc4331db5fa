"""Registration: the operators, the preferences and the menu entries (Strip menu, strip context menu)."""
from __future__ import annotations

import bpy

from . import connection
from .operator import (
    SEGUE_OT_check_daemon,
    SEQUENCER_OT_open_transition_contact_sheet,
    SEQUENCER_OT_send_transitions_to_farm,
    SEQUENCER_OT_synthesize_transition,
    menu_draw,
)
from .preferences import SegueAddonPreferences

CLASSES = (SegueAddonPreferences, SEQUENCER_OT_synthesize_transition, SEQUENCER_OT_send_transitions_to_farm,
           SEQUENCER_OT_open_transition_contact_sheet, SEGUE_OT_check_daemon)
MENUS = ("SEQUENCER_MT_strip", "SEQUENCER_MT_context_menu")


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    for menu in MENUS:
        getattr(bpy.types, menu).append(menu_draw)


def unregister() -> None:
    for menu in MENUS:
        getattr(bpy.types, menu).remove(menu_draw)
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
    connection.close()  # the channel and any daemon this add-on started
