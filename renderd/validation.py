"""What makes a submit acceptable, checked before a job is queued.

Order matters and is part of the contract:

1. **fields** (INVALID_ARGUMENT naming the field): lengths, NUL bytes, absolute
   paths, frame count, format, conform mode, model name;
2. **paths** (PERMISSION_DENIED, then NOT_FOUND): every path inside the allowed
   roots, checked *before* existence so a client cannot probe for files outside
   them; a named file or folder that does not exist is NOT_FOUND; a file in the output
   folder that the job would replace and Segue did not write is INVALID_ARGUMENT;
3. **media** (INVALID_ARGUMENT): the clips open from their headers (an image's header;
   a movie's ffmpeg probe, which decodes one frame in its own process), frames are
   within the pixel limit (`core.limits`), the frame indices exist, frame rates match,
   colourspaces and the model resolve.

Step 3 calls the engine's own readers, so an unreadable, oversized or truncated movie
and an image with a corrupt header are refused at submit time with the engine's message
instead of failing later in a worker. No image is decoded on a request thread: damage
past an image's header fails the job, with the same message. Field
names are the proto's (``spec.frames``), which are also `TransitionSpec`'s.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from segue.core.color import ColorManager
from segue.core.conform import output_size
from segue.core.engine import MODEL_NAMES, resolve_model
from segue.core.errors import InputError
from segue.core.media import find_folder_files, find_pattern_files, is_pattern, open_clip
from segue.core.transition import TransitionSpec, check_movie_size, check_output_folder, check_same_rate
from segue.renderd.errors import InvalidArgument, NotFound
from segue.renderd.paths import PathPolicy

MAX_PATH = 4096
MAX_NAME = 256
#: longest name of one file or folder (NAME_MAX of Linux file systems), in bytes
MAX_NAME_BYTES = 255
MAX_KEY = 128
PATH_FIELDS = ("clip_a", "clip_b", "out_dir", "ocio_config", "model")


def check_idempotency_key(key: str) -> None:
    """1..`MAX_KEY` printable ASCII characters, else `InvalidArgument`."""
    if not key:
        raise InvalidArgument("is empty: send a unique key per render (e.g. a UUID) and reuse it on retries",
                              "idempotency_key")
    if len(key) > MAX_KEY:
        raise InvalidArgument(f"is {len(key)} characters long; at most {MAX_KEY}", "idempotency_key")
    if not all(0x21 <= ord(c) <= 0x7E for c in key):
        raise InvalidArgument("must be printable ASCII without spaces", "idempotency_key")


def check_spec(spec: TransitionSpec, policy: PathPolicy) -> None:
    """Run the three steps of the module docstring; raise the first problem found."""
    check_fields(spec)
    check_paths(spec, policy)
    check_media(spec)


def check_fields(spec: TransitionSpec) -> None:
    """Step 1: the request's own shape, no file access."""
    check_spec_fields(spec, PATH_FIELDS, ("clip_a", "clip_b", "out_dir"), spec.validate)  # frames, format, conform


def check_spec_fields(spec: Any, path_fields: tuple[str, ...], absolute_fields: tuple[str, ...],
                      validate: Callable[[], None]) -> None:
    """Step 1 of any job: the service's rules (text, absolute paths), then the spec's own
    ``validate``, its error reported on the field it names; then the model and OCIO forms."""
    check_text(spec, path_fields)
    check_absolute_paths(spec, absolute_fields)
    try:
        validate()
    except InputError as exc:
        raise InvalidArgument(str(exc), spec_field(exc.field) if exc.field else "spec") from None
    check_model_name(spec.model)
    check_ocio_form(spec.ocio_config)


def spec_field(name: str) -> str:
    """A spec field's name as clients know it (the proto's ``spec.<name>``)."""
    return f"spec.{name}"


def check_text(spec: object, path_fields: tuple[str, ...]) -> None:
    """Every text field of a spec (dataclass) within its length limit and free of NUL characters."""
    for f in fields(spec):
        value = getattr(spec, f.name)
        if isinstance(value, str):
            limit = MAX_PATH if f.name in path_fields else MAX_NAME
            if len(value) > limit:
                raise InvalidArgument(f"is {len(value)} characters long; at most {limit}", spec_field(f.name))
            if "\x00" in value:
                raise InvalidArgument("contains a NUL character", spec_field(f.name))


def check_absolute_paths(spec: object, names: tuple[str, ...]) -> None:
    """The named path fields given, absolute (paths are the daemon's) and with names a file system can hold."""
    for name in names:
        check_absolute_path(spec_field(name), getattr(spec, name))


def check_absolute_path(field: str, value: str) -> None:
    """``value`` given, absolute and with names a file system can hold; `InvalidArgument` naming ``field``."""
    if not value.strip():
        raise InvalidArgument("is empty", field)
    if not os.path.isabs(value):
        raise InvalidArgument(f"{value!r} is not an absolute path (paths are read on the daemon's machine)", field)
    check_name_lengths(field, value)


def check_model_name(model: str) -> None:
    """``spec.model`` a model name or an absolute path to a .onnx file (whether it loads is step 3)."""
    if model not in MODEL_NAMES and not (os.path.isabs(model) and model.lower().endswith(".onnx")):
        raise InvalidArgument(f"unknown model {model!r}: use {', '.join(MODEL_NAMES)} "
                              "or an absolute path to a .onnx file", spec_field("model"))


def check_ocio_form(ocio_config: str | None) -> None:
    """``spec.ocio_config`` absent, an ocio:// URI or an absolute path."""
    if ocio_config and not ocio_config.startswith("ocio://") and not os.path.isabs(ocio_config):
        raise InvalidArgument(f"{ocio_config!r} is neither an ocio:// URI nor an absolute path",
                              spec_field("ocio_config"))


def check_name_lengths(field: str, path: str) -> None:
    """`InvalidArgument` naming ``field`` if a file or folder name in ``path`` is longer
    than `MAX_NAME_BYTES`: no file system here could create it (ENAMETOOLONG)."""
    for name in path.split(os.sep):
        size = len(os.fsencode(name))
        if size > MAX_NAME_BYTES:
            shown = name if len(name) <= 40 else f"{name[:24]}...{name[-8:]}"
            raise InvalidArgument(f"the name {shown!r} in it is {size} bytes long; file systems allow at most "
                                  f"{MAX_NAME_BYTES}", field)


def check_paths(spec: TransitionSpec, policy: PathPolicy) -> None:
    """Step 2: every path allowed, then present (see the module docstring for the order)."""
    for name in ("clip_a", "clip_b"):
        for path in clip_files(name, getattr(spec, name), policy):
            policy.check(spec_field(name), path)
    policy.check(spec_field("out_dir"), spec.out_dir)
    if os.path.exists(spec.out_dir) and not os.path.isdir(spec.out_dir):
        raise InvalidArgument(f"{spec.out_dir} is a file, not a folder", spec_field("out_dir"))
    try:
        check_output_folder(spec)
    except InputError as exc:
        raise InvalidArgument(str(exc), spec_field("out_dir")) from None
    check_support_files(spec, policy)


def check_support_files(spec: object, policy: PathPolicy) -> None:
    """A spec's OCIO config and model, where given as paths: allowed, then present."""
    for name in ("ocio_config", "model"):
        path = getattr(spec, name)
        if path and os.path.isabs(path):
            policy.check(spec_field(name), path)
            if not os.path.isfile(path):
                raise NotFound(f"{path}: no such file", spec_field(name))


def open_model_and_colour(spec: object) -> ColorManager:
    """Step 3's start for any spec: its model resolves (manifest read) and its OCIO config loads."""
    try:
        resolve_model(spec.model)
    except InputError as exc:
        raise InvalidArgument(str(exc), spec_field("model")) from None
    try:
        return ColorManager(spec.ocio_config)
    except InputError as exc:
        raise InvalidArgument(str(exc), spec_field("ocio_config")) from None


def clip_files(field: str, path: str, policy: PathPolicy) -> list[str]:
    """The files a clip source reads (the path itself, or a sequence's frames).

    Checks the source path against ``policy`` first; raises `NotFound` if it does not
    exist, `InvalidArgument` if a folder or pattern names no usable frames.
    """
    policy.check(spec_field(field), path)
    try:
        if os.path.isdir(path):
            return find_folder_files(path)
        if os.path.exists(path):
            return [path]
        if is_pattern(path):
            folder = os.path.dirname(path)
            if not os.path.isdir(folder):
                raise NotFound(f"{path}: folder {folder} does not exist", spec_field(field))
            return find_pattern_files(path)[0]
    except InputError as exc:
        raise InvalidArgument(str(exc), spec_field(field)) from None
    raise NotFound(f"{path}: no such file or folder", spec_field(field))


def check_media(spec: TransitionSpec) -> None:
    """Step 3: open what the job will open, with the engine's own readers."""
    colour = open_model_and_colour(spec)
    clips = {}
    for name, index_name in (("clip_a", "a_out"), ("clip_b", "b_in")):
        try:
            clips[name] = clip = open_clip(getattr(spec, name))
        except InputError as exc:
            raise InvalidArgument(str(exc), spec_field(name)) from None
        try:
            clip.resolve_index(getattr(spec, index_name))
        except InputError as exc:
            raise InvalidArgument(str(exc), spec_field(index_name)) from None
    a, b = clips["clip_a"], clips["clip_b"]
    try:
        check_movie_size(spec, *output_size(a.size, b.size))
    except InputError as exc:
        raise InvalidArgument(str(exc), spec_field("movie")) from None
    try:
        check_same_rate(a, b)
    except InputError as exc:
        raise InvalidArgument(str(exc), spec_field("clip_b")) from None
    for name, default in (("colorspace_a", a.colorspace), ("colorspace_b", b.colorspace),
                          ("colorspace_out", None)):
        wanted = getattr(spec, name) or default
        if wanted:
            try:
                colour.resolve(wanted)
            except InputError as exc:
                raise InvalidArgument(str(exc), spec_field(name)) from None
