"""Errors that reject a whole write before anything is stored, naming each offending item and field."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ItemError:
    index: int  # position in the batch
    field: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"index": self.index, "field": self.field, "message": self.message}


class BatchRejected(Exception):
    """Nothing in the batch was written; `errors` says why, per item."""

    def __init__(self, what: str, errors: list[ItemError]) -> None:
        first = errors[0]
        super().__init__(f"{what} rejected: item {first.index}: {first.field}: {first.message}"
                         + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))
        self.errors = errors


class UnknownEntity(Exception):
    """A single write names an account or post that does not exist (HTTP 404)."""

    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"{what} '{ident}' does not exist")
        self.what = what
        self.ident = ident
