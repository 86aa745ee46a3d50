"""Download of what came with mail: attachments, inline images and the sanitised HTML body.

Blobs are addressed by content hash (``/api/v1/attachments/<sha256>``, the links intake puts
in the HTML for ``cid:`` images). A blob is served only to a caller who sees a case with an
article that has it; otherwise the answer is the same 404 as for a hash nobody has.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path, Response, status

from services.cases import repository
from services.cases.access import Viewer
from shared.app import Ctx
from shared.blobs import BlobNotFound

router = APIRouter(prefix="/api/v1/attachments", tags=["attachments"])

NOT_FOUND = "attachment not found"
SHOWN_INLINE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# Mail content is someone else's: never let a browser run it or guess its type.
SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
    "Cache-Control": "private, max-age=3600",
}


def content_disposition(kind: str, filename: str | None) -> str:
    if not filename:
        return kind
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


@router.get(
    "/{sha256}", response_class=Response, responses={200: {"content": {"application/octet-stream": {}}}}
)
async def download(
    sha256: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")], ctx: Ctx, access: Viewer
) -> Response:
    """The bytes of an attachment or HTML body of a mail on a case the caller sees."""
    async with ctx.db.sessions() as session:
        blob = await repository.blob_for(session, sha256, sees=access.sees)
    if blob is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    try:
        data = await ctx.blobs.get(sha256)
    except BlobNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND) from None
    inline = blob.role == "html" or blob.content_type.split(";")[0].strip().lower() in SHOWN_INLINE
    headers = {
        **SAFE_HEADERS,
        "Content-Disposition": content_disposition("inline" if inline else "attachment", blob.filename),
    }
    return Response(content=data, media_type=blob.content_type, headers=headers)
