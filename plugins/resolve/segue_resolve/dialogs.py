"""The windows: options, progress with cancel, the result, messages. Fusion's UIManager, or the console.

Built only from what Resolve documents for ``UIManager`` (Developer/Workflow Integrations
README, "UIManager Introduction" ... "Event Handlers"): ``UIDispatcher.AddWindow``,
``RunLoop``/``ExitLoop``, the Label, Button, CheckBox, SpinBox, ComboBox, LineEdit and
Slider elements with their documented attributes (``ToolTip``, ``ReadOnly``, ``StyleSheet``
among them), ``win.On.<ID>.<Event>`` handlers, and ``UIManager.QueueEvent(element, event,
info)``.

Wording: the first line of every window says what happened and what to do, in an
editor's words; technical detail (a daemon's status, a model's technical name) goes on
a secondary line or in a tooltip, never in its place.

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
    """What the user chose; ``previews``: import the preview movies into the Segue bin;
    ``chunks``: render tasks per cut of a farm job."""

    frames: int
    placement: str
    model: str
    format: str
    previews: bool = False
    chunks: int = 1


@dataclass(frozen=True)
class Choices:
    """What the options dialog offers: limits per placement, the daemon's models and formats.

    ``models`` are the daemon's technical names; ``model_labels`` what the menu shows for
    them and ``model_tips`` their tooltips (see `models`). ``render_folder`` is where the
    frames will be written. ``chunks`` set: the options of a render-farm job (tasks per cut
    offered, ``render_folder`` is the job's folder; no previews to import).
    """

    summary: str
    frames: int
    limits: dict[str, int]
    placement: str
    models: Sequence[str]
    model: str
    formats: Sequence[str]
    format: str
    model_labels: Sequence[str] = ()
    model_tips: Sequence[str] = ()
    render_folder: str = ""
    previews: bool = False
    chunks: int | None = None

    @property
    def farm(self) -> bool:
        """True for a render-farm job's options."""
        return self.chunks is not None


@dataclass(frozen=True)
class Done:
    """What the final window shows: the result in the editor's terms, and where the files are."""

    title: str
    lines: Sequence[str]
    folder: str
    folder_label: str = "Frames in"


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

    def message(self, title: str, text: str, detail: str = "") -> None:
        """A message with an OK button; returns when it is dismissed.

        ``detail`` (technical: a status code, the daemon's own words) is a second, dimmer
        line, for a bug report rather than for reading first.
        """
        ui = self.ui
        children = [ui.Label({"ID": "Message", "Text": text, "WordWrap": True, "Weight": 1})]
        if detail:
            children.append(ui.Label({"ID": "Detail", "Text": f"Details: {detail}", "WordWrap": True, "Weight": 0,
                                      "StyleSheet": "color: gray;", "ToolTip": detail}))
        children.append(ui.HGroup({"Weight": 0}, [ui.Button({"ID": "OK", "Text": "OK"})]))
        window = self._window("SegueMessageWin", f"Segue: {title}", 200 if detail else 180, children)
        live = _Live()
        window.On.OK.Clicked = live(self._exit)
        window.On.SegueMessageWin.Close = live(self._exit)
        self._run(window, live)

    def done(self, result: Done) -> None:
        """The result window: what was placed where, and the folder with the frames (selectable)."""
        ui = self.ui
        lines = [ui.Label({"ID": f"Line{k}", "Text": line, "WordWrap": True, "Weight": 0})
                 for k, line in enumerate(result.lines, 1)]
        window = self._window("SegueDoneWin", f"Segue: {result.title}", 120 + 30 * len(lines), [
            *lines,
            ui.HGroup({"Weight": 0}, [
                ui.Label({"Text": result.folder_label, "Weight": 0, "MinimumSize": [90, 0]}),
                # a read-only field, so the path can be selected and copied
                ui.LineEdit({"ID": "Folder", "Text": result.folder, "ReadOnly": True, "ToolTip": result.folder}),
            ]),
            ui.HGroup({"Weight": 0}, [ui.Button({"ID": "OK", "Text": "OK"})]),
        ])
        live = _Live()
        window.On.OK.Clicked = live(self._exit)
        window.On.SegueDoneWin.Close = live(self._exit)
        self._run(window, live)

    def ask_options(self, choices: Choices) -> Options | None:
        """Frames, placement, model, format and previews (a farm job: tasks per cut instead of
        previews); None if the user cancels."""
        ui = self.ui

        def row(label: str, element: Any) -> Any:
            return ui.HGroup({"Weight": 0}, [ui.Label({"Text": label, "Weight": 0, "MinimumSize": [90, 0]}), element])

        models = list(choices.models)
        labels = list(choices.model_labels) or models
        tips = list(choices.model_tips) or [f"Technical name: {m}" for m in models]
        if choices.farm:
            extra = [row("Tasks per cut", ui.SpinBox({
                "ID": "Chunks", "Minimum": 1, "Maximum": 64, "Value": choices.chunks,
                "ToolTip": "Render tasks each cut's frames are split into: more tasks, more farm workers on one cut"}))]
            folder_tip = ("The job (template, parameters, a README of how to submit it) and every cut's frames go "
                          "here: the farm's workers must reach this folder")
        else:
            extra = [ui.CheckBox({
                "ID": "Previews", "Text": "Import previews into the Segue bin", "Checked": choices.previews,
                "ToolTip": "Also import preview.mp4 (a few frames of A, the new frames, a few of B) and "
                           "preview_dissolve.mp4 (the same with a plain dissolve), to compare. They are not placed "
                           "on the timeline."})]
            folder_tip = ("One folder per Resolve project. To change it: segue install resolve --output-root DIR, or "
                          "output_root in the script's settings.json")
        title = "Send Cuts to Render Farm" if choices.farm else "Synthesize Transition"
        window = self._window("SegueOptionsWin", f"Segue: {title}", 330, [
            ui.Label({"ID": "Summary", "Text": choices.summary, "WordWrap": True, "Weight": 1}),
            row("Frames", ui.SpinBox({"ID": "Frames", "Minimum": 1,
                                      "Maximum": max(1, choices.limits[choices.placement]),
                                      "Value": choices.frames})),
            row("Placement", ui.ComboBox({"ID": "Placement"})),
            row("Model", ui.ComboBox({"ID": "Model"})),
            row("Format", ui.ComboBox({"ID": "Format"})),
            row("Job folder" if choices.farm else "Frames go to",
                ui.LineEdit({"ID": "RenderFolder", "Text": choices.render_folder, "ReadOnly": True,
                             "ToolTip": folder_tip})),
            *extra,
            ui.HGroup({"Weight": 0}, [ui.Button({"ID": "Cancel", "Text": "Cancel"}),
                                      ui.Button({"ID": "Synthesize",
                                                 "Text": "Write Farm Job" if choices.farm else "Synthesize"})]),
        ])
        items = window.GetItems()
        items["Placement"].AddItems([PLACEMENT_LABELS[p] for p in PLACEMENTS])
        items["Placement"].CurrentIndex = PLACEMENTS.index(choices.placement)
        items["Model"].AddItems(labels)
        items["Model"].CurrentIndex = models.index(choices.model)
        items["Model"].ToolTip = tips[models.index(choices.model)]
        items["Format"].AddItems([f.upper() for f in choices.formats])
        items["Format"].CurrentIndex = list(choices.formats).index(choices.format)

        def placement_changed(ev: Any) -> None:
            # each placement has its own frame limit (centred needs visible frames on both sides)
            limit = max(1, choices.limits[PLACEMENTS[int(items["Placement"].CurrentIndex)]])
            items["Frames"].Maximum = limit
            if int(items["Frames"].Value) > limit:
                items["Frames"].Value = limit

        def model_changed(ev: Any) -> None:
            # a combo box has one tooltip: it describes the model shown, with its technical name
            index = int(items["Model"].CurrentIndex)
            if 0 <= index < len(tips):
                items["Model"].ToolTip = tips[index]

        live = _Live()
        window.On.Placement.CurrentIndexChanged = live(placement_changed)
        window.On.Model.CurrentIndexChanged = live(model_changed)
        window.On.Synthesize.Clicked = live(lambda ev: self.dispatcher.ExitLoop(1))
        window.On.Cancel.Clicked = live(self._exit)
        window.On.SegueOptionsWin.Close = live(self._exit)
        if self._run(window, live) != 1:
            return None
        return Options(frames=int(items["Frames"].Value),
                       placement=PLACEMENTS[int(items["Placement"].CurrentIndex)],
                       model=models[int(items["Model"].CurrentIndex)],
                       format=list(choices.formats)[int(items["Format"].CurrentIndex)],
                       previews=not choices.farm and bool(items["Previews"].Checked),
                       chunks=int(items["Chunks"].Value) if choices.farm else 1)

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

    def message(self, title: str, text: str, detail: str = "") -> None:
        """Print the message (and its detail on a second line)."""
        print(f"Segue: {title}: {text}")
        if detail:
            print(f"Segue:   details: {detail}")

    def done(self, result: Done) -> None:
        """Print the result and the folder."""
        for line in result.lines:
            print(f"Segue: {line}")
        print(f"Segue: {result.folder_label.lower()} {result.folder}")

    def ask_options(self, choices: Choices) -> Options | None:
        """The defaults, announced."""
        print(f"Segue: {choices.summary} ({choices.frames} frames, {choices.placement})")
        return Options(choices.frames, choices.placement, choices.model, choices.format, choices.previews,
                       choices.chunks or 1)

    def progress(self, title: str, work: Callable[[Report], Any], cancel: Callable[[], None]) -> tuple[Any, bool]:
        """Run ``work`` here, printing its progress; Ctrl-C cancels the job."""
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
