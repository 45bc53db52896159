"""`reelrank train ranker`: label logged impressions, train the multi-task ranker + pre-ranker."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from reelrank.config import Settings


def train_ranker_cmd(
    data_dir: Annotated[Path | None, typer.Option(help="The store (default: $REELRANK_DATA_DIR or ./data).")] = None,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 8,
    threads: Annotated[int, typer.Option(help="torch threads.")] = 2,
    window_s: Annotated[float | None, typer.Option(help="Attribution window (default: settings).")] = None,
    include_open: Annotated[bool, typer.Option(help="Label impressions whose window is still open too "
                                               "(simulated logs with a fast-forwarded clock).")] = False,
    activate: Annotated[bool, typer.Option(help="Publish as `current` (a running server picks it up).")] = True,
) -> None:
    """Train the ranker from the engine's impressions and events (labels joined on the fly)."""
    from reelrank.state.factory import open_records
    from reelrank.training.ranker import RankerTrainConfig
    from reelrank.training.ranker_logs import train_from_logs

    s = Settings()
    if data_dir is not None:
        s.data_dir = data_dir
    s.data_dir.mkdir(parents=True, exist_ok=True)
    records = open_records(s)
    try:
        w = window_s or s.ranking.attribution_window_s
        now = time.time() + (w if include_open else 0.0)
        try:
            run = train_from_logs(records, s.data_dir, window_s=w, now=now,
                                  cfg=RankerTrainConfig(epochs=epochs, threads=threads), activate=activate)
        except ValueError as e:  # too few labelled impressions
            raise typer.BadParameter(str(e)) from None
    finally:
        records.close()
    typer.echo(json.dumps({"version": run.version, "n_train": run.n_train, "n_test": run.n_test, **run.metrics},
                          indent=1))
