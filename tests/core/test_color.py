"""Tests for core.color with real OCIO configs.

Configs: OCIO's built-in studio and cg configs, Blender 4.5's config (committed under
tests/fixtures/ocio/blender, see its SOURCE.md) and a tiny custom config written here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from segue.core.color import (
    DEFAULT_FLOAT_COLORSPACE,
    DEFAULT_INTEGER_COLORSPACE,
    ColorManager,
    default_colorspace,
)
from segue.core.errors import InputError

STUDIO = "ocio://studio-config-latest"
CG = "ocio://cg-config-latest"
BLENDER = str(
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "ocio"
    / "blender"
    / "config.ocio"
)

# float32 round trips through matrices and curves: a few ulps at values up to 2.
ROUND_TRIP_TOL = 1e-5
# Log encodings amplify float32 rounding near black (ACEScct's toe, then the sRGB
# curve's 12.92 slope): ~2e-5 there.
LOG_ROUND_TRIP_TOL = 5e-5
# Blender's matrices are derived through CIE XYZ (illuminant E) and rounded
# differently from the studio config's: its Linear Rec.709 white is (0.99984,
# 1.00002, 1.00024) of the studio's, so the two agree to ~2.5e-4 relative (and to
# a few 1e-4 absolute where channels mix large values).
BLENDER_VS_STUDIO_RTOL = 3e-4
BLENDER_VS_STUDIO_ATOL = 5e-4

CUSTOM_CONFIG = """\
ocio_profile_version: 2
roles:
  default: ACES2065-1
  scene_linear: ACES2065-1
  aces_interchange: ACES2065-1
  cie_xyz_d65_interchange: XYZ D65
colorspaces:
  - !<ColorSpace>
    name: ACES2065-1
    isdata: false
  - !<ColorSpace>
    name: XYZ D65
    isdata: false
    from_scene_reference: !<BuiltinTransform> {style: "UTILITY - ACES-AP0_to_CIE-XYZ-D65_BFD"}
  - !<ColorSpace>
    name: Broken LUT
    isdata: false
    from_scene_reference: !<FileTransform> {src: missing_lut.cube}
"""


def ramp(lo: float = 0.0, hi: float = 2.0) -> np.ndarray:
    """(8, 40, 3) float32 with distinct values per channel, spanning [lo, hi]."""
    v = np.linspace(lo, hi, 320, dtype=np.float32)
    return np.stack([v, v[::-1], np.roll(v, 97)], axis=-1).reshape(8, 40, 3)


def srgb_to_linear(v: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1, written out independently of OCIO."""
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


@pytest.fixture(autouse=True)
def no_ocio_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCIO", raising=False)


def test_default_config_and_ocio_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ColorManager().config_source == STUDIO
    monkeypatch.setenv("OCIO", BLENDER)
    cm = ColorManager()
    assert cm.config_source == BLENDER
    assert cm.resolve("non-color") == "Non-Color"
    monkeypatch.setenv("OCIO", "/nonexistent/config.ocio")
    with pytest.raises(
        InputError, match=r"/nonexistent/config\.ocio \(from \$OCIO\): cannot load"
    ):
        ColorManager()
    with pytest.raises(InputError, match=r"missing\.ocio: cannot load"):
        ColorManager("missing.ocio")


def test_resolve_names_aliases_roles_case_insensitively() -> None:
    cm = ColorManager(STUDIO)
    srgb = cm.resolve("sRGB - Texture")
    assert cm.resolve("srgb_tx") == cm.resolve("SRGB - TEXTURE") == srgb
    assert cm.resolve("lin_srgb") == cm.resolve("Linear Rec.709 (sRGB)")
    assert cm.resolve("scene_linear") == "ACEScg"
    assert cm.working_space == srgb

    blender = ColorManager(BLENDER)
    assert blender.resolve("srgb") == "sRGB"
    assert blender.resolve("linear rec.709") == "Linear Rec.709"
    assert (
        blender.resolve("sRGB - Texture") == "sRGB"
    )  # Blender aliases the studio name


@pytest.mark.parametrize("config", [STUDIO, BLENDER])
def test_unknown_colourspace_names_it_and_suggests(config: str) -> None:
    cm = ColorManager(config)
    with pytest.raises(InputError) as info:
        cm.to_working(ramp(), "Foo")
    message = str(info.value)
    assert message.startswith("unknown colourspace 'Foo' (config ")
    assert config in message
    assert "e.g. sRGB - Texture, Linear Rec.709 (sRGB), ACEScg" in message
    with pytest.raises(InputError, match="unknown colourspace ''"):
        cm.resolve("")
    # A Blender-only name is unknown to the studio config: the tests below really
    # exercise conversions between two different configs.
    with pytest.raises(InputError):
        ColorManager(STUDIO).resolve("Linear Rec.709")


def test_default_for() -> None:
    studio, blender = ColorManager(STUDIO), ColorManager(BLENDER)
    assert studio.default_for(8, False) == studio.resolve("sRGB - Texture")
    assert studio.default_for(16, False) == studio.resolve("sRGB - Texture")
    assert studio.default_for(32, True) == studio.resolve("Linear Rec.709 (sRGB)")
    assert blender.default_for(8, False) == "sRGB"
    assert blender.default_for(16, True) == "Linear Rec.709"
    assert (
        default_colorspace(10, False) == DEFAULT_INTEGER_COLORSPACE == "sRGB - Texture"
    )
    assert (
        default_colorspace(16, True)
        == DEFAULT_FLOAT_COLORSPACE
        == "Linear Rec.709 (sRGB)"
    )


def test_identity_short_circuits() -> None:
    cm = ColorManager(STUDIO)
    image = ramp(-0.5, 3.0)
    assert cm.to_working(image, "sRGB - Texture") is image
    assert cm.from_working(image, "srgb_tx") is image
    data = ColorManager(BLENDER).to_working(image, "Non-Color")
    np.testing.assert_array_equal(data, image)  # data passes through untouched


def test_known_values_srgb_linear() -> None:
    cm = ColorManager(STUDIO)
    half = np.full((1, 1, 3), 0.5, np.float32)
    linear = cm.from_working(half, "Linear Rec.709 (sRGB)")
    np.testing.assert_allclose(linear, 0.214041, atol=1e-5)
    np.testing.assert_allclose(
        cm.to_working(linear, "Linear Rec.709 (sRGB)"), 0.5, atol=1e-6
    )
    encoded = ramp(0.0, 1.0)
    np.testing.assert_allclose(
        cm.from_working(encoded, "Linear Rec.709 (sRGB)"),
        srgb_to_linear(encoded),
        atol=2e-6,
    )


def test_float_values_beyond_range_survive() -> None:
    cm = ColorManager(STUDIO)
    linear = np.array([[[4.0, 1.5, -0.1]]], np.float32)
    working = cm.to_working(linear, "Linear Rec.709 (sRGB)")
    assert working[0, 0, 0] > 1.5 and working[0, 0, 1] > 1.0 and working[0, 0, 2] < 0.0
    np.testing.assert_allclose(
        cm.from_working(working, "Linear Rec.709 (sRGB)"), linear, rtol=1e-5
    )


@pytest.mark.parametrize(
    ("config", "space", "tol"),
    [
        (STUDIO, "ACEScg", ROUND_TRIP_TOL),
        (STUDIO, "ACES2065-1", ROUND_TRIP_TOL),
        (STUDIO, "Linear Rec.709 (sRGB)", ROUND_TRIP_TOL),
        (STUDIO, "Linear Rec.2020", ROUND_TRIP_TOL),
        (STUDIO, "srgb_p3d65", ROUND_TRIP_TOL),  # alias valid in every studio config
        (STUDIO, "ACEScct", LOG_ROUND_TRIP_TOL),
        (CG, "ACEScg", ROUND_TRIP_TOL),
        (CG, "Linear Rec.709 (sRGB)", ROUND_TRIP_TOL),
        (CG, "sRGB - Texture", ROUND_TRIP_TOL),
        (BLENDER, "sRGB", ROUND_TRIP_TOL),
        (BLENDER, "Linear Rec.709", ROUND_TRIP_TOL),
        (BLENDER, "ACEScg", ROUND_TRIP_TOL),
        (BLENDER, "Display P3", ROUND_TRIP_TOL),
        (BLENDER, "Rec.1886", ROUND_TRIP_TOL),
        (BLENDER, "Linear CIE-XYZ D65", ROUND_TRIP_TOL),
    ],
)
def test_round_trip_working_to_space_and_back(
    config: str, space: str, tol: float
) -> None:
    cm = ColorManager(config)
    working = ramp(0.0, 2.0)
    there = cm.from_working(working, space)
    assert there.dtype == np.float32 and there.shape == working.shape
    back = cm.to_working(there, space)
    np.testing.assert_allclose(back, working, rtol=tol, atol=tol)


@pytest.mark.parametrize(
    ("config", "space"),
    [(STUDIO, "ACEScg"), (CG, "Linear Rec.709 (sRGB)"), (BLENDER, "Rec.1886")],
)
def test_conversion_is_not_accidentally_identity(config: str, space: str) -> None:
    working = ramp(0.0, 2.0)
    assert (
        np.abs(ColorManager(config).from_working(working, space) - working).max() > 0.05
    )


def test_16bit_precision_is_kept() -> None:
    cm = ColorManager(STUDIO)
    codes = (
        (np.arange(65536, dtype=np.float32) / 65535)
        .reshape(256, 256, 1)
        .repeat(3, axis=2)
    )
    linear = cm.from_working(codes, "ACEScg")
    # Every 16-bit code value stays distinct through the conversion (nothing quantised).
    assert np.unique(linear[..., 1]).size == 65536
    np.testing.assert_allclose(
        cm.to_working(linear, "ACEScg"), codes, atol=ROUND_TRIP_TOL
    )


def test_input_is_not_modified_and_dtype_is_float32() -> None:
    cm = ColorManager(STUDIO)
    image = ramp().astype(np.float64)
    copy = image.copy()
    out = cm.to_working(image, "ACEScg")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(image, copy)
    with pytest.raises(ValueError):
        cm.to_working(image[..., 0], "ACEScg")


@pytest.mark.parametrize(
    ("blender_name", "studio_name"),
    [("sRGB", "sRGB - Texture"), ("Linear Rec.709", "Linear Rec.709 (sRGB)"),
     ("Linear Rec.2020", "Linear Rec.2020"), ("ACEScg", "ACEScg")],
)  # fmt: skip
def test_blender_config_matches_studio_config(
    blender_name: str, studio_name: str
) -> None:
    blender, studio = ColorManager(BLENDER), ColorManager(STUDIO)
    image = ramp(0.0, 2.0)
    np.testing.assert_allclose(
        blender.to_working(image, blender_name),
        studio.to_working(image, studio_name),
        rtol=BLENDER_VS_STUDIO_RTOL,
        atol=BLENDER_VS_STUDIO_ATOL,
    )
    np.testing.assert_allclose(
        blender.from_working(image, blender_name),
        studio.from_working(image, studio_name),
        rtol=BLENDER_VS_STUDIO_RTOL,
        atol=BLENDER_VS_STUDIO_ATOL,
    )


def test_large_image_threaded_matches_small_tiles() -> None:
    cm = ColorManager(STUDIO)
    rng = np.random.default_rng(0)
    big = rng.uniform(0, 1.5, (600, 700, 3)).astype(
        np.float32
    )  # above the threading threshold
    whole = cm.to_working(big, "ACEScg")
    tiles = np.concatenate(
        [cm.to_working(big[r : r + 50], "ACEScg") for r in range(0, 600, 50)]
    )
    np.testing.assert_array_equal(whole, tiles)


def test_custom_config_and_missing_lut(tmp_path: Path) -> None:
    path = tmp_path / "custom.ocio"
    path.write_text(CUSTOM_CONFIG)
    custom, studio = ColorManager(path), ColorManager(STUDIO)
    image = ramp(0.0, 2.0)
    np.testing.assert_allclose(
        custom.to_working(image, "aces2065-1"),
        studio.to_working(image, "ACES2065-1"),
        atol=1e-5,
    )
    with pytest.raises(InputError) as info:
        custom.to_working(image, "Broken LUT")
    assert "colourspace 'Broken LUT'" in str(info.value)
    assert "missing_lut.cube" in str(info.value)
