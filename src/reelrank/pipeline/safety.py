"""The mandatory safety and visibility filters every pipeline must carry.

A `Pipeline` refuses to be built without a `SafetyFilters` that covers every rule in
`REQUIRED_RULES`, and the executor runs those filters right after the merge, before the pipeline's
own filters, scorers and selectors. Sources cannot bypass them (they run on the union of every
source's candidates, whichever source is added later), and selectors cannot either (they only pick
among the candidates that survived). A new pipeline variant (an experiment, a learned retriever)
gets the same rules or does not start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reelrank.pipeline.components import Filter

# Stable filter names (they show up in traces and metrics), one per rule.
REQUIRED_RULES: frozenset[str] = frozenset({
    "removed",  # removed by the platform, or reported by too many accounts
    "blocked_muted",  # blocked either way, muted by the viewer, own posts
    "private_account",  # private creators reach their followers only
    "region",  # allowed / blocked regions of the post
    "content_settings",  # age limits, sensitive content, opted-out categories
    "muted_topics",  # topics the viewer muted ('Your Algorithm')
    "not_interested",  # posts the viewer marked not interested, hid or reported
})


class MissingSafetyFilters(ValueError):
    pass


@dataclass(frozen=True)
class SafetyFilters:
    filters: tuple[Filter, ...]

    def __init__(self, filters: Sequence[Filter]) -> None:
        object.__setattr__(self, "filters", tuple(filters))
        names = [f.name for f in self.filters]
        missing = REQUIRED_RULES - set(names)
        if missing:
            raise MissingSafetyFilters(f"safety filters missing for rules: {sorted(missing)}")
        if len(set(names)) != len(names):
            raise MissingSafetyFilters(f"safety filter names must be unique: {names}")

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.filters]
