"""`reelrank ...`: serve the API, run the demo, snapshot the index."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Annotated

import typer

from reelrank.cli_db import db_app
from reelrank.cli_ml import eval_cmd, import_app, model_app, train_app
from reelrank.cli_ranking import train_ranker_cmd
from reelrank.config import Settings

app = typer.Typer(help="reelrank: a real-time recommendation engine for Reels and Explore feeds.",
                  no_args_is_help=True, add_completion=False)


def _settings(data_dir: Path | None, encoder: str | None) -> Settings:
    s = Settings()
    if data_dir is not None:
        s.data_dir = data_dir
    if encoder is not None:
        s.encoder.kind = encoder  # type: ignore[assignment]
    return s


DataDir = Annotated[
    Path | None, typer.Option(help="Where the embedded store lives (default: $REELRANK_DATA_DIR or ./data).")
]
EncoderOpt = Annotated[str | None, typer.Option(help="minilm (default, real) or hashing (test stand-in).")]


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    data_dir: DataDir = None,
    encoder: EncoderOpt = None,
    log_level: str = "warning",
    workers: Annotated[int, typer.Option(help="Serving processes (server mode: REELRANK_DATABASE_URL and "
                                          "REELRANK_REDIS_URL set; see README 'Server mode').")] = 1,
) -> None:
    """Serve the API: the embedded store in one process, or server mode (PostgreSQL + Redis) in N."""
    import uvicorn

    from reelrank.engine import Engine
    from reelrank.serving.app import create_app
    from reelrank.serving.workers import create_server_app, serve_many

    logging.basicConfig(level=log_level.upper())
    settings = _settings(data_dir, encoder)
    if settings.server_mode:
        typer.echo(f"reelrank server mode: {workers} serving process(es) on http://{host}:{port}/ "
                   "(run `reelrank worker` for the stream consumers)")
        if workers > 1:
            serve_many(settings, host, port, workers, log_level)
        else:
            uvicorn.run(create_server_app(settings), host=host, port=port, log_level=log_level, access_log=False)
        return
    if workers > 1:
        raise typer.BadParameter("--workers > 1 needs server mode (REELRANK_DATABASE_URL=postgresql://..., "
                                 "REELRANK_REDIS_URL=redis://...): embedded state lives in one process")
    engine = Engine(settings)
    typer.echo(f"reelrank is serving {len(engine.catalogue)} posts: API docs at http://{host}:{port}/docs, "
               f"web app at http://{host}:{port}/app/")
    uvicorn.run(create_app(engine, own_engine=True), host=host, port=port, log_level=log_level, access_log=False)


@app.command()
def demo(
    host: str = "127.0.0.1",
    port: int = 8000,
    data_dir: Annotated[Path, typer.Option(help="Where the demo's store lives.")] = Path("data/demo"),
    encoder: EncoderOpt = None,
    users: Annotated[int, typer.Option(help="Simulated viewers in the world.")] = 500,
    creators: int = 150,
    posts: Annotated[int, typer.Option(help="Posts in the world (encoded with MiniLM once).")] = 4000,
    simulate: Annotated[bool, typer.Option(help="Keep simulated users scrolling in the background.")] = True,
    seed: int = 0,
) -> None:
    """A live engine with a synthetic world and simulated users, on the embedded store."""
    import uvicorn

    from reelrank.demo import prepare, simulate_forever
    from reelrank.serving.app import create_app
    from reelrank.simulation.world import WorldConfig

    logging.basicConfig(level="WARNING")
    cfg = WorldConfig(n_users=users, n_creators=creators, n_posts=posts, seed=seed, now=_world_clock(data_dir))
    engine, world = prepare(_settings(data_dir, encoder), cfg)
    stop = threading.Event()
    if simulate:
        threading.Thread(target=simulate_forever, args=(f"http://{host}:{port}", world, stop), daemon=True,
                         name="simulated-users").start()
    example = world.viewers[0].user_id
    typer.echo(f"\nreelrank demo is live: {len(engine.catalogue)} posts, {len(engine.accounts)} accounts.\n"
               f"  web app:    http://{host}:{port}/app/   (Reels, Explore, Your Algorithm)\n"
               f"  inspector:  http://{host}:{port}/app/inspector.html?user={example}\n"
               f"  API docs:   http://{host}:{port}/docs\n"
               f"  a feed:     http://{host}:{port}/v1/feed?user_id={example}&explain=true\n"
               f"  metrics:    http://{host}:{port}/metrics\n"
               "Press Ctrl+C to stop.", err=False)
    try:
        uvicorn.run(create_app(engine, own_engine=True), host=host, port=port, log_level="warning",
                    access_log=False)
    finally:
        stop.set()


def _world_clock(data_dir: Path) -> float:
    """The world's 'now', fixed at first creation so a restarted demo regenerates the same world."""
    import time

    stamp = data_dir / "world_clock"
    if stamp.exists():
        return float(stamp.read_text())
    data_dir.mkdir(parents=True, exist_ok=True)
    now = time.time()
    stamp.write_text(repr(now))
    return now


@app.command()
def worker(data_dir: DataDir = None, encoder: EncoderOpt = None, log_level: str = "warning",
           report_every_s: Annotated[float, typer.Option(help="Log consumer stats this often (0: never).")] = 0.0,
           ) -> None:
    """Server mode: run the event-stream consumers (aggregates, trends, labeller); start several to share the work."""
    from reelrank.worker import run_worker

    logging.basicConfig(level=log_level.upper())
    run_worker(_settings(data_dir, encoder), report_every_s=report_every_s)


@app.command()
def snapshot(data_dir: DataDir = None) -> None:
    """Write the ANN index snapshot now (the server also does it periodically and on shutdown)."""
    from reelrank.engine import Engine

    with Engine(_settings(data_dir, None)) as engine:
        typer.echo(f"snapshot written to {engine.snapshot()}")


app.add_typer(db_app, name="db")  # `reelrank db upgrade|status|maintain` (server mode, cli_db.py)
app.add_typer(import_app, name="import")  # `reelrank import movielens|interactions` (cli_ml.py)
train_app.command("ranker")(train_ranker_cmd)  # `reelrank train ranker` (cli_ranking.py)
app.add_typer(train_app, name="train")  # `reelrank train retrieval|ranker`
app.add_typer(model_app, name="model")  # `reelrank model list|use|reload`
app.command("eval")(eval_cmd)  # `reelrank eval`: leave-one-out, baselines, report

if __name__ == "__main__":
    app()
