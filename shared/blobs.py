"""Content-addressed blob store on the filesystem for raw mail and attachments.

A blob is named by the sha256 of its bytes, so storing the same bytes twice is one blob and
a reader can verify what it got.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from shared.files import write_atomically


class BlobNotFound(LookupError):
    pass


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise ValueError(f"not a sha256 hex digest: {digest!r}")
        return self.root / digest[:2] / digest[2:4] / digest

    async def put(self, data: bytes) -> str:
        """Store durably (fsync before rename) and return the sha256 hex digest."""
        return await asyncio.to_thread(self._put, data)

    async def get(self, digest: str) -> bytes:
        return await asyncio.to_thread(self._get, digest)

    async def exists(self, digest: str) -> bool:
        return await asyncio.to_thread(self.path(digest).exists)

    def _put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        write_atomically(target, data)
        return digest

    def _get(self, digest: str) -> bytes:
        try:
            data = self.path(digest).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(digest) from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise OSError(f"blob {digest} is corrupt")
        return data
