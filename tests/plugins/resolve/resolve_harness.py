"""Helpers of the Resolve script suites: paths, running the entry as Resolve does, a scripted editor.

Test modules import from here and load the fixtures with
``pytest_plugins = ("resolve_fixtures",)`` (see `resolve_fixtures`).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
PLUGIN = REPO / "plugins" / "resolve"
sys.path.insert(0, str(REPO / "tests" / "renderd"))  # the renderd harness, reused rather than copied
sys.path.insert(0, str(PLUGIN))  # segue_resolve, imported the way the entry script imports it

from fake_resolve import FakeUser, FakeWindow, Scene

ENTRY = PLUGIN / "Segue Synthesize Transition.py"
FPS = "25.000"  # the demo takes: 25 fps, 12 frames each
TAKE_FRAMES = 12


def run_entry(scene: Scene, user: FakeUser, entry: Path = ENTRY, with_file: bool = True, ui: bool = True,
              action: str = "transition") -> str:
    """Run the entry script the way Resolve runs a Scripts menu item: ``resolve``, ``fusion``, ``bmd`` defined.

    ``ui=False``: only ``resolve``, as for a script without Fusion's UI (the console fallback).
    ``action``: the menu item the checkout's entry plays, as `segue install resolve` writes it.
    """
    from segue.install_resolve import entry_text

    scene.ui.user = user
    script_globals: dict[str, Any] = {"__name__": "__main__", "resolve": scene.resolve}
    if ui:
        script_globals.update(fusion=scene.resolve.Fusion(), bmd=scene.bmd)
    if with_file:
        script_globals["__file__"] = str(entry)
    source = entry_text(action, None) if entry == ENTRY else entry.read_text(encoding="utf-8")
    exec(compile(source, str(entry), "exec"), script_globals)  # noqa: S102
    return script_globals["SEGUE_OUTCOME"]


class Editor(FakeUser):
    """Answers Segue's dialogs: sets frames, placement and previews and confirms; dismisses the rest.

    ``cancel_options`` cancels the options dialog; ``cancel_render`` clicks Cancel in the
    progress window at its first update; ``previews`` ticks "Import previews"; ``chunks``
    sets a farm job's tasks per cut. What the
    windows said is kept: ``messages`` (title, text), ``details`` (their technical line or
    ""), ``options_seen`` (the options dialog's state) and ``results`` (the final window's
    title, lines and folder).
    """

    def __init__(self, frames: int | None = None, placement: int | None = None, cancel_options: bool = False,
                 cancel_render: bool = False, previews: bool = False, chunks: int | None = None) -> None:
        self.frames = frames
        self.chunks = chunks
        self.placement = placement
        self.cancel_options = cancel_options
        self.cancel_render = cancel_render
        self.previews = previews
        self.messages: list[tuple[str, str]] = []
        self.details: list[str] = []
        self.options_seen: list[dict] = []
        self.results: list[dict] = []
        self.progress_updates = 0
        self._awaiting_placement = False

    def shown(self, window: FakeWindow) -> None:
        items = window.GetItems()
        if window.ID == "SegueOptionsWin":
            self.options_seen.append({
                "summary": items["Summary"].Text, "frames": items["Frames"].Value,
                "maximum": items["Frames"].Maximum, "placement": items["Placement"].CurrentIndex,
                "models": list(items["Model"]._items), "model": items["Model"].CurrentText,
                "model_tip": items["Model"].ToolTip, "render_folder": items["RenderFolder"].Text,
                "previews": items["Previews"].Checked if "Previews" in items else None,
                "chunks": items["Chunks"].Value if "Chunks" in items else None,
                "button": items["Synthesize"].Text, "title": window.WindowTitle})
            if self.cancel_options:
                items["Cancel"].Click()
            elif self.placement is not None and self.placement != items["Placement"].CurrentIndex:
                self._awaiting_placement = True  # let the dialog update the frame limit first
                items["Placement"].CurrentIndex = self.placement
            else:
                self._confirm(items)
        elif window.ID == "SegueMessageWin":
            texts = window.texts()
            self.messages.append((texts[0], items["Message"].Text))
            self.details.append(items["Detail"].Text if "Detail" in items else "")
            items["OK"].Click()
        elif window.ID == "SegueDoneWin":
            lines = sorted((int(i[4:]), e.Text) for i, e in items.items() if i.startswith("Line"))
            self.results.append({"title": window.WindowTitle, "lines": [text for _, text in lines],
                                 "folder": items["Folder"].Text})
            items["OK"].Click()

    def _confirm(self, items: dict) -> None:
        if self.frames is not None:
            items["Frames"].Value = self.frames
        if "Previews" in items and self.previews != bool(items["Previews"].Checked):
            items["Previews"].Click()
        if self.chunks is not None:
            items["Chunks"].Value = self.chunks
        items["Synthesize"].Click()

    def event(self, window: FakeWindow, element_id: str | None, event: str) -> None:
        if window.ID == "SegueOptionsWin" and (element_id, event) == ("Placement", "CurrentIndexChanged") \
                and self._awaiting_placement:
            self._awaiting_placement = False
            self._confirm(window.GetItems())
        if window.ID == "SegueProgressWin" and element_id == "Relay":
            self.progress_updates += 1
            if self.cancel_render and self.progress_updates == 1:
                window.GetItems()["Cancel"].Click()
