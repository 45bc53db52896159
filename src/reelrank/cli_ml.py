"""`reelrank import|train|model|eval`: bulk imports, learned retrieval and offline evaluation.

Kept apart from cli.py so the serving commands never import torch: each command imports the
training or evaluation code it needs inside its body.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reelrank.config import Settings

if TYPE_CHECKING:
    from reelrank.engine import Engine
    from reelrank.models.config import TwoTowerConfig

import_app = typer.Typer(help="Load data sets through the engine's writers.", no_args_is_help=True,
                         add_completion=False)
train_app = typer.Typer(help="Train models from the engine's own logs.", no_args_is_help=True, add_completion=False)
model_app = typer.Typer(help="Model versions: list, switch, reload a running server.", no_args_is_help=True,
                        add_completion=False)

DataDir = Annotated[Path | None, typer.Option(help="The store (default: $REELRANK_DATA_DIR or ./data).")]
EncoderOpt = Annotated[str | None, typer.Option(help="minilm (default, real) or hashing (fast test stand-in).")]
Epochs = Annotated[int, typer.Option(help="Most epochs (early stopping on the validation split).")]
Threads = Annotated[int, typer.Option(help="torch threads (1 is fastest on a busy 2-core machine; 0 = all cores).")]


def _settings(data_dir: Path | None, encoder: str | None = None) -> Settings:
    s = Settings()
    if data_dir is not None:
        s.data_dir = data_dir
    if encoder is not None:
        s.encoder.kind = encoder  # type: ignore[assignment]
    s.models.enabled = False  # importing, training and evaluating never need the live model loaded
    return s


def _engine(data_dir: Path | None, encoder: str | None = None) -> Engine:
    from reelrank.engine import Engine

    return Engine(_settings(data_dir, encoder))


@import_app.command("movielens")
def import_movielens(
    path: Annotated[Path, typer.Argument(help="Folder with ml-1m.txt, movies.dat, users.dat and the id maps.")],
    data_dir: DataDir = None,
    encoder: EncoderOpt = None,
) -> None:
    """MovieLens-1M (sequential form): movies -> posts (titles, genres as topics), users, ratings -> likes."""
    from reelrank.ingest.importers.bulk_loader import bulk_load
    from reelrank.ingest.importers.movielens import read_movielens

    ml = read_movielens(path)
    with _engine(data_dir, encoder) as engine:
        counts = bulk_load(engine, ml.users, ml.posts, ml.events(), ml.n_events)
        engine.snapshot()
    typer.echo(f"imported {counts}")


@import_app.command("interactions")
def import_interactions(
    path: Annotated[Path, typer.Argument(help="CSV, TSV or Parquet: user, item, timestamp|order[, kind, value].")],
    items: Annotated[Path | None, typer.Option(help="Item metadata file (title, topics, creator, ...).")] = None,
    users: Annotated[Path | None, typer.Option(help="User metadata file (region, birth_year, ...).")] = None,
    data_dir: DataDir = None,
    encoder: EncoderOpt = None,
) -> None:
    """A generic interaction log, with optional item and user metadata."""
    from reelrank.ingest.importers.bulk_loader import bulk_load
    from reelrank.ingest.importers.interactions import read_interactions

    data = read_interactions(path, items, users)
    with _engine(data_dir, encoder) as engine:
        counts = bulk_load(engine, data.users, data.posts, data.events(), len(data.rows))
        engine.snapshot()
    typer.echo(f"imported {counts}")


def _config(epochs: int, threads: int, dim: int, max_len: int, seed: int) -> TwoTowerConfig:
    from reelrank.models.config import TwoTowerConfig

    return TwoTowerConfig(epochs=epochs, threads=threads, dim=dim, max_len=max_len, seed=seed)


@train_app.command("retrieval")
def train_retrieval_cmd(
    data_dir: DataDir = None,
    epochs: Epochs = 20,
    threads: Threads = 1,
    dim: int = 64,
    max_len: int = 200,
    seed: int = 0,
    activate: Annotated[bool, typer.Option(help="Make the new version `current` (a running server picks it up).")]
    = True,
) -> None:
    """Train the two-tower model on the stored events; publish it as a new model version."""
    from reelrank.models.registry import ModelRegistry
    from reelrank.training.retrieval import train_retrieval

    s = _settings(data_dir)
    from reelrank.state.factory import open_records

    records = open_records(s)
    try:
        out = train_retrieval(records, s.encoder.dim, ModelRegistry.for_data_dir(s.data_dir),
                              _config(epochs, threads, dim, max_len, seed), make_current=activate)
    finally:
        records.close()
    summary = out.result.summary()
    summary.pop("history", None)
    typer.echo(f"model {out.version} written to {out.path}{' (current)' if activate else ''}\n"
               f"{json.dumps(summary, indent=2)}")


@model_app.command("list")
def model_list(data_dir: DataDir = None) -> None:
    """Model versions with their metrics; * marks the current one."""
    from reelrank.models.registry import ModelRegistry

    reg = ModelRegistry.for_data_dir(_settings(data_dir).data_dir)
    for v in reg.versions():
        d = reg.describe(v)
        valid = d.get("metrics", {}).get("valid", {})
        typer.echo(f"{'*' if d['current'] else ' '} {v}  {d.get('meta', {}).get('created', '')}  "
                   + "  ".join(f"{k}={val:.4f}" for k, val in valid.items()))


@model_app.command("use")
def model_use(version: str, data_dir: DataDir = None) -> None:
    """Point `current` at a version (roll forward or back); servers swap within models.check_every_s."""
    from reelrank.models.registry import ModelRegistry

    ModelRegistry.for_data_dir(_settings(data_dir).data_dir).set_current(version)
    typer.echo(f"current -> {version}")


@model_app.command("reload")
def model_reload(url: Annotated[str, typer.Option(help="A running server.")] = "http://127.0.0.1:8000") -> None:
    """Ask a running server to load the current version now (POST /v1/admin/models/reload)."""
    import httpx

    r = httpx.post(f"{url.rstrip('/')}/v1/admin/models/reload", timeout=600)
    r.raise_for_status()
    typer.echo(r.text)


def eval_cmd(
    data_dir: DataDir = None,
    out: Annotated[Path, typer.Option(help="Folder for results.md / results.json / results.png.")]
    = Path("reports/eval"),
    dataset: Annotated[str, typer.Option(help="Name shown in the report.")] = "store",
    epochs: Epochs = 20,
    threads: Threads = 1,
    dim: int = 64,
    max_len: int = 200,
    seed: int = 0,
    max_users: Annotated[int, typer.Option(help="Evaluate a seeded sample of users (0 = all).")] = 0,
    baselines: bool = True,
    funnel: bool = True,
    publish: Annotated[bool, typer.Option(help="Also publish the evaluated model as the store's current version.")]
    = False,
    model_version: Annotated[str | None, typer.Option(
        help="Reuse this retrieval version (one an earlier `eval --publish` trained on this split) instead of "
             "training; --epochs/--dim/--max-len/--seed are then the version's own, --publish is ignored.")]
    = None,
    ranker: Annotated[bool, typer.Option(
        help="Also train the production ranker on funnel candidates of training-part cases and report the "
             "funnel re-ranked by it (needs --funnel).")] = False,
    ranker_logs: Annotated[bool, typer.Option(
        help="Instead: the store's current ranker on its logged impressions after its training window "
             "(per-head AUC, calibration); writes ranker_logs.md/.json.")] = False,
    include_open: Annotated[bool, typer.Option(
        help="With --ranker-logs: label impressions whose attribution window is still open too (simulated "
             "logs with a fast-forwarded clock).")] = False,
) -> None:
    """Leave-one-out evaluation: two-tower retrieval, the funnel (and the ranker on it), baselines, one split.
    With --ranker-logs: the ranker's heads on held-out logged impressions."""
    from reelrank.evaluation.runner import EvalOptions, run_eval

    if ranker_logs:
        _eval_ranker_logs(data_dir, out, include_open)
        return
    if ranker and not funnel:
        raise typer.BadParameter("--ranker re-ranks the funnel's candidates: drop --no-funnel")
    opt = EvalOptions(cfg=_config(epochs, threads, dim, max_len, seed), out=out, dataset=dataset,
                      baselines=baselines, funnel=funnel, max_users=max_users, publish=publish,
                      model_version=model_version, ranker=ranker)
    with _engine(data_dir) as engine:
        report = run_eval(engine, opt)
    files = report.write(out)
    typer.echo(report.table() + "\n\nwritten: " + ", ".join(str(f) for f in files))


def _eval_ranker_logs(data_dir: Path | None, out: Path, include_open: bool) -> None:
    import time

    from reelrank.evaluation.ranker_logs_eval import evaluate_logged, table, write
    from reelrank.state.factory import open_records

    s = _settings(data_dir)
    w = s.ranking.attribution_window_s
    records = open_records(s)
    try:
        result = evaluate_logged(records, s.data_dir, window_s=w, now=time.time() + (w if include_open else 0.0))
    except ValueError as e:  # no ranker, too few held-out impressions
        raise typer.BadParameter(str(e)) from None
    finally:
        records.close()
    files = write(result, out)
    typer.echo(table(result) + "\n\nwritten: " + ", ".join(str(f) for f in files))
