"""Where photo files live: a store that puts and opens bytes by key.

Files are written to a temporary name and renamed, so a reader never sees half a photo.
Object storage can replace the local store by implementing the same two methods.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol


class PhotoStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def open(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


class LocalPhotoStore:
    """Files under one directory, one per key ("2026/11/<photo_id>.jpg")."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        # Keys are made by the service, but a key must never name a file outside the store.
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"photo key outside the store: {key!r}")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def store_from_config(config: Mapping) -> PhotoStore:
    """The local store under PHOTO_STORAGE_DIR, or <instance_path>/photos when it is empty."""
    root = config["PHOTO_STORAGE_DIR"] or Path(config["INSTANCE_PATH"]) / "photos"
    return LocalPhotoStore(root)
