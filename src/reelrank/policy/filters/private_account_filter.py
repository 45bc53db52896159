"""Posts of private accounts reach their followers only."""

from __future__ import annotations

import numpy as np

from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.context import FeedContext
from reelrank.state.accounts import AccountDirectory
from reelrank.state.catalogue import Catalogue


class PrivateAccountFilter:
    name = "private_account"

    def __init__(self, catalogue: Catalogue, accounts: AccountDirectory) -> None:
        self._cat = catalogue
        self._accounts = accounts

    def apply(self, ctx: FeedContext, cands: Candidates) -> dict[str, np.ndarray]:
        creators = self._cat.creator[cands.pids]
        private = self._accounts.private
        is_private = np.zeros(len(creators), dtype=bool)
        known = creators < len(private)
        is_private[known] = private[creators[known]]
        if is_private.any() and ctx.following:
            follows = np.fromiter(ctx.following, dtype=np.int64, count=len(ctx.following))
            is_private &= ~np.isin(creators, follows)
        is_private &= creators != ctx.uid
        return {"private_not_following": is_private}
