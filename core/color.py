"""Colour management with OpenColorIO. The only module that imports PyOpenColorIO.

Colour contract
===============
* **Working space**: sRGB-encoded Rec.709 — the ACES studio config's
  ``"sRGB - Texture"`` (canonical name ``"sRGB Encoded Rec.709 (sRGB)"`` from studio
  config v4 on): Rec.709/sRGB primaries, D65 white, the piecewise sRGB curve. Every
  stage between reading and writing (correspondence, synthesis, the model) sees
  frames in this space, as float32 ``(H, W, 3)`` RGB. It is an *encoding*, not a
  display: values are never clipped, so super-whites (> 1) and negatives from wide
  gamut or float sources survive a round trip; only integer writers clip.
* **Integer sources** (8-bit PNG/JPEG/movies, 10/12/16-bit PNG/TIFF/movies) are read
  as code value / (2**bits - 1) in [0, 1] by `core.media`, then converted from their
  colourspace. Default when nothing is declared: ``"sRGB - Texture"``, which *is*
  the working space, so the common case costs nothing.
* **Float sources** (EXR half/float, float TIFF) are read as stored. Default
  colourspace: scene-linear Rec.709, ``"Linear Rec.709 (sRGB)"``; converting it
  applies the sRGB curve, extended beyond 1 by the config's transform.
* **Data** colourspaces (``Raw``, Blender's ``Non-Color``) pass through unchanged.
* Precision: conversions run on float32 with OCIO's lossless optimisation; nothing
  is quantised here. The model's own expectations (8-bit-like range) are its
  manifest's business, not this module's.

Configs
=======
`ColorManager` takes the *user's* config (a ``.ocio`` file or an ``ocio://`` built-in
URI; default ``$OCIO``, else ``ocio://studio-config-latest``), in which colourspace
names are resolved. The working space always lives in the built-in studio config.
When the two configs differ (e.g. the user runs Blender's config, whose ``"sRGB"``
and ``"Linear Rec.709"`` are its own definitions), conversions use OCIO 2's
inter-config processors, which meet in each config's interchange roles
(``aces_interchange`` / ``cie_xyz_d65_interchange``).

Processors are built once per (config, colourspace, direction) and cached for the
process; CPU processors are thread-safe.
"""

from __future__ import annotations

import functools
import itertools
import os
import threading

import numpy as np
import PyOpenColorIO as OCIO

from segue.core.errors import InputError

DEFAULT_CONFIG = "ocio://studio-config-latest"
WORKING_CONFIG = "ocio://studio-config-latest"
WORKING_SPACE = "sRGB - Texture"
DEFAULT_INTEGER_COLORSPACE = "sRGB - Texture"
DEFAULT_FLOAT_COLORSPACE = "Linear Rec.709 (sRGB)"
# Shown when a name is unknown; each resolves in the studio, cg and Blender configs.
_EXAMPLE_NAMES = ("sRGB - Texture", "Linear Rec.709 (sRGB)", "ACEScg")
_THREADED_MIN_PIXELS = 1 << 18  # below this, thread start-up costs more than it saves


def default_colorspace(bit_depth: int, is_float: bool) -> str:
    """Default colourspace name for undeclared sources (see the contract above).

    Pure (no OCIO): `core.media` uses it to fill `Clip.colorspace`. The names exist
    as names or aliases in OCIO's studio and cg configs and in Blender's config.
    Every integer depth (8 to 16 bits) defaults to sRGB; ``bit_depth`` is taken so
    that callers state what they know and a future rule has the input it needs.
    """
    return DEFAULT_FLOAT_COLORSPACE if is_float else DEFAULT_INTEGER_COLORSPACE


class ColorManager:
    """Convert frames between a user config's colourspaces and the working space.

    Args:
        config: path of a ``.ocio`` file or an ``ocio://`` URI. None: ``$OCIO`` if
            set, else ``ocio://studio-config-latest``.

    Raises:
        InputError: the config cannot be loaded (message names it).
    """

    def __init__(self, config: str | os.PathLike[str] | None = None) -> None:
        if config is not None:
            source, origin = os.fspath(config), ""
        elif os.environ.get("OCIO"):
            source, origin = os.environ["OCIO"], " (from $OCIO)"
        else:
            source, origin = DEFAULT_CONFIG, ""
        if not source.startswith("ocio://"):
            source = os.path.abspath(source)  # processors are cached by this string
        self.config_source = source
        try:
            self._config = _load_config(source)
        except InputError as exc:
            raise InputError(str(exc).replace(source, source + origin, 1)) from None
        self._working = _load_config(WORKING_CONFIG)
        self._same_config = self._config.getCacheID() == self._working.getCacheID()
        self.working_space: str = self._working.getColorSpace(WORKING_SPACE).getName()

    def resolve(self, name: str) -> str:
        """Canonical name of a colourspace in the user's config.

        Accepts exact names, aliases and role names, case-insensitively
        (``"srgb_tx"``, ``"SRGB - TEXTURE"``, ``"scene_linear"``).

        Raises:
            InputError: unknown name; the message names it, the config and examples.
        """
        space = (
            self._config.getColorSpace(name)
            if isinstance(name, str) and name.strip()
            else None
        )
        if space is None:
            raise InputError(
                f"unknown colourspace {name!r} (config {self.config_source}); "
                f"e.g. {', '.join(self._examples())}"
            )
        return space.getName()

    def output_space(self, requested: str | None, source_space: str, source_is_float: bool, float_file: bool) -> str:
        """The colourspace output frames are written in (canonical name), for transitions and retimes alike.

        The one asked for if any; else scene-linear Rec.709 for a float file format (EXR),
        the source's own colourspace for an integer source, and sRGB for a float source
        written to an integer format.
        """
        if requested:
            return self.resolve(requested)
        if float_file:
            return self.resolve(self.default_for(32, True))
        return source_space if not source_is_float else self.resolve(self.default_for(8, False))

    def default_for(self, bit_depth: int, is_float: bool) -> str:
        """Canonical name, in the user's config, of the default colourspace for a source.

        Integer sources: sRGB-encoded Rec.709; float: scene-linear Rec.709. A custom
        config without those names falls back to its ``default_byte`` /
        ``default_float`` / ``scene_linear`` roles.
        """
        wanted = default_colorspace(bit_depth, is_float)
        roles = ("default_float", "scene_linear") if is_float else ("default_byte",)
        for candidate in (wanted, *roles):
            space = self._config.getColorSpace(candidate)
            if space is not None:
                return space.getName()
        raise InputError(
            f"config {self.config_source} has no {wanted!r} colourspace; "
            "declare the source's colourspace"
        )

    def to_working(self, image: np.ndarray, colorspace: str) -> np.ndarray:
        """Convert float32 ``(H, W, 3)`` RGB from ``colorspace`` to the working space.

        Returns a new float32 array, or ``image`` itself (as float32) when the
        conversion is the identity. Values are not clipped.
        """
        return self._apply(
            image, self._processor(self.resolve(colorspace), to_working=True)
        )

    def from_working(self, image: np.ndarray, colorspace: str) -> np.ndarray:
        """Convert float32 ``(H, W, 3)`` RGB from the working space to ``colorspace``.

        Same contract as `to_working`, in the other direction.
        """
        return self._apply(
            image, self._processor(self.resolve(colorspace), to_working=False)
        )

    def _processor(self, space: str, to_working: bool) -> OCIO.CPUProcessor | None:
        if self._same_config and space == self.working_space:
            return None
        return _cpu_processor(self.config_source, space, to_working, self._same_config)

    def _apply(self, image: np.ndarray, cpu: OCIO.CPUProcessor | None) -> np.ndarray:
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) image, got shape {image.shape}")
        if cpu is None:
            return image if image.dtype == np.float32 else image.astype(np.float32)
        out = np.array(image, dtype=np.float32, order="C", copy=True)
        _apply_threaded(cpu, out)
        return out

    def _examples(self) -> list[str]:
        known = [n for n in _EXAMPLE_NAMES if self._config.getColorSpace(n) is not None]
        return known or list(self._config.getColorSpaceNames())[:3]


@functools.lru_cache(maxsize=16)
def _load_config(source: str) -> OCIO.Config:
    # Cached: parsing a config (and building a built-in one) costs milliseconds,
    # and the engine makes a ColorManager per job.
    try:
        return OCIO.Config.CreateFromFile(source)
    except (OCIO.Exception, OCIO.ExceptionMissingFile) as exc:
        first = (
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        )
        raise InputError(f"OCIO config {source}: cannot load ({first})") from None


@functools.lru_cache(maxsize=256)
def _cpu_processor(
    source: str, space: str, to_working: bool, same_config: bool
) -> OCIO.CPUProcessor | None:
    """The CPU processor between ``space`` (in config ``source``) and the working space."""
    config = _load_config(source)
    working = _load_config(WORKING_CONFIG)
    try:
        if same_config:
            src, dst = (space, WORKING_SPACE) if to_working else (WORKING_SPACE, space)
            processor = config.getProcessor(src, dst)
        elif to_working:
            processor = OCIO.Config.GetProcessorFromConfigs(
                config, space, working, WORKING_SPACE
            )
        else:
            processor = OCIO.Config.GetProcessorFromConfigs(
                working, WORKING_SPACE, config, space
            )
    except (OCIO.Exception, OCIO.ExceptionMissingFile) as exc:
        first = str(exc).strip().splitlines()[0]
        raise InputError(
            f"colourspace {space!r} (config {source}): cannot build the conversion ({first})"
        ) from None
    if processor.isNoOp():
        return None
    # Lossless: the default optimisation approximates pow/log (~1e-5 error), too
    # coarse for 16-bit and float sources.
    return processor.getOptimizedCPUProcessor(OCIO.OPTIMIZATION_LOSSLESS)


def _apply_threaded(cpu: OCIO.CPUProcessor, image: np.ndarray) -> None:
    """Apply in place, in row bands on every core: OCIO releases the GIL."""
    workers = min(os.cpu_count() or 1, 8)
    rows = image.shape[0]
    if workers == 1 or image.shape[0] * image.shape[1] < _THREADED_MIN_PIXELS:
        cpu.applyRGB(image)
        return
    bounds = np.linspace(0, rows, workers + 1).astype(int)
    # Row bands of a C-contiguous array are themselves C-contiguous, as OCIO needs.
    bands = [image[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    threads = [
        threading.Thread(target=cpu.applyRGB, args=(band,)) for band in bands[1:]
    ]
    for t in threads:
        t.start()
    cpu.applyRGB(bands[0])
    for t in threads:
        t.join()
