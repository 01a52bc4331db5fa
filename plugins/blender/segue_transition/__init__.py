"""Segue for Blender's Video Sequencer: Strip > Synthesize Transition.

A Blender 4.2+ extension (see ``blender_manifest.toml``). The pure modules (`mapping`,
`job`, `connection`) import no ``bpy`` so they can be tested outside Blender; this file
therefore imports the Blender-facing ones only when Blender registers the add-on.
"""


def register() -> None:
    from . import addon

    addon.register()


def unregister() -> None:
    from . import addon

    addon.unregister()
