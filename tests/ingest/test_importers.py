"""Importers: a generic interaction file (CSV, TSV, Parquet) and MovieLens-1M, through the engine's writers."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from reelrank.engine import Engine
from reelrank.ingest.importers.bulk_loader import bulk_load
from reelrank.ingest.importers.interactions import read_interactions
from reelrank.ingest.importers.movielens import missing_files, read_movielens

ML1M = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ml-1m"


def write(path: Path, rows: list[dict[str, object]], delimiter: str = ",") -> Path:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter=delimiter)
        w.writeheader()
        w.writerows(rows)
    return path


def test_generic_csv_with_metadata_goes_through_the_writers(tmp_path: Path, engine: Engine) -> None:
    log = write(tmp_path / "log.csv", [
        {"user": "u1", "item": "a", "timestamp": "2024-01-01T10:00:00Z", "kind": "view", "value": 0.95},
        {"user": "u1", "item": "b", "timestamp": 1704103300, "kind": "like", "value": ""},
        {"user": "u2", "item": "a", "timestamp": 1704103200000, "kind": "skip", "value": ""},
    ])
    items = write(tmp_path / "items.csv", [
        {"item": "a", "title": "garlic pasta", "genres": "cooking|food", "creator": "chef", "duration_ms": 20000},
        {"item": "b", "title": "stadium goal", "genres": "football", "creator": "club", "duration_ms": ""},
    ])
    users = write(tmp_path / "users.tsv", [{"user": "u1", "region": "FR", "birth_year": 1990}], delimiter="\t")
    data = read_interactions(log, items, users)
    counts = bulk_load(engine, data.users, data.posts, data.events(), progress=False)
    assert (counts.posts, counts.events) == (2, 3)
    assert engine.accounts.get("u1")[1].region == "FR"  # type: ignore[index]
    assert engine.records.get_post("a").post.topics == ["cooking", "food"]  # type: ignore[union-attr]
    events = engine.records.recent_events("u1")
    view = next(e for e in events if e.kind.value == "view")
    assert view.watch_ms == 19000 and view.duration_ms == 20000
    again = bulk_load(engine, data.users, data.posts, data.events(), progress=False)
    assert again.events == 0 and again.duplicates == 3  # re-importing is idempotent


def test_order_column_and_parquet(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    path = tmp_path / "log.parquet"
    pq.write_table(pa.table({"user_id": ["x", "x", "y"], "item_id": ["i2", "i1", "i1"], "order": [2, 1, 1]}), path)
    data = read_interactions(path)
    assert [(u, i) for u, i, *_ in data.rows] == [("x", "i1"), ("x", "i2"), ("y", "i1")]  # sorted by order
    assert {p.creator_id for p in data.posts} == {"imported"}


def _tiny_movielens(folder: Path) -> Path:
    folder.mkdir()
    (folder / "ml-1m.txt").write_text("1 1\n1 2\n2 2\n1 3\n")
    (folder / "sas_to_original_items.txt").write_text("1 10\n2 20\n3 30\n")
    (folder / "sas_to_original_users.txt").write_text("1 5\n2 6\n")
    (folder / "movies.dat").write_text("10::Heat (1995)::Action|Crime|Thriller\n20::Toy Story (1995)::Animation\n"
                                       "30::Metropolis (1927)::Drama|Sci-Fi\n40::Unused (2000)::Drama\n")
    (folder / "users.dat").write_text("5::F::25::10::48067\n6::M::1::4::K1A0B1\n")
    return folder


def test_movielens_mapping(tmp_path: Path, engine: Engine) -> None:
    ml = read_movielens(_tiny_movielens(tmp_path / "ml"))
    assert [u.user_id for u in ml.users] == ["ml-1920s", "ml-1990s", "mluser5", "mluser6"]
    assert ml.users[2].region == "zip48" and ml.users[2].birth_year == 1970
    heat = next(p for p in ml.posts if p.post_id == "movie10")
    assert heat.caption == "Heat (1995)" and heat.topics == ["Action", "Crime", "Thriller"]
    assert len(ml.posts) == 3 and ml.n_events == 4
    events = list(ml.events())
    assert [(e.user_id, e.post_id) for e in events][:2] == [("mluser5", "movie10"), ("mluser5", "movie20")]
    assert events[0].ts < events[1].ts < events[3].ts  # per-user order kept
    counts = bulk_load(engine, ml.users, ml.posts, ml.events(), progress=False)
    assert counts.events == 4 and len(engine.catalogue) == 3


def test_real_movielens_files_parse() -> None:
    if missing_files(ML1M):
        pytest.skip(f"MovieLens-1M not found at {ML1M} (download it; see README 'Data')")
    ml = read_movielens(ML1M)
    assert len(ml.posts) == 3416 and ml.n_events == 999_611
    assert sum(u.user_id.startswith("mluser") for u in ml.users) == 6040
