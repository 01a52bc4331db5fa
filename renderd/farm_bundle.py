"""``WriteFarmBundle``: an editor's cuts as one render-farm job bundle (`core.farm.cuts`).

The plugins talk only to the daemon, so sending cuts to a farm is a daemon call: each
cut is checked exactly as `SubmitTransition` checks its spec (`validation.check_spec`:
fields, then paths under the allowed roots, then media), with errors naming the cut
(``cuts[2].clip_a``); the bundle folder must lie under the roots too. Nothing is queued
or rendered here: the daemon writes the bundle's files and says where each cut's frames
will land, and the farm does the rest.
"""
from __future__ import annotations

import os

from segue.core.errors import InputError
from segue.core.farm import MAX_CHUNKS, MAX_CUTS, write_cuts_bundle
from segue.core.transition import PlannedOutput, TransitionSpec
from segue.renderd.errors import InvalidArgument, RequestError, from_os_error
from segue.renderd.paths import PathPolicy
from segue.renderd.validation import MAX_PATH, check_absolute_path, check_spec


def write_farm_bundle(cuts: list[TransitionSpec], chunks: int, bundle_dir: str, name: str,
                      policy: PathPolicy) -> tuple[list[str], list[PlannedOutput]]:
    """Check the request, write the bundle; return its files and each cut's planned output.

    Raises a `RequestError` naming the field (``chunks``, ``bundle_dir``, ``name``,
    ``cuts[K].FIELD``) for anything refused.
    """
    if not cuts:
        raise InvalidArgument("is empty: give the transitions to send to the farm", "cuts")
    if len(cuts) > MAX_CUTS:
        raise InvalidArgument(f"has {len(cuts)} transitions; one job holds at most {MAX_CUTS}: send them in parts",
                              "cuts")
    if not 1 <= chunks <= MAX_CHUNKS:
        raise InvalidArgument(f"must be 1..{MAX_CHUNKS}, got {chunks}", "chunks")
    _check_bundle_dir(bundle_dir, policy)
    for k, spec in enumerate(cuts):
        try:
            check_spec(spec, policy)
        except RequestError as exc:
            field = f"cuts[{k}]" + (exc.field.removeprefix("spec") if exc.field else "")
            raise type(exc)(exc.description, field) from None
    try:
        files, planned = write_cuts_bundle(cuts, chunks, bundle_dir, name or None)
    except InputError as exc:
        field = exc.field if exc.field and exc.field.startswith(("cuts", "name")) else "bundle_dir"
        raise InvalidArgument(str(exc), field) from None
    except OSError as exc:
        error = from_os_error(exc, {"bundle_dir": bundle_dir}, "bundle_dir")
        if error is None:
            raise
        raise error from None
    return [str(f) for f in files], planned


def _check_bundle_dir(path: str, policy: PathPolicy) -> None:
    """An absolute folder (or one to create) under the allowed roots, with a name a file system can hold."""
    if len(path) > MAX_PATH or "\x00" in path:
        raise InvalidArgument(f"must be a path of at most {MAX_PATH} characters without NUL", "bundle_dir")
    check_absolute_path("bundle_dir", path)
    policy.check("bundle_dir", path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise InvalidArgument(f"{path} is a file, not a folder", "bundle_dir")
