"""What only the PostgreSQL record store has: migrations, day partitions, retention, many processes.

Each test works in its own schema (unique per run, dropped afterwards); the tests fail under CI and
skip locally when PostgreSQL is unreachable (tests/state/services.py). "Another process" is a
second store on the same schema: its own pool and its own cache of partitions.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from reelrank.cli import app
from reelrank.domain import Event, EventKind, User
from reelrank.state.records import pg_migrations
from reelrank.state.records.base import RecordError
from reelrank.state.records.pg_partitions import DAY_S, day_of, partition_name
from reelrank.state.records.postgres import PostgresRecordStore
from tests.state import services

_counter = itertools.count()
NOW = 1_760_000_000.0  # a fixed "now" (2025-10-09), so partition days are known


@pytest.fixture
def schema() -> Iterator[str]:
    services.require_postgres()
    name = f"rr_test_{services.RUN_TOKEN}_pg{next(_counter)}"
    yield name
    services.drop_schema(name)


@pytest.fixture
def open_store(schema: str) -> Iterator[Callable[..., PostgresRecordStore]]:
    opened: list[PostgresRecordStore] = []

    def factory(**kw: object) -> PostgresRecordStore:
        opened.append(PostgresRecordStore(services.PG_URL, schema=schema, pool_size=4, **kw))  # type: ignore[arg-type]
        return opened[-1]

    yield factory
    for s in opened:
        s.close()


def ev(eid: str, ts: float, user: str = "alice") -> Event:
    return Event(event_id=eid, user_id=user, post_id="p1", kind=EventKind.LIKE, ts=ts)


def connect() -> psycopg.Connection:
    return psycopg.connect(services.PG_URL, autocommit=True)


# migrations ------------------------------------------------------------------------------------------
def test_upgrade_applies_each_step_once(schema: str) -> None:
    with connect() as conn:
        assert pg_migrations.current_version(conn, schema) == 0
        assert pg_migrations.upgrade(conn, schema) == list(range(1, pg_migrations.latest_version() + 1))
        assert pg_migrations.upgrade(conn, schema) == []
        rows = conn.execute(f"SELECT version, name FROM {schema}.schema_version ORDER BY version").fetchall()
    assert rows[0] == (1, "initial")


def test_concurrent_upgrades_apply_once(schema: str) -> None:
    results: list[list[int]] = []

    def run() -> None:
        with connect() as conn:
            results.append(pg_migrations.upgrade(conn, schema))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Each step runs in its own transaction, so racing processes may share the steps between them;
    # what must hold is that every version is applied exactly once.
    assert sorted(v for r in results for v in r) == list(range(1, pg_migrations.latest_version() + 1))


def test_store_refuses_unknown_or_stale_schema(schema: str, open_store: Callable[..., PostgresRecordStore]) -> None:
    with pytest.raises(RecordError, match="reelrank db upgrade"):
        open_store(migrate=False)
    open_store().close()  # migrates
    open_store(migrate=False).close()  # now current
    with connect() as conn:
        conn.execute(f"INSERT INTO {schema}.schema_version (version, name) VALUES (999, 'from_the_future')")
    with pytest.raises(RecordError, match="999"):
        open_store()


def test_cli_db_upgrade(schema: str) -> None:
    result = CliRunner().invoke(app, ["db", "upgrade", "--database-url", services.PG_URL, "--schema", schema])
    assert result.exit_code == 0, result.output
    assert f"schema {schema}: version 0 -> {pg_migrations.latest_version()}" in result.output
    again = CliRunner().invoke(app, ["db", "upgrade", "--database-url", services.PG_URL, "--schema", schema])
    assert again.exit_code == 0 and "nothing to apply" in again.output


def test_migration_files_are_numbered_without_gaps(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1")
    (tmp_path / "0003_c.sql").write_text("SELECT 1")
    with pytest.raises(RecordError, match="0002"):
        pg_migrations.load_migrations(tmp_path)


# partitions and retention ------------------------------------------------------------------------------
def test_day_of_agrees_with_partition_bounds() -> None:
    assert day_of(0.0) == 0 and day_of(DAY_S - 1e-9) == 0 and day_of(float(DAY_S)) == 1
    assert day_of(-0.5) == -1
    assert partition_name("events", day_of(NOW)) == "events_20251009"
    for bad in (float("inf"), float("nan"), 1e300):
        with pytest.raises(ValueError):
            day_of(bad)


def test_partitions_ahead_and_on_demand(open_store: Callable[..., PostgresRecordStore]) -> None:
    store = open_store(partitions_ahead=2)
    store.run_maintenance(now=NOW)
    today = day_of(NOW)
    assert {today, today + 1, today + 2} <= set(store.partition_days())
    old = NOW - 400 * DAY_S  # a back-filled event gets its day's partition on demand
    assert store.append_events([ev("old", old), ev("new", NOW)]) == [True, True]
    assert day_of(old) in store.partition_days()
    assert [e.event_id for e in store.recent_events("alice")] == ["new", "old"]


def test_retention_drops_old_days_and_their_ids(open_store: Callable[..., PostgresRecordStore]) -> None:
    store = open_store(retention_days=3)
    store.append_events([ev("d-10", NOW - 10 * DAY_S), ev("d-5", NOW - 5 * DAY_S), ev("d-1", NOW - DAY_S)])
    assert store.run_maintenance(now=NOW) == [day_of(NOW - 10 * DAY_S), day_of(NOW - 5 * DAY_S)]
    assert store.count_events() == 1
    assert day_of(NOW - 10 * DAY_S) not in store.partition_days()
    # idempotency lasts as long as retention: a dropped day's id is new again, a kept one is not
    assert store.append_events([ev("d-5", NOW), ev("d-1", NOW)]) == [True, False]
    with connect() as conn:
        n_ids = conn.execute(f"SELECT count(*) FROM {store._schema}.event_ids").fetchone()
    assert n_ids == (store.count_events(),)


def test_append_survives_a_partition_dropped_by_another_process(
    open_store: Callable[..., PostgresRecordStore],
) -> None:
    writer, janitor = open_store(), open_store(retention_days=1)
    day_old = NOW - 30 * DAY_S
    writer.append_events([ev("a", day_old)])  # the writer now believes that day's partition exists
    janitor.run_maintenance(now=NOW)  # ...and the janitor drops it
    assert day_of(day_old) not in writer.partition_days()
    assert writer.append_events([ev("b", day_old + 1)]) == [True]  # retried after re-creating it
    assert [e.event_id for e in writer.recent_events("alice")] == ["b"]


# many processes ----------------------------------------------------------------------------------------
def test_two_processes_allocate_dense_distinct_ids(open_store: Callable[..., PostgresRecordStore]) -> None:
    stores = [open_store(), open_store()]
    got: dict[str, set[int]] = {}
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(20):
                # overlapping new users from both "processes": each must get one uid
                batch = [User(user_id=f"u{j}"), User(user_id=f"only{i}-{j}")]
                uids = stores[i % 2].upsert_users(batch)
                with lock:
                    for u, uid in zip(batch, uids, strict=True):
                        got.setdefault(u.user_id, set()).add(uid)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(len(uids) == 1 for uids in got.values())  # an id never changes
    all_uids = sorted(next(iter(u)) for u in got.values())
    assert all_uids == list(range(1, len(got) + 1))  # dense: no gaps, no repeats


def test_two_processes_store_each_event_once(open_store: Callable[..., PostgresRecordStore]) -> None:
    stores = [open_store(), open_store()]
    results: list[list[bool]] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        for j in range(30):
            # reversed order in half the threads: sorted id insertion must keep this deadlock-free
            batch = [ev(f"shared-{j}-{k}", NOW) for k in range(5)]
            out = stores[i % 2].append_events(batch if i % 2 else batch[::-1])
            with lock:
                results.append(out)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(sum(r) for r in results) == 30 * 5 == stores[0].count_events()


def test_two_janitors_at_once(open_store: Callable[..., PostgresRecordStore]) -> None:
    a, b = open_store(retention_days=2), open_store(retention_days=2)
    a.append_events([ev(f"old-{i}", NOW - (5 + i) * DAY_S) for i in range(4)] + [ev("new", NOW)])
    dropped: list[list[int]] = []
    threads = [threading.Thread(target=lambda s=s: dropped.append(s.run_maintenance(now=NOW))) for s in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(d for ds in dropped for d in ds) == sorted(day_of(NOW - (5 + i) * DAY_S) for i in range(4))
    assert a.count_events() == 1
