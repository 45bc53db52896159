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
}
SIGNAL_PHRASES = {
    "similarity": "matches your interests",
    "popularity": "is getting a lot of engagement",
    "freshness": "is new",
    "following": "comes from an account you follow",
}


def explain_item(sources: list[str], signals: dict[str, float], weights: ScoreWeights,
                 moves: list[Move]) -> dict[str, Any]:
    contrib = {k: round(float(getattr(weights, k)) * v, 4) for k, v in signals.items()}
    main = [k for k, v in sorted(contrib.items(), key=lambda kv: -kv[1]) if v > 0][:2]
    reasons = [SOURCE_PHRASES.get(s, f"the '{s}' source proposed it") for s in sources]
    sentence = "Suggested because " + "; ".join(reasons[:2]) if reasons else "Suggested"
    if main:
        sentence += ". It " + " and ".join(SIGNAL_PHRASES.get(m, m) for m in main)
    moved = [m for m in moves if m.action == "moved"]
    if moved:
        sentence += f". Its position was adjusted for {', '.join(sorted({m.reason for m in moved}))}"
    return {
        "sources": sources,
        "signals": {k: round(v, 4) for k, v in signals.items()},
        "contributions": contrib,
        "main_signals": main,
        "policy": [{"action": m.action, "reason": m.reason, "from_rank": m.from_rank, "to_rank": m.to_rank}
                   for m in moves],
        "sentence": sentence + ".",
    }
