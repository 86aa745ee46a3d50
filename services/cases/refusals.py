"""What the cases service's use cases refuse with, and the one way routes answer it.

404 for a thing the path names that does not exist, 409 for a unique value that exists
already, 422 naming the field of the body to fix (shaped like FastAPI's own validation errors).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import HTTPException, status
from fastapi.exceptions import RequestValidationError


class NotFound(LookupError):
    """The thing named in the path does not exist (or is not the caller's to see)."""


@dataclass
class Rejected(Exception):
    """The request names something that does not fit: ``field`` of the body, and why."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class Duplicate(Rejected):
    """A unique value (an address, a number, a key) that exists already."""


@contextlib.contextmanager
def answers() -> Iterator[None]:
    try:
        yield
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except Duplicate as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except Rejected as exc:
        error = {"type": "value_error", "loc": ("body", exc.field), "msg": exc.message, "input": None}
        raise RequestValidationError([error]) from None
