"""Holds the live retrieval model and swaps versions without dropping a request.

A new version is loaded completely off to the side (weights, item-vector index, vectors for posts
created since training); then one attribute assignment makes it live. A request reads the
reference once, in its context stage, and uses that model for its whole funnel, so it never mixes
a user vector of one version with the index of another. The old model is freed when the last
request holding it finishes.

torch is imported only when there is a model to load: a fresh install never imports it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from reelrank.models.registry import ModelRegistry

if TYPE_CHECKING:
    from reelrank.config import IndexSettings
    from reelrank.models.post_features import CataloguePostFeatures
    from reelrank.models.runtime import RetrievalModel
    from reelrank.state.catalogue import Catalogue

log = logging.getLogger(__name__)


class ModelHolder:
    def __init__(self, registry: ModelRegistry, catalogue: Catalogue, posts: CataloguePostFeatures,
                 index_settings: IndexSettings, check_every_s: float = 30.0) -> None:
        self.registry = registry
        self._cat = catalogue
        self._posts = posts
        self._index_settings = index_settings
        self._check_every_s = check_every_s
        self._current: RetrievalModel | None = None
        self._swap_lock = threading.Lock()  # one load at a time; never held by requests
        self._last_check = 0.0
        self.last_error: str | None = None

    @property
    def current(self) -> RetrievalModel | None:
        return self._current  # a single reference read: atomic

    @property
    def version(self) -> str | None:
        m = self._current
        return m.version if m is not None else None

    def reload(self, force: bool = False) -> str | None:
        """Load the registry's current version if it differs from the live one; return the live version.

        A failed load keeps the old model serving and records the error."""
        with self._swap_lock:
            self._last_check = time.time()
            want = self.registry.current()
            have = self.version
            if want == have and not force:
                return have
            if want is None:
                self._current = None
                return None
            try:
                from reelrank.models.runtime import RetrievalModel  # lazy: imports torch

                model = RetrievalModel.load(want, self.registry.path(want), self._cat, self._posts,
                                            self._index_settings)
            except Exception as exc:
                log.exception("could not load model %s; keeping %s", want, have)
                self.last_error = f"{want}: {exc!r}"[:500]
                return have
            self._current = model  # the swap
            self.last_error = None
            log.info("retrieval model %s is live (was %s)", want, have)
            return want

    def maintain(self) -> None:
        """Called by the engine's maintenance loop: pick up a new version, place new posts."""
        if time.time() - self._last_check >= self._check_every_s:
            self.reload()
        model = self._current
        if model is not None:
            model.refresh(self._cat, self._posts)
