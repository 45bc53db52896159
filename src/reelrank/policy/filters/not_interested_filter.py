"""Never again: posts the viewer marked "not interested", hid or reported.

Unlike the seen window (features/seen.py), this list has no expiry: it is stored with the account
(User.controls.hidden_posts), so it survives restarts and long absences.
"""

from __future__ import annotations

import numpy as np

from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.context import FeedContext


class NotInterestedFilter:
    name = "not_interested"

    def apply(self, ctx: FeedContext, cands: Candidates) -> dict[str, np.ndarray]:
        if not len(ctx.never):
            return {}
        return {"not_interested_or_reported": np.isin(cands.pids, ctx.never)}
