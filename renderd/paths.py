"""Which paths a request may name: everything under the ``--allow-root`` folders.

A path is judged by its *real* path: symlinks resolved and ``..`` applied after them,
as the kernel would, so ``/allowed/../etc`` and a symlink ``/allowed/x -> /etc`` are
both outside. For a path that does not exist yet (an output folder), the existing
part is resolved and the rest applied to it. For image sequences every frame file is
checked too, since one symlinked frame could otherwise read anything.

Without roots nothing is restricted (the loopback-only default; a daemon on a
network address must have roots, see `config`).

The check happens at submit and again when a worker starts the job. Between the two
checks (and during the render) a local user who can write inside a root could still
swap in a symlink: roots must not be writable by people you do not trust.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from segue.renderd.errors import PermissionDenied


class PathPolicy:
    """The allowed roots, held as real paths."""

    def __init__(self, roots: Sequence[str] = ()) -> None:
        self.roots: tuple[str, ...] = tuple(os.path.realpath(r) for r in roots)

    @property
    def restricted(self) -> bool:
        """True if any root was given."""
        return bool(self.roots)

    def allows(self, path: str) -> bool:
        """True if the real path of ``path`` lies in (or is) one of the roots."""
        if not self.roots:
            return True
        real = os.path.realpath(path)
        return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in self.roots)

    def check(self, field: str, path: str) -> None:
        """Raise `PermissionDenied` naming ``field`` if ``path`` is outside the roots."""
        if not self.allows(path):
            raise PermissionDenied(f"{path} is outside the folders this daemon may use "
                                   f"({', '.join(self.roots)}; see --allow-root)", field)

    def check_all(self, field: str, paths: Iterable[str]) -> None:
        """`check` each path (the frame files of a sequence)."""
        for path in paths:
            self.check(field, path)
