"""The learned-retrieval part of a feed request's context: which model, and the user's vector in its space.

Built once per request (context stage) from the live model and the freshest action sequence: the
recent events in the record store, plus any session actions (features/interest.py) newer than the
newest stored event. Sources and scorers read it from the context, so one request uses one model
version throughout, even if a new version goes live mid-request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from reelrank.domain import User
from reelrank.features.interest import SessionAction
from reelrank.features.signals import event_weight
from reelrank.models.sequence import Tokens, tokenize
from reelrank.state.catalogue import Catalogue
from reelrank.state.records.base import RecordStore


class VectorSearch(Protocol):
    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def vectors(self, pids: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class ModelQuery:
    version: str
    vector: np.ndarray  # (D,) unit user vector
    index: VectorSearch  # that version's item-vector index


class UserSequences:
    """A user's recent actions as model tokens (same rules as training: models/sequence.py)."""

    def __init__(self, records: RecordStore, catalogue: Catalogue, limit: int) -> None:
        self._records = records
        self._cat = catalogue
        self._limit = limit

    def tokens(self, user_id: str, session: Sequence[SessionAction]) -> Tokens:
        events = self._records.recent_events(user_id, self._limit)[::-1]  # oldest first
        pid_of = self._cat.pid_of
        acts = [(pid_of.get(e.post_id, 0), event_weight(e.kind, e.watch_ms, e.duration_ms))
                for e in events if e.post_id is not None]
        newest = events[-1].ts if events else float("-inf")
        fresh = sorted((a for a in session if a.ts > newest), key=lambda a: a.ts)  # not yet durable elsewhere
        acts.extend((a.pid, a.weight) for a in fresh)
        return tokenize(acts)


class ModelQueries:
    """Context-stage hook: the live model's query for a user, or None (no model loaded)."""

    def __init__(self, holder: ModelHolderLike, sequences: UserSequences) -> None:
        self._holder = holder
        self._seqs = sequences

    def query(self, user: User, session: Sequence[SessionAction]) -> ModelQuery | None:
        model = self._holder.current  # read once: this request keeps this version
        if model is None:
            return None
        vec = model.user_vector(user, self._seqs.tokens(user.user_id, session))
        return ModelQuery(model.version, vec, model.index)


class _Model(Protocol):
    version: str

    @property
    def index(self) -> VectorSearch: ...

    def user_vector(self, user: User, tokens: Tokens) -> np.ndarray: ...


class ModelHolderLike(Protocol):
    @property
    def current(self) -> _Model | None: ...
