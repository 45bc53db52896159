"""Posts -> content vectors: the text embedding, fused with the platform's media embedding.

The platform may attach a `media_vector` of any (fixed, but unknown to us) size m to a post. We do
not learn a mapping (there are no labels at ingest time); a fixed seeded Gaussian random
projection R^m -> R^D approximately preserves the media vectors' geometry (Johnson-Lindenstrauss)
and is reproducible across processes and restarts, so a post re-vectorised later lands in the
same place. Fusing = normalise(text_weight * t + media_weight * normalise(P m)).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from reelrank.content.encoder import TextEncoder, l2_normalize, make_encoder

if TYPE_CHECKING:
    from reelrank.config import EncoderSettings
    from reelrank.domain import Post


class ContentVectorizer:
    """Turns posts (and free text such as interest names) into (N, D) float32 unit vectors."""

    def __init__(
        self,
        encoder: TextEncoder,
        text_weight: float = 1.0,
        media_weight: float = 1.0,
        seed: int = 0,
        batch_size: int = 256,
    ) -> None:
        if text_weight < 0 or media_weight < 0:
            raise ValueError("weights must be >= 0")
        self.encoder = encoder
        self.dim = encoder.dim
        self.text_weight = float(text_weight)
        self.media_weight = float(media_weight)
        self.seed = seed
        self.batch_size = batch_size
        self._projections: dict[int, np.ndarray] = {}  # m -> (m, D) float32
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: EncoderSettings, encoder: TextEncoder | None = None) -> ContentVectorizer:
        enc = encoder if encoder is not None else make_encoder(settings)
        if enc.dim != settings.dim:
            raise ValueError(f"encoder dim {enc.dim} != settings dim {settings.dim}")
        return cls(
            enc,
            text_weight=settings.text_weight,
            media_weight=settings.media_weight,
            batch_size=max(settings.batch_size, 1),
        )

    def projection(self, m: int) -> np.ndarray:
        """The (m, D) projection for media vectors of length m; built once per m, same for a given seed."""
        proj = self._projections.get(m)
        if proj is None:
            with self._lock:
                proj = self._projections.get(m)
                if proj is None:
                    rng = np.random.default_rng([self.seed, m, self.dim])
                    # N(0, 1/D) entries: E|Pm|^2 = |m|^2 (scale is irrelevant after normalising anyway).
                    proj = (rng.standard_normal((m, self.dim)) / np.sqrt(self.dim)).astype(np.float32)
                    self._projections[m] = proj
        return proj

    def project_media(self, media: np.ndarray) -> np.ndarray:
        """(N, m) media vectors -> (N, D) unit vectors in the text space (zero rows stay zero)."""
        media = np.asarray(media, dtype=np.float32)  # (N, m)
        return l2_normalize(media @ self.projection(media.shape[1]))  # (N, D)

    def vectorize_text(self, texts: Sequence[str]) -> np.ndarray:
        """Free text (an interest name such as "cooking", a search query) -> (N, D) unit vectors."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [self.encoder.encode(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        out = np.concatenate(parts, axis=0).astype(np.float32, copy=False)  # (N, D)
        if out.shape != (len(texts), self.dim):
            raise RuntimeError(f"encoder returned {out.shape}, expected {(len(texts), self.dim)}")
        return out

    def vectorize(self, posts: Sequence[Post]) -> np.ndarray:
        """Posts -> (N, D) float32 unit content vectors, in the order given."""
        posts = list(posts)
        out = self.vectorize_text([p.text() for p in posts])  # (N, D)
        if self.media_weight == 0.0 or not posts:
            return out
        # Group posts by media length m so each group is one (n_m, m) @ (m, D) matmul.
        groups: dict[int, list[int]] = {}
        for i, p in enumerate(posts):
            if p.media_vector:
                groups.setdefault(len(p.media_vector), []).append(i)
        for rows in groups.values():
            idx = np.asarray(rows, dtype=np.int64)  # (n_m,)
            media = np.asarray([posts[i].media_vector for i in rows], dtype=np.float32)  # (n_m, m)
            pm = self.project_media(media)  # (n_m, D)
            has_media = pm.any(axis=1)  # an all-zero media vector carries no information
            idx, pm = idx[has_media], pm[has_media]
            fused = self.text_weight * out[idx] + self.media_weight * pm  # (n_m, D)
            norms = np.linalg.norm(fused, axis=1)
            ok = norms > 1e-6  # opposite text/media vectors could cancel: keep the text vector then
            out[idx[ok]] = fused[ok] / norms[ok, None]
        return out
