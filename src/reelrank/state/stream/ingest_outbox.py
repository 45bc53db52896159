"""Online effects owed for events that are stored but whose Redis side failed (server-mode ingest).

The event path stores an event in PostgreSQL first (durable, idempotent by event_id), then applies its
user features in Redis, then appends it to the event stream (aggregates, trends, popularity). If Redis
goes away between the store and the end, the request fails with a 503, but the event *is* stored: the
client's retry is a duplicate and, without this outbox, its online effects would never be applied.

So a serving process records, at the moment a Redis step fails, the events whose effects it still owes
and which step is missing ("apply": user features and the stream entry; "publish": the stream entry
only, the features were applied). The debt is settled exactly once, by whichever comes first:

- a retry of the same events reaching this process (the retry's answer waits for it: 2xx once the
  effects are applied, 503 again while Redis is still down);
- the outbox's own thread, as soon as Redis answers again (a retry reaching another process is a
  plain duplicate there, and this process applies the effects within about a second).

Durable: each debt is appended (and fsync'ed) to `<data_dir>/outbox/<process>.jsonl`, a file the
process holds an exclusive lock on. A process that starts adopts the files of processes that died
with debts (their lock is free), so a crash during an outage loses nothing either.

Settling applies only the online part (`apply` is handed the writer's online step: the durable side
effects, follows, reports and hides, were stored before the Redis step failed and are not redone, so
an unfollow made meanwhile stands).

Left open: settling re-applies a batch's user features as a whole. The event writer sends them as one
Lua script call (OnlineState.batch(): atomic, nothing else runs between its writes), so that is exact
when the call never reached Redis, but not when Redis ran it and the reply was lost with the
connection, nor when a command inside the script failed part-way (a script does not roll back what it
already wrote): then that batch's features count twice (at-least-once for those cases). A crash while
settling (after applying, before the file is rewritten) re-applies on adoption likewise. A process
killed between the durable append and the Redis step (kill -9, OOM) records no debt: the retry is a
duplicate and those events' online effects are missing (their aggregates are not: the stored events
are not on the stream either, so nothing counts them; a reconciling worker would close this gap).
A torn last line (a process killed while recording a debt) is skipped with a warning and kept in
`<name>.jsonl.bad`: that debt's request never got its answer, so its client retries.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from reelrank.domain import Event

log = logging.getLogger(__name__)
Resolved = tuple[Event, int, int]  # (event, uid, pid) as the event writer resolved it
APPLY, PUBLISH = "apply", "publish"


class IngestOutbox:
    def __init__(self, directory: Path, name: str, apply: Callable[[Sequence[Resolved]], None],
                 publish: Callable[[Sequence[Resolved]], None], ready: Callable[[], None],
                 *, every_s: float = 1.0) -> None:
        """apply / publish: the event writer's original steps; ready() raises while Redis is down."""
        self._apply, self._publish, self._ready = apply, publish, ready
        self._every_s = every_s
        self._lock = threading.Lock()
        self._settled_cv = threading.Condition(self._lock)  # a settle() finished: ids left _settling
        self._owed: dict[str, tuple[Resolved, str]] = {}  # event_id -> (item, missing step)
        self._settling: set[str] = set()  # event ids a settle() call is applying now
        directory.mkdir(parents=True, exist_ok=True)
        self._dir = directory
        self.path = directory / f"{name}.jsonl"
        self._fh: IO[str] = open(self.path, "a+")  # noqa: SIM115 - held (and locked) for the process's life
        fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.settled = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.adopt_orphans()

    def __len__(self) -> int:
        return len(self._owed)

    # -- recording -------------------------------------------------------------------------------------
    def owe(self, items: Sequence[Resolved], step: str) -> None:
        """Record that `step` (and what follows it) is missing for these stored events."""
        if not items:
            return
        with self._lock:
            for it in items:
                self._owed[it[0].event_id] = (it, step)
            self._append([(it, step) for it in items])
        log.warning("ingest outbox: %d stored events owe their online effects (%s failed)", len(items), step)

    def _append(self, rows: Sequence[tuple[Resolved, str]]) -> None:
        for (e, uid, pid), step in rows:
            self._fh.write(json.dumps({"e": e.model_dump(mode="json"), "u": uid, "p": pid, "s": step}) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def _rewrite(self) -> None:
        self._fh.seek(0)
        self._fh.truncate()
        self._append(list(self._owed.values()))

    def adopt_orphans(self) -> int:
        """Take over the debts of processes that died (their file's lock is free); returns how many."""
        n = 0
        for path in sorted(self._dir.glob("*.jsonl")):
            if path == self.path:
                continue
            try:
                fh = open(path, "r+")  # noqa: SIM115 - closed below
            except FileNotFoundError:
                continue  # adopted by another process meanwhile
            with fh:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its process is alive and settles its own debts
                if not path.exists():
                    continue
                rows, bad = _rows(fh)
                if bad:  # kept for an operator; never blocks a start
                    log.warning("ingest outbox: %d unreadable lines in %s (kept in %s.bad)", len(bad), path, path)
                    with open(f"{path}.bad", "a") as keep:
                        keep.writelines(bad)
                with self._lock:
                    for it, step in rows:
                        self._owed.setdefault(it[0].event_id, (it, step))
                    self._append(rows)
                path.unlink()
                n += len(rows)
        if n:
            log.warning("ingest outbox: adopted %d owed events of processes that stopped", n)
        return n

    # -- settling --------------------------------------------------------------------------------------
    def settle(self, event_ids: Sequence[str] | None = None) -> int:
        """Apply what is owed for these events (all when None); raises if Redis fails again (the debt stays).
        Events stay counted as owed until their effects are applied; one settle at a time takes each."""
        with self._lock:
            if event_ids is not None:  # a retry: if the outbox thread is applying them now, wait for it
                self._settled_cv.wait_for(lambda: not self._settling.intersection(event_ids), timeout=30.0)
            keys = [k for k in dict.fromkeys(self._owed if event_ids is None else event_ids)
                    if k in self._owed and k not in self._settling]
            taken = {k: self._owed[k] for k in keys}
            self._settling.update(keys)
        if not taken:
            return 0
        todo_apply = [it for it, step in taken.values() if step == APPLY]
        todo_publish = todo_apply + [it for it, step in taken.values() if step == PUBLISH]
        applied = not todo_apply
        try:
            self._ready()
            if todo_apply:
                self._apply(todo_apply)
                applied = True
            self._publish(todo_publish)
        except BaseException:
            with self._lock:  # what was not done stays owed (features first, then the stream entry)
                if applied:
                    for it in todo_apply:
                        self._owed[it[0].event_id] = (it, PUBLISH)
                self._settling.difference_update(keys)
                self._rewrite()
                self._settled_cv.notify_all()
            raise
        with self._lock:
            for k in keys:
                del self._owed[k]
            self._settling.difference_update(keys)
            self._rewrite()
            self.settled += len(keys)
            self._settled_cv.notify_all()
        log.warning("ingest outbox: applied the online effects of %d stored events", len(keys))
        return len(keys)

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            if self._owed:
                try:
                    self.settle()
                except Exception as exc:  # Redis still down: try again later
                    log.info("ingest outbox: still owed (%s)", exc)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True, name="ingest-outbox")
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._every_s + 5)
        with self._lock:
            empty = not self._owed
            self._fh.close()  # releases the lock: a later process adopts what is still owed
        if empty:
            self.path.unlink(missing_ok=True)


def _row(line: str) -> tuple[Resolved, str]:
    d: dict[str, Any] = json.loads(line)
    return (Event.model_validate(d["e"]), int(d["u"]), int(d["p"])), str(d["s"])


def _rows(lines: Iterable[str]) -> tuple[list[tuple[Resolved, str]], list[str]]:
    """The debts in a file, and the lines that do not parse (a write torn by a crash)."""
    rows, bad = [], []
    for line in lines:
        if not line.strip():
            continue
        try:
            rows.append(_row(line))
        except (ValueError, KeyError, TypeError):  # json / pydantic errors are ValueErrors
            bad.append(line if line.endswith("\n") else line + "\n")
    return rows, bad
