"""Versioned model artifacts on disk: one folder per version and a `current` pointer.

    <data_dir>/models/<name>/
        v0001/  config.json  weights.pt  item_vectors.npz  ids.npz  metrics.json  data_window.json  meta.json
        v0002/  ...
        current             text file naming the live version

A version is written under a hidden temp name and renamed into place when complete, and `current`
is replaced atomically (write temp, fsync, rename), so a reader sees a whole old version or a whole
new one, never half of one. Rolling back is pointing `current` at an older folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

POINTER = "current"
_VERSION = re.compile(r"^v(\d{4,})$")


class ModelRegistry:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def for_data_dir(cls, data_dir: Path, name: str = "retrieval") -> ModelRegistry:
        return cls(Path(data_dir) / "models" / name)

    def versions(self) -> list[str]:
        if not self.root.is_dir():
            return []
        found = [p.name for p in self.root.iterdir() if p.is_dir() and _VERSION.match(p.name)]
        return sorted(found, key=lambda v: int(v[1:]))

    def path(self, version: str) -> Path:
        if not _VERSION.match(version):
            raise ValueError(f"not a version name: {version!r}")
        return self.root / version

    def current(self) -> str | None:
        """The live version, or None (no model: serving runs on content vectors alone)."""
        try:
            name = (self.root / POINTER).read_text().strip()
        except FileNotFoundError:
            return None
        return name if name and (self.root / name).is_dir() else None

    def set_current(self, version: str) -> None:
        if not self.path(version).is_dir():
            raise FileNotFoundError(f"no model version {version} in {self.root}")
        tmp = self.root / f".{POINTER}.tmp-{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(version + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.root / POINTER)

    @contextmanager
    def new_version(self) -> Iterator[tuple[str, Path]]:
        """Yields (version, temp folder) to write into; on success the folder becomes the version."""
        self.root.mkdir(parents=True, exist_ok=True)
        nums = [int(v[1:]) for v in self.versions()]
        version = f"v{(max(nums) + 1 if nums else 1):04d}"
        tmp = self.root / f".{version}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            yield version, tmp
            os.rename(tmp, self.root / version)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def describe(self, version: str) -> dict[str, Any]:
        """meta + metrics + data window of a version, for listing."""
        out: dict[str, Any] = {"version": version, "current": version == self.current()}
        for name in ("meta", "metrics", "data_window"):
            f = self.path(version) / f"{name}.json"
            if f.exists():
                out[name] = json.loads(f.read_text())
        return out


def write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, default=float))


def stamp() -> dict[str, Any]:
    return {"created_at": time.time(), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
