"""Opaque pagination cursors: which feed session a page belongs to, and which page it is.

The session's served posts live in online state, so a cursor stays small and no page of one
session repeats a post. Cursors are signed so a client cannot forge another user's session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass


class BadCursor(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Cursor:
    session_id: str
    page: int
    user_id: str


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @staticmethod
    def new_session() -> str:
        return secrets.token_urlsafe(9)

    def _sign(self, body: bytes) -> str:
        return hmac.new(self._secret, body, hashlib.sha256).hexdigest()[:16]

    def encode(self, cur: Cursor) -> str:
        body = json.dumps([cur.session_id, cur.page, cur.user_id], separators=(",", ":")).encode()
        raw = body + b"." + self._sign(body).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, token: str, user_id: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            body, _, sig = raw.rpartition(b".")
            if not hmac.compare_digest(sig.decode(), self._sign(body)):
                raise BadCursor("cursor: signature does not match (not issued by this engine)")
            session_id, page, owner = json.loads(body)
        except BadCursor:
            raise
        except Exception as exc:
            raise BadCursor("cursor: not a cursor returned by GET /v1/feed") from exc
        if owner != user_id:
            raise BadCursor("cursor: belongs to another user")
        return Cursor(str(session_id), int(page), str(owner))
