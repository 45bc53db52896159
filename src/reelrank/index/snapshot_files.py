"""The files of an ANN index snapshot and the crash-safe way they are written.

A snapshot is index.faiss (the graph) + index.npz (id maps, excluded set). A save writes both as
*.new, then atomically creates the commit marker, then renames them into place; `recover` finishes a
committed snapshot or discards an uncommitted one, so a reader never sees a mismatched pair.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

INDEX_FILE, MAPS_FILE, COMMIT = "index.faiss", "index.npz", "index.commit"


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)  # makes renames durable
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write to a temp name, fsync, then rename over `path`: readers see the old file or the new one."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def has_snapshot(directory: Path) -> bool:
    return (Path(directory) / INDEX_FILE).is_file() or (Path(directory) / COMMIT).is_file()


def recover(directory: Path) -> None:
    """Roll an interrupted save forward (commit marker present) or back (absent)."""
    commit = directory / COMMIT
    if commit.exists():
        for name in (INDEX_FILE, MAPS_FILE):  # a rename already done has no .new left
            if (directory / f"{name}.new").exists():
                os.replace(directory / f"{name}.new", directory / name)
        fsync_dir(directory)
        commit.unlink()
        fsync_dir(directory)
    else:
        for name in (INDEX_FILE, MAPS_FILE):
            (directory / f"{name}.new").unlink(missing_ok=True)
