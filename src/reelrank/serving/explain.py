"""'Why am I seeing this?': the sources, the main signals and the policy steps behind one post,
as structured fields and a sentence a person can read."""

from __future__ import annotations

from typing import Any

from reelrank.config import ScoreWeights
from reelrank.pipeline.components import Move

SOURCE_PHRASES = {
    "ann": "it is close to what you have been watching and engaging with",
    "followed": "you follow its creator",
    "popular_region": "it is popular in your region",
    "fresh": "it was posted recently",
    "chosen_topics": "it is on a topic you chose in Your Algorithm",
    "exploration": "it is something new for you, outside your usual topics",
    "trending": "it is trending right now",
    "co_engagement": "people who engaged with posts you engaged with recently also engaged with it",
}
SIGNAL_PHRASES = {
    "similarity": "matches your interests",
    "popularity": "is getting a lot of engagement",
    "freshness": "is new",
    "following": "comes from an account you follow",
    "engagement": "is holding viewers' attention (watch and like rates)",
    "trending": "is taking off right now",
    "exploration": "is new and still collecting its first reactions",
    "learned": "is what people with tastes like yours engage with",
}


SLOT_PHRASES = {
    "exploration_slot": "It fills an exploration slot, kept for posts outside your usual interests",
    "trend_slot": "It fills a slot kept for what is trending",
    "fresh_slot": "It fills a slot kept for new posts, so new posts and creators get seen",
}
POLICY_WORDS = {
    "diversity": "variety",
    "creator_spacing": "spacing between posts of one creator",
    "creator_spacing_relaxed": "spacing between posts of one creator",
    "topic_quota": "a limit on posts per topic",
    "topic_quota_relaxed": "a limit on posts per topic",
}


def _controls_sentence(controls: dict[str, float], topic: str) -> str:
    parts = []
    if controls.get("topic_boost", 0.0) > 0:
        parts.append(f"You asked to see more {topic}")
    elif controls.get("topic_added", 0.0) > 0:
        parts.append(f"You added {topic} to your interests")
    aff = controls.get("topic_affinity", 0.0)
    if aff < -0.05:
        parts.append(f"It was ranked lower because you showed less interest in {topic}")
    elif aff > 0.3 and not parts:
        parts.append(f"You often engage with {topic}")
    return ". ".join(parts)


def explain_item(sources: list[str], signals: dict[str, float], weights: ScoreWeights,
                 moves: list[Move], *, controls: dict[str, float] | None = None,
                 topics: list[str] | None = None) -> dict[str, Any]:
    contrib = {k: round(float(getattr(weights, k)) * v, 4) for k, v in signals.items()}
    main = [k for k, v in sorted(contrib.items(), key=lambda kv: -kv[1]) if v > 0][:2]
    reasons = [SOURCE_PHRASES.get(s, f"the '{s}' source proposed it") for s in sources]
    sentence = "Suggested because " + "; ".join(reasons[:2]) if reasons else "Suggested"
    if main:
        sentence += ". It " + " and ".join(SIGNAL_PHRASES.get(m, f"scores well on {m}") for m in main)
    slots = sorted({m.reason for m in moves if m.reason in SLOT_PHRASES})
    for reason in slots:
        sentence += ". " + SLOT_PHRASES[reason]
    moved = [m for m in moves if m.action == "moved" and m.reason not in SLOT_PHRASES]
    if moved:
        words = sorted({POLICY_WORDS.get(m.reason, m.reason) for m in moved})
        sentence += f". Its position was adjusted for {', '.join(words)}"
    ctl = _controls_sentence(controls or {}, topics[0]) if topics else ""
    if ctl:
        sentence += ". " + ctl
    return {
        "sources": sources,
        "signals": {k: round(v, 4) for k, v in signals.items()},
        "contributions": contrib,
        "main_signals": main,
        "policy": [{"action": m.action, "reason": m.reason, "from_rank": m.from_rank, "to_rank": m.to_rank}
                   for m in moves],
        "slots": slots,
        "controls": {k: round(v, 4) for k, v in (controls or {}).items()},
        "sentence": sentence + ".",
    }
