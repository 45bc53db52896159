"""Bulk random draws behind world generation, each one numpy call over all accounts or posts.

Kept apart from world.py so the shape of the world (what exists) reads separately from the
statistics of it (how it is drawn). Every function takes the caller's seeded Generator.
"""

from __future__ import annotations

import numpy as np

LANGUAGES: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "US": (("en", "es"), (0.85, 0.15)),
    "GB": (("en",), (1.0,)),
    "IN": (("en", "hi"), (0.55, 0.45)),
    "BR": (("pt", "en"), (0.9, 0.1)),
    "DE": (("de", "en"), (0.85, 0.15)),
    "FR": (("fr", "en"), (0.9, 0.1)),
    "ES": (("es", "en"), (0.9, 0.1)),
    "JP": (("ja", "en"), (0.95, 0.05)),
}


def draw_languages(rng: np.random.Generator, regions: list[str], region_idx: np.ndarray) -> list[str]:
    """A language per account, drawn from its region's mix (English where the region is unknown)."""
    out = ["en"] * len(region_idx)
    u = rng.random(len(region_idx))
    for r, region in enumerate(regions):
        langs, probs = LANGUAGES.get(region, (("en",), (1.0,)))
        sel = np.flatnonzero(region_idx == r)
        picks = np.minimum(np.searchsorted(np.cumsum(probs), u[sel], side="right"), len(langs) - 1)
        for j, k in zip(sel.tolist(), picks.tolist(), strict=True):
            out[j] = langs[k]
    return out


def draw_index(rng: np.random.Generator, cdf: np.ndarray, n: int) -> np.ndarray:
    """n draws from a discrete distribution given by its (unnormalised) cumulative sums."""
    return np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), len(cdf) - 1)


def hidden_interests(rng: np.random.Generator, n: int, pop: np.ndarray) -> np.ndarray:
    """Sparse latent tastes: 1-4 strong topics (90% of the mass) and 1-2 faint ones, rows sum to 1.

    Topics are drawn without replacement in proportion to popularity (Gumbel top-k), so popular
    topics are liked by more people, as on a real platform.
    """
    t = len(pop)
    order = np.argsort(-(np.log(pop)[None, :] + rng.gumbel(size=(n, t))), axis=1)
    n_strong = np.minimum(rng.choice([1, 2, 3, 4], size=n, p=[0.25, 0.4, 0.25, 0.1]), t)
    n_faint = np.minimum(rng.integers(1, 3, size=n), t - n_strong)
    rank = np.arange(t)[None, :]
    strong = rank < n_strong[:, None]
    faint = (rank >= n_strong[:, None]) & (rank < (n_strong + n_faint)[:, None])
    g = rng.gamma(2.0, size=(n, t))
    w_rank = np.where(strong, g, 0.0)
    w_rank = 0.9 * w_rank / w_rank.sum(axis=1, keepdims=True)
    w_rank += np.where(faint, 0.1 / np.maximum(n_faint, 1)[:, None], 0.0)
    w_rank /= w_rank.sum(axis=1, keepdims=True)
    w = np.zeros((n, t))
    np.put_along_axis(w, order, w_rank, axis=1)
    return w


def sample_follows(
    rng: np.random.Generator,
    w: np.ndarray,
    c_primary: np.ndarray,
    c_pop: np.ndarray,
    density: float,
    match_share: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Viewer -> creator follows: mostly creators of the viewer's hidden topics, the rest popular ones."""
    n_v, n_t = w.shape
    n_c = len(c_pop)
    counts = rng.poisson(density * n_c, n_v)
    src = np.repeat(np.arange(n_v), counts)
    n_f = len(src)
    if n_f == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    dst = draw_index(rng, np.cumsum(c_pop), n_f)
    matched = rng.random(n_f) < match_share
    cum_w = np.cumsum(w, axis=1)
    u = rng.random(n_f)
    f_topic = np.empty(n_f, dtype=np.int64)
    chunk = 200_000  # bounds the (follows x topics) comparison matrix
    for s in range(0, n_f, chunk):
        block = cum_w[src[s : s + chunk]]
        f_topic[s : s + chunk] = np.minimum((block < u[s : s + chunk, None] * block[:, -1:]).sum(axis=1), n_t - 1)
    for t in range(n_t):
        members = np.flatnonzero(c_primary == t)
        sel = np.flatnonzero(matched & (f_topic == t))
        if len(members) and len(sel):
            dst[sel] = members[draw_index(rng, np.cumsum(c_pop[members]), len(sel))]
    # Sort-based dedup: np.unique's hash path is several times slower on millions of int64 keys.
    pairs = np.sort(src.astype(np.int64) * n_c + dst)
    pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))]
    return pairs // n_c, pairs % n_c


def post_topics(
    rng: np.random.Generator, c_primary: np.ndarray, c_second: np.ndarray, p_creator: np.ndarray, pop: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Primary and secondary (-1: none) topic per post: 85% on the creator's style, 30% with a second topic.

    The second topic is the creator's other style topic when it has one, so two-topic creators
    produce posts that bridge their topics, as real creators do.
    """
    n_p, n_t = len(p_creator), len(pop)
    use_second = (c_second[p_creator] >= 0) & (rng.random(n_p) < 0.35)
    on_style = rng.random(n_p) < 0.85
    random_topic = rng.choice(n_t, size=n_p, p=pop)
    primary = np.where(on_style, np.where(use_second, c_second[p_creator], c_primary[p_creator]), random_topic)
    other_style = np.where(use_second, c_primary[p_creator], c_second[p_creator])
    shifted = (primary + 1 + rng.integers(0, max(n_t - 1, 1), n_p)) % n_t
    secondary = np.where(rng.random(n_p) < 0.3, np.where(other_style >= 0, other_style, shifted), -1)
    secondary = np.where((secondary == primary) | (n_t == 1), -1, secondary)
    return primary, secondary


def media_vectors(
    rng: np.random.Generator, n_topics: int, dim: int, primary: np.ndarray, secondary: np.ndarray
) -> np.ndarray:
    """Unit media embeddings near a per-topic centroid (pulled towards the secondary topic's): a
    stand-in for a platform's visual embedding that carries the same topical signal as captions."""
    centroids = rng.normal(size=(n_topics, dim))
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    media = centroids[primary] + 0.5 * rng.normal(size=(len(primary), dim)) / np.sqrt(dim)
    media += np.where(secondary[:, None] >= 0, 0.5 * centroids[np.maximum(secondary, 0)], 0.0)
    media /= np.linalg.norm(media, axis=1, keepdims=True)
    return media
