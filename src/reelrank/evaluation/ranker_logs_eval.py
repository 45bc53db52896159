"""`reelrank eval --ranker-logs`: a ranker version scored on logged impressions it was not trained on.

The held-out set is every labelled impression (label job shards + on-the-fly join, as `reelrank train
ranker` gathers them) logged after the end of the version's training window (`data_window.json`):
the later part of the time split it was trained on, plus whatever the engine logged since. Per head:
ROC AUC, expected calibration error (10 equal-mass bins), observed rate vs mean prediction, and the
reliability bins themselves (mean predicted vs observed rate per bin) in the JSON report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from reelrank.labels.labeller import HEADS
from reelrank.models.registry import ModelRegistry
from reelrank.ranking.ranker_model import RankerBundle
from reelrank.ranking.ranking_features import FEATURES
from reelrank.state.records.base import RecordStore
from reelrank.training.ranker import evaluate
from reelrank.training.ranker_logs import training_data

MIN_HELD_OUT = 50
BINS = 10


def reliability(y: np.ndarray, p: np.ndarray, bins: int = BINS) -> list[dict[str, float]]:
    """Equal-mass bins of predictions: mean predicted, observed rate and size of each (the ECE's terms)."""
    order = np.argsort(p, kind="stable")
    return [{"pred": round(float(p[c].mean()), 4), "rate": round(float(y[c].mean()), 4), "n": len(c)}
            for c in np.array_split(order, bins) if len(c)]


def evaluate_logged(records: RecordStore, data_dir: Path, *, window_s: float, now: float | None = None,
                    version: str | None = None, labels: str = "auto") -> dict[str, Any]:
    """Per-head metrics of `version` (default: current) on impressions logged after its training data."""
    reg = ModelRegistry.for_data_dir(data_dir, "ranker")
    v = version or reg.current()
    if v is None:
        raise ValueError(f"no ranker version under {reg.root}: train one with `reelrank train ranker`")
    bundle = RankerBundle.load(reg.path(v), v)
    if tuple(bundle.features) != tuple(FEATURES):
        raise ValueError(f"ranker {v} was trained on other features than this code logs: retrain it")
    train = reg.describe(v).get("data_window", {}).get("train")
    train_end = float(train[1]) if train else float("-inf")
    data, source = training_data(records, data_dir, window_s, now, labels)
    held = data.take(np.flatnonzero(data.ts > train_end))
    if len(held) < MIN_HELD_OUT:
        raise ValueError(f"only {len(held)} labelled impressions logged after ranker {v}'s training data "
                         f"(ends {train_end:.0f}); serve more pages (their attribution windows must close), "
                         f"or use --include-open for simulated logs")
    metrics = evaluate(bundle, held)
    preds = bundle.ranker.predict(held.x)
    bins = {h: reliability(held.y[:, k], preds[h]) for k, h in enumerate(HEADS)}
    return {"version": v, "train_end": train_end, "n_held_out": len(held), "labels": source,
            "metrics": metrics, "reliability": bins}


def table(result: dict[str, Any]) -> str:
    """Markdown table of the per-head figures."""
    m = result["metrics"]
    lines = [f"Ranker {result['version']} on {result['n_held_out']:,} held-out logged impressions "
             f"(after its training window; labels: {result['labels'].get('source')})", "",
             "| head | AUC | ECE | observed rate | mean predicted |", "|---|---|---|---|---|"]
    lines += [f"| {h} | {m[h]['auc']} | {m[h]['ece']} | {m[h]['rate']} | {m[h]['pred']} |" for h in HEADS]
    lines.append(f"| watch ratio | MAE {m['watch']['mae']} | | {m['watch']['mean']} | |")
    return "\n".join(lines)


def write(result: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    js, md = out / "ranker_logs.json", out / "ranker_logs.md"
    js.write_text(json.dumps(_finite(result), indent=2, default=float))
    md.write_text(table(result) + "\n")
    return [md, js]


def _finite(obj: Any) -> Any:
    """NaN (e.g. the AUC of a head with no positives) as null: the file stays valid JSON."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj
