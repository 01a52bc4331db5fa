"""The windows: options, progress with cancel, messages. Fusion's UIManager, or the console.

Built only from what Resolve documents for ``UIManager`` (Developer/Workflow Integrations
README, "UIManager Introduction" ... "Event Handlers"): ``UIDispatcher.AddWindow``,
``RunLoop``/``ExitLoop``, the Label, Button, SpinBox, ComboBox and Slider elements with
their documented attributes, ``win.On.<ID>.<Event>`` handlers, and
``UIManager.QueueEvent(element, event, info)``.

One dispatcher serves every window of a run, and an event queued for a window can still
be delivered after that window's loop ended; so each window's handlers are live only
while its own loop runs (`_Live`), and a late event cannot end a later window's loop.

Progress: the daemon is watched on a worker thread, and the window must keep answering
(Cancel) meanwhile, so the worker never touches the window itself. It stores the latest
numbers and queues a ``Clicked`` event on a hidden relay button; the handler, run by the
dispatcher's loop, redraws and ends the loop once the worker is done.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .mapping import PLACEMENT_LABELS, PLACEMENTS

Report = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Options:
    """What the user chose."""

    frames: int
    placement: str
    model: str
    format: str


@dataclass(frozen=True)
class Choices:
    """What the options dialog offers: limits per placement, and the daemon's models and formats."""

    summary: str
    frames: int
    limits: dict[str, int]
    placement: str
    models: Sequence[str]
    model: str
    formats: Sequence[str]
    format: str


def progress_text(progress: dict[str, Any] | None) -> str:
    """``Frame 3 of 8 (about 4 s left)`` from the daemon's numbers."""
    if not progress or not progress.get("total"):
        return "Waiting for the render daemon..."
    text = f"Frame {progress['done']} of {progress['total']}"
    if progress.get("eta") is not None and progress["done"] < progress["total"]:
        text += f" (about {max(1, round(progress['eta']))} s left)"
    return text


class _Live:
    """Handlers of one window that act only while that window's loop runs."""

    def __init__(self) -> None:
        self.active = False

    def __call__(self, handler: Callable[[Any], None]) -> Callable[[Any], None]:
        def guarded(ev: Any) -> None:
            if self.active:
                handler(ev)
        return guarded


class UIDialogs:
    """Dialogs in Resolve's own windows (UIManager + UIDispatcher)."""

    def __init__(self, fusion: Any, bmd: Any) -> None:
        self.ui = fusion.UIManager
        self.dispatcher = bmd.UIDispatcher(self.ui)

    def _window(self, window_id: str, title: str, height: int, children: list[Any]) -> Any:
        return self.dispatcher.AddWindow(
            {"ID": window_id, "WindowTitle": title, "Geometry": [400, 300, 560, height]},
            [self.ui.VGroup({"Spacing": 8}, children)])

    def _run(self, window: Any, live: _Live, started: Callable[[], None] = lambda: None) -> int:
        live.active = True
        try:
            window.Show()
            started()
            return self.dispatcher.RunLoop()
        finally:
            live.active = False
            window.Hide()

    def message(self, title: str, text: str) -> None:
        """A message with an OK button; returns when it is dismissed."""
        ui = self.ui
        window = self._window("SegueMessageWin", f"Segue: {title}", 180, [
            ui.Label({"ID": "Message", "Text": text, "WordWrap": True, "Weight": 1}),
            ui.HGroup({"Weight": 0}, [ui.Button({"ID": "OK", "Text": "OK"})]),
        ])
        live = _Live()
        window.On.OK.Clicked = live(self._exit)
        window.On.SegueMessageWin.Close = live(self._exit)
        self._run(window, live)

    def ask_options(self, choices: Choices) -> Options | None:
        """Frames, placement, model and format; None if the user cancels."""
        ui = self.ui

        def row(label: str, element: Any) -> Any:
            return ui.HGroup({"Weight": 0}, [ui.Label({"Text": label, "Weight": 0, "MinimumSize": [90, 0]}), element])

        window = self._window("SegueOptionsWin", "Segue: Synthesize Transition", 260, [
            ui.Label({"ID": "Summary", "Text": choices.summary, "WordWrap": True, "Weight": 1}),
            row("Frames", ui.SpinBox({"ID": "Frames", "Minimum": 1,
                                      "Maximum": max(1, choices.limits[choices.placement]),
                                      "Value": choices.frames})),
            row("Placement", ui.ComboBox({"ID": "Placement"})),
            row("Model", ui.ComboBox({"ID": "Model"})),
            row("Format", ui.ComboBox({"ID": "Format"})),
            ui.HGroup({"Weight": 0}, [ui.Button({"ID": "Cancel", "Text": "Cancel"}),
                                      ui.Button({"ID": "Synthesize", "Text": "Synthesize"})]),
        ])
        items = window.GetItems()
        items["Placement"].AddItems([PLACEMENT_LABELS[p] for p in PLACEMENTS])
        items["Placement"].CurrentIndex = PLACEMENTS.index(choices.placement)
        items["Model"].AddItems(list(choices.models))
        items["Model"].CurrentIndex = list(choices.models).index(choices.model)
        items["Format"].AddItems(list(choices.formats))
        items["Format"].CurrentIndex = list(choices.formats).index(choices.format)

        def placement_changed(ev: Any) -> None:
            # each placement has its own frame limit (centred needs visible frames on both sides)
            limit = max(1, choices.limits[PLACEMENTS[int(items["Placement"].CurrentIndex)]])
            items["Frames"].Maximum = limit
            if int(items["Frames"].Value) > limit:
                items["Frames"].Value = limit

        live = _Live()
        window.On.Placement.CurrentIndexChanged = live(placement_changed)
        window.On.Synthesize.Clicked = live(lambda ev: self.dispatcher.ExitLoop(1))
        window.On.Cancel.Clicked = live(self._exit)
        window.On.SegueOptionsWin.Close = live(self._exit)
        if self._run(window, live) != 1:
            return None
        return Options(frames=int(items["Frames"].Value),
                       placement=PLACEMENTS[int(items["Placement"].CurrentIndex)],
                       model=list(choices.models)[int(items["Model"].CurrentIndex)],
                       format=list(choices.formats)[int(items["Format"].CurrentIndex)])

    def progress(self, title: str, work: Callable[[Report], Any], cancel: Callable[[], None]) -> tuple[Any, bool]:
        """Run ``work(report)`` on a worker thread behind a progress window with Cancel.

        Returns ``(work's result, whether the user cancelled)``; re-raises work's exception.
        ``cancel`` runs on its own thread when the user clicks Cancel or closes the window.
        """
        ui = self.ui
        window = self._window("SegueProgressWin", f"Segue: {title}", 150, [
            ui.Label({"ID": "Status", "Text": progress_text(None), "Weight": 0}),
            ui.Slider({"ID": "Bar", "Minimum": 0, "Maximum": 1, "Value": 0, "Enabled": False, "Weight": 0}),
            ui.HGroup({"Weight": 0}, [ui.Button({"ID": "Cancel", "Text": "Cancel"})]),
            ui.Button({"ID": "Relay", "Hidden": True}),
        ])
        items = window.GetItems()
        lock = threading.Lock()
        state: dict[str, Any] = {"progress": None, "done": False, "result": None, "error": None,
                                 "cancelled": False, "closed": False}

        def post() -> None:
            ui.QueueEvent(items["Relay"], "Clicked", {})

        def report(progress: dict[str, Any]) -> None:
            with lock:
                state["progress"] = dict(progress)
            post()

        def worker() -> None:
            try:
                state["result"] = work(report)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller on the main thread
                state["error"] = exc
            finally:
                with lock:
                    state["done"] = True
                post()

        def redraw(ev: Any) -> None:
            if state["closed"]:
                return
            with lock:
                progress, done = state["progress"], state["done"]
            if progress and progress.get("total"):
                items["Bar"].Maximum = progress["total"]
                items["Bar"].Value = progress["done"]
            if not state["cancelled"]:
                items["Status"].Text = progress_text(progress)
            if done:
                state["closed"] = True
                self.dispatcher.ExitLoop(0)

        def on_cancel(ev: Any) -> None:
            if state["cancelled"] or state["closed"]:
                return
            state["cancelled"] = True
            items["Cancel"].Enabled = False
            items["Status"].Text = "Cancelling..."
            threading.Thread(target=cancel, name="segue-cancel", daemon=True).start()

        live = _Live()
        window.On.Relay.Clicked = live(redraw)
        window.On.Cancel.Clicked = live(on_cancel)
        window.On.SegueProgressWin.Close = live(on_cancel)
        thread = threading.Thread(target=worker, name="segue-watch", daemon=True)
        try:
            self._run(window, live, started=thread.start)
        finally:
            thread.join()
        if state["error"] is not None:
            raise state["error"]
        return state["result"], state["cancelled"]

    def _exit(self, ev: Any) -> None:
        self.dispatcher.ExitLoop(0)


class ConsoleDialogs:
    """No UI (no Fusion UIManager, e.g. run from a terminal): print, and take the defaults."""

    def message(self, title: str, text: str) -> None:
        print(f"Segue: {title}: {text}")

    def ask_options(self, choices: Choices) -> Options | None:
        print(f"Segue: {choices.summary} ({choices.frames} frames, {choices.placement})")
        return Options(choices.frames, choices.placement, choices.model, choices.format)

    def progress(self, title: str, work: Callable[[Report], Any], cancel: Callable[[], None]) -> tuple[Any, bool]:
        def report(progress: dict[str, Any]) -> None:
            print(f"Segue: {progress_text(progress)}")

        try:
            return work(report), False
        except KeyboardInterrupt:
            cancel()
            raise


def make_dialogs(fusion: Any, bmd: Any) -> Any:
    """Resolve's windows when Fusion's UIManager is reachable, else the console."""
    if fusion is not None and bmd is not None and getattr(fusion, "UIManager", None) is not None:
        return UIDialogs(fusion, bmd)
    return ConsoleDialogs()
