"""Reserved positions on a page: a share of the first k positions goes to candidates of one kind
(exploration, trending, fresh) when the ranking alone would not put enough of them there.

Shared by the slot selectors; each selector only says which candidates are eligible. A slot is
filled by the best-scored eligible candidate not already on the page, inserted at its reserved
position (the others move down one). When the page already holds enough eligible posts, or none
is available, nothing changes: a slot never empties a page.
"""

from __future__ import annotations

import math

import numpy as np

from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.components import Move, Selection
from reelrank.pipeline.context import FeedContext

SLOT_COLUMN = "slot"
SLOT_CODES = {"trend_slot": 1.0, "fresh_slot": 2.0, "exploration_slot": 3.0}


def slot_count(share: float, k: int) -> int:
    """Slots for a share of a page of k, rounded half up (10% of 5 is one slot, 10% of 4 none)."""
    return math.floor(share * k + 0.5) if share > 0 else 0


def slot_positions(k: int, n: int, phase: float) -> list[int]:
    """n positions spread evenly over a page of k, shifted by `phase` in [0, 1) so that different
    kinds of slot do not all ask for the same positions."""
    if n <= 0 or k <= 0:
        return []
    return sorted({min(k - 1, int((i + phase) * k / n)) for i in range(n)})


def source_mask(names: list[str], wanted: str) -> int:
    """The Candidates.sources bit of the source called `wanted` in a pipeline (0 if absent)."""
    return 1 << names.index(wanted) if wanted in names else 0


def slot_column(cands: Candidates) -> np.ndarray:
    """The `slot` column: which kind of slot (SLOT_CODES) a candidate fills on this page, 0 for none.
    Later slot selectors keep these posts on the page and the topic quota counts them first."""
    col = cands.columns.get(SLOT_COLUMN)
    if col is None:
        col = np.zeros(len(cands), dtype=np.float32)
        cands.columns[SLOT_COLUMN] = col
    return col


def fill_slots(ctx: FeedContext, cands: Candidates, order: np.ndarray, k: int, eligible: np.ndarray,
               share: float, phase: float, reason: str) -> Selection:
    """`eligible` (N,) bool over all candidates; returns `order` with slots filled."""
    n = slot_count(share, k)
    if n == 0 or len(order) == 0 or not eligible.any():
        return Selection(order)
    slots = slot_column(cands)
    head = order[:k]
    already = np.flatnonzero(eligible[head] & (slots[head] == 0))[:n]  # positions in head
    slots[head[already]] = SLOT_CODES[reason]  # eligible posts the ranking placed count towards the slots
    moves: list[Move] = [Move(int(cands.pids[head[r]]), "picked", reason, int(r), int(r))
                         for r in already.tolist()] if ctx.explain else []
    need = n - int((slots[head] == SLOT_CODES[reason]).sum())
    if need <= 0:
        return Selection(order, moves)
    on_page = np.zeros(len(cands), dtype=bool)
    on_page[head] = True
    pool = np.flatnonzero(eligible & ~on_page)
    if len(pool) == 0:
        return Selection(order, moves)
    score = cands.columns.get("score")
    if score is not None:
        pool = pool[np.argsort(-score[pool], kind="stable")]
    picks = pool[:need]
    free = _free_positions(slot_positions(k, n, phase), head, slots)
    picks = picks[: len(free)]
    rank_in_order = {int(c): r for r, c in enumerate(order.tolist())}
    picked = set(picks.tolist())
    out = [c for c in order.tolist() if c not in picked]
    for pos, idx in zip(free, picks.tolist(), strict=False):  # positions ascending: each insert lands exactly
        at = min(pos, len(out))
        out.insert(at, idx)
        slots[idx] = SLOT_CODES[reason]
        before = rank_in_order.get(idx)
        if ctx.explain:
            moves.append(Move(int(cands.pids[idx]), "picked" if before is None else "moved", reason, before, at))
    _keep_slotted(out, k, slots)
    return Selection(np.asarray(out, dtype=np.int64), moves)


def _free_positions(wanted: list[int], head: np.ndarray, slots: np.ndarray) -> list[int]:
    """Each reserved position, or the nearest one after (else before) it that no slot holds yet."""
    taken = {j for j in range(len(head)) if slots[head[j]]}
    out: list[int] = []
    for p in wanted:
        if p >= len(head):
            out.append(p)
            continue
        options = [j for j in range(p, len(head)) if j not in taken] or \
                  [j for j in range(p - 1, -1, -1) if j not in taken]
        if options:
            taken.add(options[0])
            out.append(options[0])
    return sorted(out)


def _keep_slotted(out: list[int], k: int, slots: np.ndarray) -> None:
    """Inserting pushes the page's last post off it: if that post fills another slot, the last
    unslotted post of the page leaves instead (in place)."""
    for i in range(k, min(len(out), 2 * k)):
        if not slots[out[i]]:
            continue
        free = [j for j in range(k) if not slots[out[j]]]
        if not free:
            return
        j = free[-1]
        out[j], out[i] = out[i], out[j]
