"""Make the images of docs/blender.md from the real Blender (bpy), headless.

    python plugins/blender/build_extension.py --platform current --out dist/blender
    build/blender-venv/bin/pip install pillow
    build/blender-venv/bin/python plugins/blender/doc_images.py \\
        --zip dist/blender/segue_transition-0.1.0-linux_x64.zip --renderd .venv/bin/segue-renderd

Blender as a Python module has no windows, so it cannot take a screenshot of its own
UI. The pictures are composed instead, from Blender's own data, never invented:

* ``blender_strip_menu.png``: the sequencer's header menus and the Strip menu, as
  Blender 5.0's own menu ``draw`` functions lay them out (recorded on a stand-in
  layout) with the extension installed, drawn in Blender's default theme colours and
  its Inter font. Shortcuts and icons are left out.
* ``blender_timeline_result.png``: the sequencer timeline after
  ``bpy.ops.sequencer.synthesize_transition(frames=8)`` on the two demo takes: every
  strip at its real channel and frames, in the theme's strip colours; below it, the
  frames Blender's own sequencer renders at each timeline frame across the transition
  (A's last frame, the eight synthesized frames, B's first frame).

The extension is installed from the zip into a temporary Blender user folder and talks
to a segue-renderd it starts itself (``--renderd``), as a user's would.
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "core" / "assets" / "demo"
ADDON = "bl_ext.user_default.segue_transition"
SCALE = 2  # pixels per Blender UI pixel: crisp in a README


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zip", required=True, type=Path, help="extension zip from build_extension.py")
    parser.add_argument("--renderd", required=True, type=Path, help="the segue-renderd executable")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images")
    args = parser.parse_args(argv)
    os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="segue-doc-blender-")
    import bpy  # after the user folder is set: never touch the real user's Blender setup

    bpy.ops.extensions.package_install_files(filepath=str(args.zip.resolve()), repo="user_default",
                                             enable_on_install=True)
    prefs = bpy.context.preferences.addons[ADDON].preferences
    prefs.address = f"127.0.0.1:{_free_port()}"
    prefs.auto_start, prefs.renderd_path = True, str(args.renderd.resolve())
    work = Path(tempfile.mkdtemp(prefix="segue-doc-"))
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 25, 1
    scene.render.resolution_x, scene.render.resolution_y = 640, 360
    editor = scene.sequence_editor_create()
    a = editor.strips.new_movie(name="take_a", filepath=str(DEMO / "take_a.mp4"), channel=1, frame_start=1)
    b = editor.strips.new_movie(name="take_b", filepath=str(DEMO / "take_b.mp4"), channel=1, frame_start=13)
    a.select = b.select = True
    editor.active_strip = b
    bpy.ops.wm.save_as_mainfile(filepath=str(work / "demo.blend"))

    args.out.mkdir(parents=True, exist_ok=True)
    draw_menu(bpy, record_menus(bpy, b), args.out / "blender_strip_menu.png")
    assert bpy.ops.sequencer.synthesize_transition(frames=8) == {"FINISHED"}
    result = editor.active_strip
    thumbs = render_frames(bpy, range(result.frame_final_start - 1, result.frame_final_end + 1), work)
    draw_timeline(bpy, editor, result, thumbs, args.out / "blender_timeline_result.png")
    bpy.ops.preferences.addon_disable(module=ADDON)  # stops the daemon it started
    for name in ("blender_strip_menu.png", "blender_timeline_result.png"):
        print(args.out / name)
    return 0


# -- recording Blender's menus -----------------------------------------------------------


class _Recorder:
    """A stand-in `UILayout` that logs the entries a menu's ``draw`` adds."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, ...]] = []
        self.operator_context = "INVOKE_DEFAULT"

    def operator(self, idname: str, text: str | None = None, icon: str = "NONE", **_: Any) -> Any:
        self.entries.append(("operator", idname, text or ""))
        return type("Props", (), {"__setattr__": lambda *a: None})()

    def menu(self, name: str, text: str | None = None, **_: Any) -> None:
        self.entries.append(("menu", name, text or ""))

    def separator(self, *_: Any, **__: Any) -> None:
        self.entries.append(("separator",))

    def __getattr__(self, name: str) -> Any:
        return lambda *a, **kw: self  # row(), column(), prop() ...: not menu entries


def record_menus(bpy: Any, active: Any) -> dict[str, list[tuple[str, str]]]:
    """Labels of the sequencer's header menus and of the Strip menu's entries."""
    class Space:
        view_type, type, show_markers = "SEQUENCER", "SEQUENCE_EDITOR", True

    class Context:
        space_data = Space()
        active_strip = active
        sequencer_scene = active.id_data

        def __getattr__(self, name: str) -> Any:
            return getattr(bpy.context, name)

    def run(menu: str) -> list[tuple[str, ...]]:
        recorder = _Recorder()
        owner = type("Menu", (), {"layout": recorder, "bl_idname": menu})()
        getattr(bpy.types, menu).draw(owner, Context())
        return recorder.entries

    def label(entry: tuple[str, ...]) -> tuple[str, str]:
        if entry[0] == "separator":
            return ("separator", "")
        if entry[0] == "menu":
            return ("menu", entry[2] or getattr(bpy.types, entry[1]).bl_label)
        module, name = entry[1].split(".")
        return ("operator:" + entry[1], entry[2] or getattr(getattr(bpy.ops, module), name).get_rna_type().name)

    header = [label(e)[1] for e in run("SEQUENCER_MT_editor_menus") if e[0] == "menu"]
    return {"header": header, "strip": [label(e) for e in run("SEQUENCER_MT_strip")]}


# -- drawing -------------------------------------------------------------------------------


def _font(bpy: Any, size: int) -> Any:
    from PIL import ImageFont

    inter = Path(bpy.utils.resource_path("LOCAL")) / "datafiles" / "fonts" / "Inter.woff2"
    try:
        return ImageFont.truetype(str(inter), size * SCALE)
    except OSError:  # a FreeType without WOFF2 support
        return ImageFont.truetype("DejaVuSans.ttf", size * SCALE)


def _rgb(color: Any) -> tuple[int, int, int]:
    return tuple(round(255 * c) for c in tuple(color)[:3])


def draw_menu(bpy: Any, menus: dict[str, list[Any]], out: Path) -> None:
    from PIL import Image, ImageDraw

    ui = bpy.context.preferences.themes[0].user_interface
    back, item_sel = _rgb(ui.wcol_menu_back.inner), _rgb(ui.wcol_menu_item.inner_sel)
    text, text_sel = _rgb(ui.wcol_menu_item.text), _rgb(ui.wcol_menu_item.text_sel)
    header_back = _rgb(bpy.context.preferences.themes[0].sequence_editor.space.header)
    s, font = SCALE, _font(bpy, 11)
    row, width, header_h = 21 * s, 230 * s, 26 * s
    entries = menus["strip"]
    height = header_h + 8 * s + sum(row if kind != "separator" else 7 * s for kind, _ in entries) + 8 * s
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    header, x = [], 10 * s
    for name in menus["header"]:
        w = measure.textlength(name, font=font) + 16 * s
        header.append((name, x, w))
        x += w
    menu_x = next(x for name, x, _ in header if name == "Strip")
    image = Image.new("RGB", (int(max(x, menu_x + width) + 20 * s), height + 10 * s), (48, 48, 48))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, image.width, header_h), fill=header_back)
    for name, x, w in header:
        if name == "Strip":
            draw.rounded_rectangle((x, 3 * s, x + w, header_h - 3 * s), 4 * s, fill=item_sel)
        draw.text((x + 8 * s, header_h / 2), name, font=font, fill=text_sel if name == "Strip" else text,
                  anchor="lm")
    top = header_h + 2 * s
    draw.rounded_rectangle((menu_x, top, menu_x + width, height), 6 * s, fill=back, outline=(60, 60, 60))
    y = top + 6 * s
    for kind, label in entries:
        if kind == "separator":
            draw.line((menu_x + 8 * s, y + 3 * s, menu_x + width - 8 * s, y + 3 * s), fill=(58, 58, 58), width=s)
            y += 7 * s
            continue
        ours = kind == "operator:sequencer.synthesize_transition"
        if ours:
            draw.rounded_rectangle((menu_x + 4 * s, y, menu_x + width - 4 * s, y + row), 4 * s, fill=item_sel)
        draw.text((menu_x + 28 * s, y + row / 2), label, font=font, fill=text_sel if ours else text, anchor="lm")
        if kind == "menu":
            draw.text((menu_x + width - 16 * s, y + row / 2), "›", font=font, fill=text, anchor="mm")
        y += row
    image.save(out, optimize=True)


def render_frames(bpy: Any, frames: range, work: Path) -> list[tuple[int, Path]]:
    """What Blender's sequencer shows at each timeline frame, as small PNGs."""
    scene = bpy.context.scene
    scene.render.resolution_percentage = 25
    scene.render.image_settings.file_format = "PNG"
    rendered = []
    for frame in frames:
        scene.frame_current = frame
        scene.render.filepath = str(work / f"shown_{frame:04d}.png")
        bpy.ops.render.render(write_still=True)
        rendered.append((frame, Path(scene.render.filepath)))
    scene.render.resolution_percentage = 100
    return rendered


def draw_timeline(bpy: Any, editor: Any, result: Any, thumbs: list[tuple[int, Path]], out: Path) -> None:
    from PIL import Image, ImageDraw

    theme = bpy.context.preferences.themes[0].sequence_editor
    colours = {"MOVIE": _rgb(theme.movie_strip), "IMAGE": _rgb(theme.image_strip)}
    back, grid = _rgb(theme.space.back), _rgb(theme.grid)
    s, font, small = SCALE, _font(bpy, 11), _font(bpy, 9)
    first, last = 0, 26
    frame_w, channel_h, ruler_h, left = 22 * s, 34 * s, 22 * s, 70 * s
    channels = 3
    thumb_w, thumb_h = 80 * s, 45 * s
    strip_area_h = ruler_h + channels * channel_h
    width = max(left + (last - first) * frame_w, len(thumbs) * (thumb_w + 6 * s) + 20 * s)
    height = strip_area_h + 30 * s + thumb_h + 40 * s
    image = Image.new("RGB", (width, height), back)
    draw = ImageDraw.Draw(image)

    def x_of(frame: float) -> float:
        return left + (frame - first) * frame_w

    def y_of(channel: int) -> float:  # channel 1 at the bottom, like Blender
        return ruler_h + (channels - channel) * channel_h

    for frame in range(first, last + 1):
        draw.line((x_of(frame), ruler_h, x_of(frame), strip_area_h), fill=grid, width=1)
        if frame % 2 == 1:
            draw.text((x_of(frame), ruler_h / 2), str(frame), font=small, fill=(200, 200, 200), anchor="mm")
    for channel in range(1, channels + 1):
        draw.text((10 * s, y_of(channel) + channel_h / 2), f"Channel {channel}", font=small, fill=(170, 170, 170),
                  anchor="lm")
    for strip in editor.strips_all:
        x0, x1 = x_of(strip.frame_final_start), x_of(strip.frame_final_end)
        y0 = y_of(strip.channel) + 3 * s
        y1 = y0 + channel_h - 6 * s
        outline = (255, 255, 255) if strip == editor.active_strip else (255, 160, 40) if strip.select else (0, 0, 0)
        draw.rounded_rectangle((x0, y0, x1, y1), 3 * s, fill=colours.get(strip.type, (120, 120, 120)),
                               outline=outline, width=s)
        kind = "image sequence" if strip.type == "IMAGE" else "movie"
        draw.text((x0 + 6 * s, (y0 + y1) / 2), f"{strip.name} | {kind} | {strip.frame_final_duration}",
                  font=small, fill=(255, 255, 255), anchor="lm")
    cut = result.frame_final_start + result.frame_final_duration // 2
    draw.line((x_of(cut), ruler_h, x_of(cut), strip_area_h), fill=(70, 140, 255), width=s)

    top = strip_area_h + 30 * s
    draw.text((10 * s, top - 15 * s), "What Blender's sequencer shows at each frame:", font=font,
              fill=(220, 220, 220), anchor="lm")
    for i, (frame, path) in enumerate(thumbs):
        x = 10 * s + i * (thumb_w + 6 * s)
        with Image.open(path) as shown:
            image.paste(shown.convert("RGB").resize((thumb_w, thumb_h)), (x, top))
        synthesized = result.frame_final_start <= frame < result.frame_final_end
        if synthesized:
            draw.rectangle((x - s, top - s, x + thumb_w + s, top + thumb_h + s), outline=colours["IMAGE"], width=2 * s)
        label = (f"T{frame - result.frame_final_start + 1}" if synthesized
                 else "A" if frame < result.frame_final_start else "B")
        draw.text((x + thumb_w / 2, top + thumb_h + 12 * s), f"{label} · frame {frame}", font=small,
                  fill=(220, 220, 220), anchor="mm")
    image.save(out, optimize=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
