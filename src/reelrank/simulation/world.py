"""A synthetic world: creators, viewers, posts, follows, and the hidden tastes behind them.

The world is what the demo loads, what tests assert against and what benchmarks scale up. Its one
job beyond looking plausible is to carry ground truth the engine never sees: each viewer's latent
topic weights (`World.interests`). The simulated user (agent.py) reacts to posts through those
weights, so "did the feed learn what this person likes" has a checkable answer.

Generation draws every random quantity in bulk from one seeded numpy Generator, so the same config
always yields the same world and 100k posts take a couple of seconds (the remaining per-post cost
is filling a caption template and validating the pydantic model).

The config lives in world_config.py and the World class in world_data.py; both are re-exported here,
so `from reelrank.simulation.world import World, WorldConfig` keeps working.
"""

from __future__ import annotations

import time

import numpy as np

from reelrank.domain import Post, PostKind, User
from reelrank.simulation.sampling import (
    LANGUAGES,
    draw_index,
    draw_languages,
    hidden_interests,
    media_vectors,
    post_topics,
    sample_follows,
)
from reelrank.simulation.topics import TOPIC_NAMES, get_topic
from reelrank.simulation.world_config import DAY, RESTRICTED_CATEGORIES, WorldConfig
from reelrank.simulation.world_data import World

__all__ = ["DAY", "RESTRICTED_CATEGORIES", "World", "WorldConfig", "generate_world", "make_cooking_world",
           "single_interest_world"]

_ADULT_ONLY = frozenset({"gambling", "alcohol"})  # restricted categories that also set min_age 18


def generate_world(cfg: WorldConfig) -> World:
    """Build the world described by `cfg`; the same config always gives the same world."""
    return _generate(cfg, pinned={})


def _generate(cfg: WorldConfig, pinned: dict[int, tuple[str, dict[str, float], list[str]]]) -> World:
    """Generation proper. `pinned` fixes some viewers: index -> (user id, hidden interests, onboarding)."""
    rng = np.random.default_rng(cfg.seed)
    topics = cfg.topic_names
    n_t, n_c, n_v, n_p = len(topics), cfg.n_creators, cfg.n_users, cfg.n_posts
    t_index = {t: i for i, t in enumerate(topics)}
    pop = 1.0 / np.arange(1, n_t + 1) ** cfg.topic_skew
    pop /= pop.sum()
    regions = list(cfg.regions)
    region_p = 1.0 / np.arange(1, len(regions) + 1) ** 0.7
    region_p /= region_p.sum()
    year = time.gmtime(cfg.now).tm_year

    # Creators: a topical style (1-2 main topics) and a heavy-tailed popularity.
    c_primary = rng.choice(n_t, size=n_c, p=pop)
    c_second = np.where(
        (rng.random(n_c) < 0.4) & (n_t > 1), (c_primary + 1 + rng.integers(0, max(n_t - 1, 1), n_c)) % n_t, -1
    )
    c_pop = rng.pareto(1.5, n_c) + 1.0
    c_private = rng.random(n_c) < cfg.private_creator_share
    c_region = rng.choice(len(regions), size=n_c, p=region_p)
    c_lang = draw_languages(rng, regions, c_region)
    c_birth = year - rng.integers(18, 56, n_c)
    c_age_s = rng.uniform(cfg.days + 30, cfg.days + 1500, n_c) * DAY
    creator_ids = [f"creator_{i:05d}" for i in range(n_c)]
    creator_topics = {
        cid: [topics[c_primary[i]]] + ([topics[c_second[i]]] if c_second[i] >= 0 else [])
        for i, cid in enumerate(creator_ids)
    }
    creators = [
        User(
            user_id=cid,
            region=regions[c_region[i]],
            language=c_lang[i],
            birth_year=int(c_birth[i]),
            interests=creator_topics[cid],
            is_private=bool(c_private[i]),
            created_at=cfg.now - float(c_age_s[i]),
        )
        for i, cid in enumerate(creator_ids)
    ]

    # Viewers: hidden tastes, demographics, and (for some) onboarding interests that echo those tastes.
    w = hidden_interests(rng, n_v, pop)
    viewer_ids = [f"user_{i:06d}" for i in range(n_v)]
    onboarding: dict[int, list[str]] = {}
    for i, (vid, weights, onboard) in pinned.items():
        viewer_ids[i] = vid
        w[i] = 0.0
        for t, x in weights.items():
            w[i, t_index[t]] = x
        w[i] /= w[i].sum()
        onboarding[i] = onboard
    v_region = rng.choice(len(regions), size=n_v, p=region_p)
    v_lang = draw_languages(rng, regions, v_region)
    v_age = np.clip(13 + rng.gamma(3.0, 6.0, n_v), 13, 80).astype(int)
    v_onboarded = rng.random(n_v) < cfg.onboarded_share
    v_created = cfg.now - rng.uniform(1, 1000, n_v) * DAY
    for i in pinned:  # a pinned viewer is an adult in the main region: no policy gets in the way
        v_region[i], v_age[i] = 0, 30
        v_lang[i] = LANGUAGES.get(regions[0], (("en",), (1.0,)))[0][0]
    top3 = np.argsort(-w, axis=1)[:, :3]
    interests: dict[str, dict[str, float]] = {}
    viewers: list[User] = []
    for i, vid in enumerate(viewer_ids):
        nz = np.flatnonzero(w[i])
        interests[vid] = {topics[j]: float(w[i, j]) for j in nz[np.argsort(-w[i, nz])]}
        if i in onboarding:
            onboard = onboarding[i]
        else:
            onboard = [topics[j] for j in top3[i] if w[i, j] >= 0.15] if v_onboarded[i] else []
        viewers.append(
            User(
                user_id=vid,
                region=regions[v_region[i]],
                language=v_lang[i],
                birth_year=int(year - v_age[i]),
                interests=onboard,
                is_private=False,
                created_at=float(v_created[i]),
            )
        )

    # Posts: mostly on the creator's style, popular creators post more, ages skew recent.
    p_creator = draw_index(rng, np.cumsum(c_pop), n_p)
    p_primary, p_secondary = post_topics(rng, c_primary, c_second, p_creator, pop)
    u_kind = rng.random(n_p)
    kinds = np.where(u_kind < cfg.reel_share, 0, np.where(u_kind < cfg.reel_share + cfg.photo_share, 1, 2))
    durations = np.clip(rng.lognormal(np.log(20_000), 0.6, n_p), 3_000, 180_000).astype(int)
    age_s = np.where(
        rng.random(n_p) < cfg.recent_share,
        rng.uniform(0, 3600, n_p),
        np.minimum(rng.exponential(cfg.days * DAY / 3, n_p), cfg.days * DAY),
    )
    age_s = np.minimum(age_s, c_age_s[p_creator] - 1)
    restricted = rng.random(n_p) < cfg.restricted_share
    category = rng.integers(0, len(RESTRICTED_CATEGORIES), n_p)
    sensitive = rng.random(n_p) < cfg.sensitive_share
    limited = rng.random(n_p) < cfg.region_limited_share
    limit_allow = rng.random(n_p) < 0.5
    limit_region = rng.integers(0, len(regions), n_p)
    u_caption = rng.random((n_p, 8))
    media = media_vectors(rng, n_t, cfg.media_dim, p_primary, p_secondary) if cfg.media_dim > 0 else None
    kind_enum = (PostKind.REEL, PostKind.PHOTO, PostKind.CAROUSEL)

    # Plain Python lists: indexing numpy scalars per post would cost more than the rest of the loop.
    cols = zip(
        p_primary.tolist(),
        p_secondary.tolist(),
        p_creator.tolist(),
        kinds.tolist(),
        durations.tolist(),
        (cfg.now - age_s).tolist(),
        np.where(restricted, category, -1).tolist(),
        sensitive.tolist(),
        np.where(limited, np.where(limit_allow, 1, 2), 0).tolist(),
        limit_region.tolist(),
        u_caption,
        strict=True,
    )
    media_rows = media.tolist() if media is not None else None
    posts: list[Post] = []
    for i, (prim, sec, cre, kind, dur, created, cat_i, sens, lim, reg, u) in enumerate(cols):
        primary = topics[prim]
        caption, tags = get_topic(primary).caption(u)
        cat = RESTRICTED_CATEGORIES[cat_i] if cat_i >= 0 else None
        posts.append(
            Post(
                post_id=f"post_{i:07d}",
                creator_id=creator_ids[cre],
                kind=kind_enum[kind],
                caption=caption,
                hashtags=tags,
                topics=[primary] if sec < 0 else [primary, topics[sec]],
                category=cat,
                sensitive=sens,
                min_age=18 if cat in _ADULT_ONLY else None,
                duration_ms=dur if kind == 0 else None,
                created_at=created,
                allowed_regions=[regions[reg]] if lim == 1 else None,
                blocked_regions=[regions[reg]] if lim == 2 else [],
                media_vector=media_rows[i] if media_rows is not None else None,
            )
        )

    f_src, f_dst = sample_follows(rng, w, c_primary, c_pop, cfg.follow_density, cfg.follow_match_share)
    f_created = cfg.now - rng.uniform(0, 365, len(f_src)) * DAY
    return World(
        config=cfg,
        topics=topics,
        creators=creators,
        viewers=viewers,
        posts=posts,
        follow_src=f_src,
        follow_dst=f_dst,
        follow_created_at=f_created,
        interests=interests,
        creator_topics=creator_topics,
    )


def single_interest_world(
    topic: str = "cooking",
    *,
    n_users: int = 50,
    n_creators: int = 40,
    n_posts: int = 1_000,
    n_topics: int = 8,
    onboard: bool = False,
    seed: int = 7,
    now: float | None = None,
) -> World:
    """A small, clean world whose `focus_viewer_id` likes only `topic`: the right feed is known.

    Topics are equally popular and nothing is restricted, private or region-limited, so a feed that
    fails to lean towards `topic` for the focus viewer has no excuse. With `onboard=False` the focus
    viewer gives no onboarding interests: the engine has to learn the taste from behaviour.
    """
    others = [t for t in TOPIC_NAMES if t != topic][: n_topics - 1]
    cfg = WorldConfig(
        n_users=n_users,
        n_creators=n_creators,
        n_posts=n_posts,
        topics=(get_topic(topic).name, *others),
        private_creator_share=0.0,
        topic_skew=0.0,
        restricted_share=0.0,
        sensitive_share=0.0,
        region_limited_share=0.0,
        follow_density=0.05,
        seed=seed,
        now=time.time() if now is None else now,
    )
    focus_id = f"{topic}_fan"
    world = _generate(cfg, pinned={0: (focus_id, {topic: 1.0}, [topic] if onboard else [])})
    world.focus_viewer_id = focus_id
    return world


def make_cooking_world(seed: int = 7, now: float | None = None) -> World:
    """The canonical known-answer world: `cooking_fan` likes cooking and nothing else."""
    return single_interest_world("cooking", seed=seed, now=now)
