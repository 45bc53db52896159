"""Row conversions of impressions, shared by the SQLite and PostgreSQL record stores.

Sources, per-stage scores and model versions travel as JSON text: they are read back only in bulk
(by the labeller), never filtered on in SQL, and their keys change as stages are added.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from reelrank.state.records.base import ImpressionRecord

IMPRESSION_COLS = "request_id, user_id, post_id, ts, surface, position, sources_json, scores_json, models_json, bucket"


def impression_row(r: ImpressionRecord) -> tuple[Any, ...]:
    return (r.request_id, r.user_id, r.post_id, r.ts, r.surface, r.position, json.dumps(list(r.sources)),
            json.dumps(r.scores), json.dumps(r.model_versions), r.bucket)


def impression_from_row(r: Sequence[Any]) -> ImpressionRecord:
    return ImpressionRecord(
        request_id=r[0], user_id=r[1], post_id=r[2], ts=float(r[3]), surface=r[4] or "",
        position=int(r[5]) if r[5] is not None else -1, sources=tuple(json.loads(r[6] or "[]")),
        scores={k: float(v) for k, v in json.loads(r[7] or "{}").items()},
        model_versions=json.loads(r[8] or "{}"), bucket=r[9] or "",
    )
