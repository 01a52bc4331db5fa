"""What Segue may replace or delete in a folder: only files it can prove it wrote.

Every folder Segue writes into holds a ledger, ``.segue-ledger``: one JSON line per file
Segue put there, ``{"name": "frame_0001.png", "stamp": [inode, size, mtime_ns]}``,
appended and flushed to disk just before the file is renamed into place (a rename keeps
all three). A file is *Segue's* when all of these hold:

* it is named by a plain name (no folder part, not ``.``/``..``, no NUL, at most 255
  characters): nothing outside the folder can ever be named;
* it is a regular file, not a symlink, owned by the user Segue runs as;
* its stamp now is one the ledger recorded under that name.

The ledger is input like anything else in the folder (the CLI and the render daemon
treat it as hostile): a line that does not parse, or names anything but a plain name
with three whole numbers, proves nothing and is skipped; the ledger itself is read and
appended only if it is this user's regular file. A planted ledger can therefore at most
"prove" a file of this user's in this folder whose inode, size and modification time it
copied, a file its author could write the folder to delete anyway. A file the user edited
or replaced after Segue wrote it (another size or time) is the user's again: Segue then
refuses to replace it instead of guessing.

Recording before the rename, and keeping every stamp of a name until `compact`, means a
process killed at any moment leaves a ledger that still proves whichever file is there,
the previous render's or the new one.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

from segue.core.errors import InputError

LEDGER = ".segue-ledger"
#: a ledger longer than this is not Segue's: about 80 bytes a file, so a retime of three
#: million frames still fits (a 10,000-frame transition needs under 2 MB)
MAX_LEDGER_BYTES = 256 * 2**20
_MAX_NAME = 255
#: the temporary names of `core.output.atomic_path`: ``.<name>.tmp-<pid>-<8 hex><ext>``
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.tmp-\d{1,10}-[0-9a-f]{8}(\.[A-Za-z0-9]{1,5})?")


def is_plain_name(name: object) -> bool:
    """True for a file name with no folder part that cannot step out of its folder."""
    return (isinstance(name, str) and 0 < len(name) <= _MAX_NAME and name not in (".", "..")
            and "/" not in name and "\\" not in name and "\x00" not in name)


def _euid() -> int | None:
    return os.geteuid() if hasattr(os, "geteuid") else None


def file_stamp(path: str | os.PathLike[str]) -> tuple[int, int, int] | None:
    """``(inode, size, mtime_ns)`` of this user's regular file at ``path``, else None.

    Symlinks are not followed: a link is never Segue's, whatever it points to.
    """
    try:
        st = os.lstat(path)
    except (OSError, ValueError):
        return None
    euid = _euid()
    if not stat.S_ISREG(st.st_mode) or (euid is not None and st.st_uid != euid):
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


class Ledger:
    """The ledger of one folder (see the module docstring). The folder must exist."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LEDGER
        self._stamps: dict[str, set[tuple[int, int, int]]] = {}
        self._load()

    def _load(self) -> None:
        if not os.path.lexists(self.path):
            return
        if file_stamp(self.path) is None:
            raise InputError(f"{self.path} is not a file of this user's: Segue cannot tell which files in "
                             f"{self.folder} it wrote; remove it or choose another folder")
        with _open_own(self.path, os.O_RDONLY) as f:
            data = f.read(MAX_LEDGER_BYTES + 1)
        if len(data) > MAX_LEDGER_BYTES:
            raise InputError(f"{self.path} is larger than any ledger Segue writes; remove it or choose another "
                             "folder")
        for line in data.splitlines():
            entry = _parse(line)
            if entry is not None:
                self._stamps.setdefault(entry[0], set()).add(entry[1])

    def owns(self, name: str) -> bool:
        """True if ``name`` is Segue's file in this folder (module docstring)."""
        if not is_plain_name(name):
            return False
        stamp = file_stamp(self.folder / name)
        return stamp is not None and stamp in self._stamps.get(name, ())

    def names(self) -> list[str]:
        """Every name the ledger proves a file for now."""
        return sorted(name for name in self._stamps if self.owns(name))

    def check_free(self, names: Iterable[str], hint: str = "choose an empty output folder") -> None:
        """`InputError` if any of ``names`` exists (a symlink included) and is not Segue's."""
        for name in names:
            path = self.folder / name
            if os.path.lexists(path) and not self.owns(name):
                raise InputError(f"{path} already exists and was not written by Segue: {hint}")

    def record(self, name: str, written: str | os.PathLike[str]) -> None:
        """Record ``written`` (a finished temporary file) as Segue's file ``name``.

        Call it after the file is complete and before renaming it to ``name``.
        """
        stamp = file_stamp(written)
        if not is_plain_name(name) or stamp is None:
            raise ValueError(f"cannot record {written} as {name!r}")
        line = json.dumps({"name": name, "stamp": list(stamp)}) + "\n"
        with _open_own(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT) as f:
            f.write(line.encode())
            f.flush()
            os.fsync(f.fileno())
        self._stamps.setdefault(name, set()).add(stamp)

    def recorder(self, name: str) -> Callable[[str], None]:
        """``record`` bound to ``name``: the ``before_replace`` of `core.output.atomic_path`."""
        return lambda written: self.record(name, written)

    def remove(self, name: str) -> bool:
        """Delete ``name`` if it is Segue's; True if it was deleted."""
        if not self.owns(name):
            return False
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.folder / name)
        return True

    def sweep_temporaries(self, wanted: Callable[[str], bool]) -> None:
        """Delete the temporary files a killed run left while writing a file ``wanted`` accepts.

        Only this user's regular files whose name has the exact temporary shape of an
        accepted name are touched (an unfinished file is never in the ledger, so this is
        the one deletion without a recorded stamp).
        """
        with contextlib.suppress(OSError):
            for entry in os.listdir(self.folder):
                m = _TEMPORARY.fullmatch(entry)
                if m and wanted(m.group("name")) and file_stamp(self.folder / entry) is not None:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self.folder / entry)

    def compact(self) -> None:
        """Rewrite the ledger with only the stamps that prove a file there now."""
        from segue.core.output import atomic_write_text

        live = {name: stamp for name in self._stamps
                if (stamp := file_stamp(self.folder / name)) in self._stamps[name]}
        if sum(len(s) for s in self._stamps.values()) == len(live):
            return
        text = "".join(json.dumps({"name": n, "stamp": list(s)}) + "\n" for n, s in sorted(live.items()))
        atomic_write_text(self.path, text)
        self._stamps = {name: {stamp} for name, stamp in live.items()}


def _parse(line: bytes) -> tuple[str, tuple[int, int, int]] | None:
    try:
        entry = json.loads(line)
        name, stamp = entry["name"], entry["stamp"]
    except (ValueError, TypeError, KeyError):
        return None
    if (not is_plain_name(name) or name == LEDGER or not isinstance(stamp, list) or len(stamp) != 3
            or not all(type(v) is int and 0 <= v < 2**63 for v in stamp)):
        return None
    return name, (stamp[0], stamp[1], stamp[2])


@contextlib.contextmanager
def _open_own(path: Path, flags: int):
    """Open the ledger without following a symlink, and only if it is this user's file."""
    try:
        fd = os.open(path, flags | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0), 0o644)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise InputError(f"{path} is a symlink, not a ledger of Segue's; remove it or choose another folder") from None
    try:
        st = os.fstat(fd)
        euid = _euid()
        if not stat.S_ISREG(st.st_mode) or (euid is not None and st.st_uid != euid):
            raise InputError(f"{path} is not a file of this user's; remove it or choose another folder")
        with os.fdopen(fd, "rb" if flags & (os.O_WRONLY | os.O_RDWR) == 0 else "ab", closefd=True) as f:
            fd = -1
            yield f
    finally:
        if fd >= 0:
            os.close(fd)
