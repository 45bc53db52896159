"""`reelrank train ranker`: gather labelled impressions (the label job's stored shards, joined on the fly
where they do not reach), train the multi-task ranker (shared-bottom or MMoE) + pre-ranker."""

from __future__ import annotations

import dataclasses
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
    arch: Annotated[str, typer.Option(help="Ranker network: shared_bottom or mmoe (default: "
                                      "RankerTrainConfig.arch).")] = "",
    experts: Annotated[int, typer.Option(help="MMoE experts.")] = 4,
    labels: Annotated[str, typer.Option(help="auto: the label job's stored labels (<data_dir>/labels), "
                                        "joining on the fly what they do not cover; stored: those only; "
                                        "join: join every impression to its events now.")] = "auto",
) -> None:
    """Train the ranker from the label job's stored labels (joined on the fly from impressions and events
    where there are none)."""
    from reelrank.ranking.ranker_model import ARCHS
    from reelrank.state.factory import open_records
    from reelrank.training.ranker import RankerTrainConfig
    from reelrank.training.ranker_logs import LABEL_SOURCES, train_from_logs

    if arch and arch not in ARCHS:
        raise typer.BadParameter(f"--arch must be one of {ARCHS}")
    if labels not in LABEL_SOURCES:
        raise typer.BadParameter(f"--labels must be one of {LABEL_SOURCES}")
    cfg = RankerTrainConfig(epochs=epochs, threads=threads, experts=experts)
    if arch:
        cfg = dataclasses.replace(cfg, arch=arch)
    s = Settings()
    if data_dir is not None:
        s.data_dir = data_dir
    s.data_dir.mkdir(parents=True, exist_ok=True)
    records = open_records(s)
    try:
        w = window_s or s.ranking.attribution_window_s
        now = time.time() + (w if include_open else 0.0)
        try:
            run = train_from_logs(records, s.data_dir, window_s=w, now=now, cfg=cfg, activate=activate,
                                  labels=labels)
        except ValueError as e:  # too few labelled impressions, or no stored labels with --labels stored
            raise typer.BadParameter(str(e)) from None
    finally:
        records.close()
    typer.echo(json.dumps({"version": run.version, "arch": cfg.arch, "labels": run.labels, "n_train": run.n_train,
                           "n_test": run.n_test, **run.metrics}, indent=1))
