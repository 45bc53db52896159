"""Leave-one-out split of users' token sequences (the SASRec protocol).

Per user, over the positive actions: the last one is the test target, the second-to-last the
validation target, everything before the validation target is training data. The model input for
a target is every action before it (for test that includes the validation action: the model sees
all but the target). Users with fewer than three positive actions stay in training only.

Candidates are ranked over the whole catalogue; the posts in the user's input history are excluded,
except the target itself should the user have engaged with it before (a repeat is a fair hit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reelrank.models.sequence import Tokens


@dataclass(frozen=True, slots=True)
class Case:
    uid: int
    history: Tokens  # every action before the target, in time order
    target: int  # pid

    @property
    def exclude(self) -> np.ndarray:
        """(E,) pids not to rank: the history, minus the target."""
        h = np.unique(self.history.pids)
        return h[h != self.target]


@dataclass
class Split:
    train: dict[int, Tokens]
    valid: list[Case]
    test: list[Case]


def leave_one_out(seqs: dict[int, Tokens], min_positives: int = 3) -> Split:
    train: dict[int, Tokens] = {}
    valid: list[Case] = []
    test: list[Case] = []
    for uid in sorted(seqs):
        t = seqs[uid]
        pos = np.flatnonzero(t.positive)
        if len(pos) < min_positives:
            train[uid] = t
            continue
        v, s = int(pos[-2]), int(pos[-1])
        train[uid] = t.head(v)
        valid.append(Case(uid, t.head(v), int(t.pids[v])))
        test.append(Case(uid, t.head(s), int(t.pids[s])))
    return Split(train, valid, test)


def holdout_last(seqs: dict[int, Tokens], min_positives: int = 2) -> tuple[dict[int, Tokens], list[Case]]:
    """For production training: each user's last positive action is held out to measure the model."""
    train: dict[int, Tokens] = {}
    cases: list[Case] = []
    for uid in sorted(seqs):
        t = seqs[uid]
        pos = np.flatnonzero(t.positive)
        if len(pos) < min_positives:
            train[uid] = t
            continue
        last = int(pos[-1])
        train[uid] = t.head(last)
        cases.append(Case(uid, t.head(last), int(t.pids[last])))
    return train, cases
