"""Send marked cuts to a render farm, run the job for real, import what it rendered.

The entry runs as its two farm menu items against the fake Resolve and a real
segue-renderd: the daemon writes the Open Job Description job of every marked cut and the
markers carry the cuts; ``openjd run`` renders the job as a farm would; the import then
places each rendered cut above it (one still rendering waits for the next import).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from farm_runs import run_step
from resolve_harness import FPS, TAKE_FRAMES, Editor, Scene, run_entry

pytest_plugins = ("resolve_fixtures",)


def three_takes(resolve_media, scene: Scene) -> tuple[int, int]:
    """take_a, take_b, take_a on V1, 8 frames each: cuts at start + 8 and start + 16."""
    a = scene.add_media(str(resolve_media["a"]), TAKE_FRAMES, FPS)
    b = scene.add_media(str(resolve_media["b"]), TAKE_FRAMES, FPS)
    for k, (media, source_in) in enumerate([(a, 2), (b, 1), (a, 3)]):
        scene.add_clip(1, media, scene.start + 8 * k, source_in, 8)
    return scene.start + 8, scene.start + 16


def marks(scene: Scene) -> dict[int, str]:
    """The markers' customData by record frame."""
    return {scene.start + int(k): v["customData"] for k, v in scene.timeline.GetMarkers().items()}


def test_marked_cuts_go_to_the_farm_and_come_back_placed(resolve_media, resolve_connected):
    scene = Scene()
    cut1, cut2 = three_takes(resolve_media, scene)
    scene.add_marker(cut1 - 1)  # on A's last frame
    scene.add_marker(cut2)  # on B's first frame
    scene.add_marker(scene.start + 3, "Red", "a note, not a cut")
    before = scene.snapshot()
    user = Editor(frames=3, chunks=2)

    assert run_entry(scene, user, action="farm") == "sent"

    [seen] = user.options_seen
    assert seen["title"] == "Segue: Send Cuts to Render Farm" and seen["button"] == "Write Farm Job"
    assert seen["summary"].startswith("2 marked cut(s), from 01:00:00:08") and "1 marker(s) not on a cut" in \
        seen["summary"]
    [done] = user.results
    bundle = Path(done["folder"])
    assert done["title"] == "Segue: Farm job written" and bundle == Path(seen["render_folder"])
    assert {p.name for p in bundle.iterdir() if p.is_file()} >= {"template.yaml", "params.json", "README.md"}
    # Resolve is as it was but for the two markers, which now carry their cuts
    after = scene.snapshot()
    assert [t.pop("markers") for t in after["timelines"]] != [t.pop("markers") for t in before["timelines"]]
    assert after == before
    sent = marks(scene)
    assert sent[scene.start + 3] == ""
    first, second = (json.loads(sent[f].split(" ", 1)[1]) for f in (cut1 - 1, cut2))
    assert (first["record_start"], first["frames"], first["track"]) == (cut1 - 1, 3, 1)
    assert second["record_start"] == cut2 - 1 and Path(second["folder"]).parent == bundle

    # before the farm has run: nothing to import, nothing changed
    waiting = Editor()
    assert run_entry(scene, waiting, action="import") == "refused"
    assert waiting.messages[0][0] == "Segue: Nothing to import yet" and "0 of 3 frames so far" in waiting.messages[0][1]
    assert scene.snapshot()["timelines"][0]["video"] == after["timelines"][0]["video"]

    done = run_step(bundle, "Assemble", "--run-dependencies")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    # the second cut's last step "not yet run": the first is placed, the second waits
    report = Path(second["folder"]) / "transition.json"
    report.rename(report.with_suffix(".later"))
    partial = Editor()
    assert run_entry(scene, partial, action="import") == "placed"
    [items] = [scene.timeline.GetItemListInTrack("video", 2)]
    assert [(i.GetStart(), i.GetDuration()) for i in items] == [(cut1 - 1, 3)]
    assert "Still rendering (1)" in " ".join(partial.results[0]["lines"])
    report.with_suffix(".later").rename(report)

    assert run_entry(scene, Editor(), action="import") == "placed"
    items = scene.timeline.GetItemListInTrack("video", 2)
    assert [(i.GetStart(), i.GetDuration()) for i in items] == [(cut1 - 1, 3), (cut2 - 1, 3)]
    patterns = [i.GetMediaPoolItem().GetClipProperty("File Path") for i in items]
    assert [str(Path(p).parent) for p in patterns] == [first["folder"], second["folder"]]
    assert [c.GetClipProperty("File Path") for c in scene.bin("Segue").GetClipList()] == patterns
    assert set(marks(scene).values()) == {""}  # imported: the next import finds nothing to do
    again = Editor()
    assert run_entry(scene, again, action="import") == "refused"
    assert again.messages[0][0] == "Segue: No farm transitions"


@pytest.mark.parametrize("setup,title", [
    (lambda scene, cuts: None, "No marked cuts"),
    (lambda scene, cuts: scene.add_marker(scene.start + 3), "No marked cuts"),
])
def test_without_a_marker_on_a_cut_nothing_is_sent(resolve_media, resolve_connected, setup, title):
    scene = Scene()
    cuts = three_takes(resolve_media, scene)
    setup(scene, cuts)
    before = scene.snapshot()
    user = Editor()
    assert run_entry(scene, user, action="farm") == "refused"
    assert user.messages[0][0] == f"Segue: {title}" and "Put a marker (M) on each cut" in user.messages[0][1]
    assert scene.snapshot() == before and user.options_seen == []


def test_a_forged_mark_is_ignored(resolve_media, resolve_connected):
    scene = Scene()
    cut1, _ = three_takes(resolve_media, scene)
    scene.add_marker(cut1)
    for forged in ('segue-farm/1 {"folder": "/etc", "frames": "lots"}', "segue-farm/1 not json", "someone's data"):
        assert scene.timeline.UpdateMarkerCustomData(cut1 - scene.start, forged)
        user = Editor()
        assert run_entry(scene, user, action="import") == "refused"
        assert user.messages[0][0] == "Segue: No farm transitions"
