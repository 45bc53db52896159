"""Leave-one-out: the test target never leaks into training or into the history it is ranked against."""

from __future__ import annotations

import numpy as np

from reelrank.evaluation.split import holdout_last, leave_one_out
from reelrank.models.sequence import Tokens, tokenize


def seq(*acts: tuple[int, float]) -> Tokens:
    return tokenize(acts)


def test_last_is_test_second_to_last_is_validation_and_nothing_leaks() -> None:
    seqs = {
        1: seq((10, 1.0), (11, 1.0), (12, -0.5), (13, 1.0), (14, 1.0)),  # a skip in the middle
        2: seq((20, 1.0), (21, 1.0)),  # too short: training only
    }
    s = leave_one_out(seqs)
    assert [c.target for c in s.test] == [14] and [c.target for c in s.valid] == [13]
    assert s.train[1].pids.tolist() == [10, 11, 12]  # everything before the validation target
    assert 14 not in s.train[1].pids and 13 not in s.train[1].pids
    assert s.valid[0].history.pids.tolist() == [10, 11, 12]
    assert s.test[0].history.pids.tolist() == [10, 11, 12, 13]  # the model sees all but the target
    assert s.train[2].pids.tolist() == [20, 21] and len(s.test) == 1


def test_targets_are_positive_and_trailing_negatives_stay_out_of_training() -> None:
    s = leave_one_out({1: seq((1, 1.0), (2, 1.0), (3, 1.0), (4, -2.0))})
    assert s.test[0].target == 3 and s.valid[0].target == 2
    assert 4 not in s.train[1].pids and 4 not in s.test[0].history.pids


def test_exclusion_is_the_history_but_a_repeat_target_stays_rankable() -> None:
    s = leave_one_out({1: seq((5, 1.0), (6, 1.0), (7, 1.0), (5, 1.0))})
    case = s.test[0]
    assert case.target == 5
    assert sorted(case.exclude.tolist()) == [6, 7]


def test_holdout_last_for_production_training() -> None:
    train, cases = holdout_last({1: seq((1, 1.0), (2, 1.0), (3, 1.0)), 2: seq((4, 1.0),)})
    assert train[1].pids.tolist() == [1, 2] and cases[0].target == 3
    assert train[2].pids.tolist() == [4] and len(cases) == 1


def test_tokenize_merges_same_post_runs_and_drops_neutral_actions() -> None:
    t = seq((1, 1.0), (1, 1.5), (2, 0.1), (3, -0.5), (4, 0.5))
    assert t.pids.tolist() == [1, 3, 4]
    assert np.allclose(t.weights, [2.5, -0.5, 0.5])
    assert t.kinds.tolist() == [5, 2, 3]
