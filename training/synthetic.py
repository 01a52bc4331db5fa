"""Synthetic training scenes with exact ground truth at any time t.

A scene is a stack of layers: a background photograph seen by a moving camera (pan, zoom,
roll) and 1-4 foreground sprites cut from other photographs with soft-edged random
shapes, each with its own affine + perspective motion, occluding each other and the
background. Every layer's pose is a smooth function of the time s, so the frame at any s
is rendered exactly the same way as frames 0 and 1: `render(scene, 0.0)` *is* frame 0.
A global exposure ramp and motion blur (the average of sub-frames over the shutter
interval) apply at every s alike. Sensor noise is added to the two input frames only
(`degrade`); JPEG-like compression, when drawn, to inputs and targets alike.

Geometry: a layer's pose maps texture pixel coordinates to canvas pixel coordinates
(pixel centres at integers, as everywhere in the engine):

    canvas = T(anchor_pos(s)) . R(angle(s)) . S(exp(log_scale(s))) . P(s) . T(-texture centre)

with anchor_pos(s) = pos + s vel + curve s (s - 1) (the curvature term leaves the end points
alone and bends the path in between), angle, log_scale linear in s, and P(s) the
perspective that moves the texture's corners by (persp0 + s persp1) times its size.
A layer may also deform non-rigidly: its texture flows by s times a smooth random field.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from segue.training.photos import PhotoLibrary

#: bumped whenever the scenes a seed produces change (generator code or photo sets), so
#: cached pairs made by an older generator are not reused (`training.data.source_key`)
GENERATOR_VERSION = 3


@dataclass
class Layer:
    """One layer: texture (h, w, 3) float32 in [0, 1], alpha (h, w) float32 or None (opaque)."""

    texture: np.ndarray
    alpha: np.ndarray | None
    pos: np.ndarray  # canvas position of the texture centre at s = 0, (2,)
    vel: np.ndarray = field(default_factory=lambda: np.zeros(2))  # displacement from s=0 to s=1
    curve: np.ndarray = field(default_factory=lambda: np.zeros(2))
    angle: float = 0.0  # radians at s = 0
    spin: float = 0.0  # radians from s=0 to s=1
    log_scale: float = 0.0
    zoom: float = 0.0  # log-scale change from s=0 to s=1
    persp0: np.ndarray = field(default_factory=lambda: np.zeros((4, 2)))
    persp1: np.ndarray = field(default_factory=lambda: np.zeros((4, 2)))
    #: non-rigid motion: (h, w, 2) float32 texture displacement reached at s = 1, or None
    deform: np.ndarray | None = None

    def pose(self, s: float) -> np.ndarray:
        """3x3 homography from texture to canvas pixel coordinates at time s."""
        h, w = self.texture.shape[:2]
        corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
        moved = corners + ((self.persp0 + s * self.persp1) * np.array([w, h])).astype(np.float32)
        persp = cv2.getPerspectiveTransform(corners, moved.astype(np.float32)).astype(np.float64)
        centre = np.array([[1, 0, -(w - 1) / 2], [0, 1, -(h - 1) / 2], [0, 0, 1]])
        a, k = self.angle + s * self.spin, np.exp(self.log_scale + s * self.zoom)
        rot = np.array([[k * np.cos(a), -k * np.sin(a), 0], [k * np.sin(a), k * np.cos(a), 0], [0, 0, 1]])
        x, y = self.pos + s * self.vel + s * (s - 1) * self.curve
        return np.array([[1, 0, x], [0, 1, y], [0, 0, 1]]) @ rot @ persp @ centre


@dataclass
class Scene:
    """Layers back to front, canvas size, shutter (fraction of the 0-1 interval) and exposure ramp."""

    layers: list[Layer]
    size: int
    shutter: float = 0.0
    subframes: int = 1
    log_gain: float = 0.0  # exposure: frame at s is multiplied by exp(s * log_gain)


def _warp(image: np.ndarray, pose: np.ndarray, size: int, border: int) -> np.ndarray:
    # WARP_INVERSE_MAP: the matrix given maps canvas -> texture, i.e. the inverse pose.
    return cv2.warpPerspective(image, np.linalg.inv(pose), (size, size),
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=border)


def _texture_coords(layer: Layer, s: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Texture coordinates seen by every canvas pixel at time s (float32 maps for cv2.remap).

    A deformed layer shows at texture point u the content of u - s * deform(u): the texture
    itself flows, progressively with s, so any s renders consistently.
    """
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    pts = np.stack([xx.ravel(), yy.ravel(), np.ones(size * size)])
    u = np.linalg.inv(layer.pose(s)) @ pts
    mx = (u[0] / u[2]).reshape(size, size).astype(np.float32)
    my = (u[1] / u[2]).reshape(size, size).astype(np.float32)
    if layer.deform is not None and s != 0:
        d = cv2.remap(layer.deform, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        mx, my = (mx - s * d[..., 0]).astype(np.float32), (my - s * d[..., 1]).astype(np.float32)
    return mx, my


def _layer_images(layer: Layer, s: float, size: int) -> tuple[np.ndarray, np.ndarray | None]:
    if layer.deform is None:
        pose = layer.pose(s)
        rgb = _warp(layer.texture, pose, size, cv2.BORDER_REFLECT101)
        a = None if layer.alpha is None else _warp(layer.alpha, pose, size, cv2.BORDER_CONSTANT)
        return rgb, a
    mx, my = _texture_coords(layer, s, size)
    rgb = cv2.remap(layer.texture, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
    a = None if layer.alpha is None else cv2.remap(layer.alpha, mx, my, cv2.INTER_LINEAR,
                                                   borderMode=cv2.BORDER_CONSTANT)
    return rgb, a


def render_sharp(scene: Scene, s: float) -> np.ndarray:
    """The scene at time s without motion blur or exposure: (size, size, 3) float32."""
    frame = None
    for layer in scene.layers:
        rgb, a = _layer_images(layer, s, scene.size)
        if a is None:  # the background (reflected at its borders so the camera never sees a hole)
            frame = rgb
            continue
        frame = frame * (1 - a[..., None]) + rgb * a[..., None]
    return frame.astype(np.float32)


def render(scene: Scene, s: float) -> np.ndarray:
    """The frame at time s: (size, size, 3) float32 in [0, 1], motion blur and exposure included."""
    if scene.shutter > 0 and scene.subframes > 1:
        offsets = scene.shutter * (np.linspace(0, 1, scene.subframes) - 0.5)
        frame = np.mean([render_sharp(scene, s + o) for o in offsets], axis=0)
    else:
        frame = render_sharp(scene, s)
    return np.clip(frame * np.exp(s * scene.log_gain), 0, 1).astype(np.float32)


def degrade(frame: np.ndarray, rng: np.random.Generator, noise: float, jpeg_quality: int | None) -> np.ndarray:
    """A camera-like input frame: Gaussian sensor noise, optional JPEG, quantised to uint8."""
    if noise > 0:
        frame = frame + rng.normal(0, noise, frame.shape).astype(np.float32)
    out = np.clip(frame * 255 + 0.5, 0, 255).astype(np.uint8)
    if jpeg_quality is not None:
        _, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
        out = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return out


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _motion(rng: np.random.Generator, max_motion: float) -> np.ndarray:
    """A displacement with log-uniform magnitude: small and large motions are equally common."""
    mag = _log_uniform(rng, 0.25, max_motion)
    a = rng.uniform(0, 2 * np.pi)
    return np.array([mag * np.cos(a), mag * np.sin(a)])


def random_shape(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A soft-edged random mask (h, w) float32 in [0, 1]: ellipse, star polygon or blob."""
    mask = np.zeros((h, w), np.float32)
    kind = rng.integers(3)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    if kind == 0:
        cv2.ellipse(mask, (round(cx), round(cy)), (max(2, round(w * 0.45)), max(2, round(h * 0.45))),
                    0, 0, 360, 1.0, -1, cv2.LINE_AA)
    elif kind == 1:
        n = int(rng.integers(3, 11))
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        rad = rng.uniform(0.2, 0.5, n)
        pts = np.stack([cx + rad * w * np.cos(ang), cy + rad * h * np.sin(ang)], 1)
        cv2.fillPoly(mask, [np.round(pts * 16).astype(np.int32)], 1.0, cv2.LINE_AA, shift=4)
    else:
        noise = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), max(h, w) / 8)
        yy, xx = np.mgrid[0:h, 0:w]
        fall = 1 - (((xx - cx) / (w / 2)) ** 2 + ((yy - cy) / (h / 2)) ** 2)
        score = noise - noise.mean() + 0.02 * fall
        mask = (score > np.quantile(score, 0.5)).astype(np.float32) * (fall > 0)
    sigma = rng.uniform(0.3, 2.0)
    return np.clip(cv2.GaussianBlur(mask, (0, 0), sigma), 0, 1).astype(np.float32)


def random_deformation(rng: np.random.Generator, h: int, w: int, amplitude: float) -> np.ndarray:
    """A smooth random displacement field (h, w, 2) float32 with peak magnitude ~``amplitude`` px."""
    sigma = max(h, w) * rng.uniform(0.08, 0.3)
    field = np.stack([cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), sigma)
                      for _ in range(2)], axis=-1)
    return (field * (amplitude / max(float(np.abs(field).max()), 1e-6))).astype(np.float32)


def _crop(rng: np.random.Generator, photo: np.ndarray, h: int, w: int) -> np.ndarray:
    ph, pw = photo.shape[:2]
    h, w = min(h, ph), min(w, pw)
    y, x = int(rng.integers(ph - h + 1)), int(rng.integers(pw - w + 1))
    return photo[y:y + h, x:x + w]


def make_scene(rng: np.random.Generator, photos: PhotoLibrary, size: int, max_motion: float,
               static_camera: float = 0.0) -> Scene:
    """A random scene on a ``size`` x ``size`` canvas, motions up to ``max_motion`` pixels per layer.

    With probability ``static_camera`` the camera is locked off: the background holds still
    and only the sprites move.
    """
    bg_photo = photos.pick(rng)
    # The camera sees a window of the photo at a random scale (finer or coarser detail).
    view = _crop(rng, bg_photo, int(rng.integers(size // 2, 3 * size)), int(rng.integers(size // 2, 3 * size)))
    bg_scale = size * 1.25 / min(view.shape[:2])
    tex = view.astype(np.float32) / 255
    if rng.random() < 0.5:
        tex = tex[:, ::-1].copy()
    layers = [Layer(tex, None, pos=np.array([(size - 1) / 2, (size - 1) / 2]) + rng.normal(0, 4, 2),
                    vel=_motion(rng, max_motion) if rng.random() < 0.85 else np.zeros(2),
                    angle=rng.normal(0, 0.05), spin=rng.normal(0, 0.02), log_scale=np.log(bg_scale),
                    zoom=rng.normal(0, 0.03) if rng.random() < 0.5 else 0.0)]
    if rng.random() < 0.2:  # non-rigid scene motion (water, foliage, cloth), in texture pixels
        layers[0].deform = random_deformation(rng, *tex.shape[:2], rng.uniform(1, 0.05 * size) / bg_scale)
    for _ in range(int(rng.integers(1, 5))):
        h, w = (int(rng.integers(size // 8, size * 2 // 3)) for _ in range(2))
        texture = _crop(rng, photos.pick(rng), h, w).astype(np.float32) / 255
        h, w = texture.shape[:2]
        persp = rng.random() < 0.4
        layers.append(Layer(
            texture, random_shape(rng, h, w),
            pos=rng.uniform(0, size - 1, 2), vel=_motion(rng, max_motion),
            curve=rng.normal(0, 0.05 * max_motion, 2) if rng.random() < 0.2 else np.zeros(2),
            angle=rng.uniform(-np.pi, np.pi), spin=rng.normal(0, 0.08),
            log_scale=rng.normal(0, 0.2), zoom=rng.normal(0, 0.06),
            persp0=rng.normal(0, 0.05, (4, 2)) if persp else np.zeros((4, 2)),
            persp1=rng.normal(0, 0.04, (4, 2)) if persp else np.zeros((4, 2)),
            deform=random_deformation(rng, h, w, rng.uniform(1, 0.05 * size)) if rng.random() < 0.4 else None))
    # Drawn only when asked, so scenes (and caches) made without it are unchanged.
    if static_camera > 0 and rng.random() < static_camera:
        # Otherwise the background always turns a little (spin): without this the model never
        # sees static sharp detail (a blackboard behind a talking head), where the right
        # flow correction is exactly zero and any sub-pixel shift is a blur.
        bg = layers[0]
        bg.vel, bg.spin, bg.zoom, bg.deform = np.zeros(2), 0.0, 0.0, None
    blur = rng.random() < 0.3
    return Scene(layers, size, shutter=rng.uniform(0.1, 0.5) if blur else 0.0, subframes=7 if blur else 1,
                 log_gain=rng.normal(0, 0.08) if rng.random() < 0.3 else 0.0)


@dataclass(frozen=True)
class SyntheticPair:
    """Two degraded uint8 input frames and noise-free uint8 targets at ``times``, and the
    context frames around the pair (``(t, frame)``, degraded like the inputs), if asked for."""

    frame0: np.ndarray
    frame1: np.ndarray
    times: np.ndarray
    targets: np.ndarray  # (K, H, W, 3) uint8
    context: list[tuple[float, np.ndarray]] = field(default_factory=list)


#: spacings of context frames drawn for a pair (a gap of 8, 4 or 2 frame intervals, or a neighbour)
CONTEXT_SPACINGS = (0.125, 0.25, 0.5, 1.0)


def generate_pair(rng: np.random.Generator, photos: PhotoLibrary, size: int, max_motion: float,
                  n_times: int, static_camera: float = 0.0, context: bool = False) -> SyntheticPair:
    """A random scene (`make_scene`) rendered at 0, 1 and ``n_times`` random times in [0.05, 0.95].

    ``context``: also the frames two steps before 0 and after 1, one step drawn from
    `CONTEXT_SPACINGS` (the scene's paths are exact at any time, curves included). Drawn
    after everything else, so a seed's pair is the same with or without them.
    """
    scene = make_scene(rng, photos, size, max_motion, static_camera)
    times = np.sort(rng.uniform(0.05, 0.95, n_times)).astype(np.float32)
    noise = rng.uniform(0, 0.02) if rng.random() < 0.5 else 0.0
    quality = int(rng.integers(60, 96)) if rng.random() < 0.3 else None
    f0 = degrade(render(scene, 0.0), rng, noise, quality)
    f1 = degrade(render(scene, 1.0), rng, noise, quality)
    # Targets get the inputs' compression (a camera records every frame alike; learning to
    # undo JPEG would blur real, equally compressed targets) but not their noise, which
    # is independent per frame and unpredictable.
    targets = np.stack([degrade(render(scene, float(t)), rng, 0.0, quality) for t in times])
    around = []
    if context:
        step = float(rng.choice(CONTEXT_SPACINGS))
        for t in (-2 * step, -step, 1 + step, 1 + 2 * step):
            around.append((t, degrade(render(scene, t), rng, noise, quality)))
    return SyntheticPair(f0, f1, times, targets, around)
