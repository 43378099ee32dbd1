"""The catalog (src/store/ml_catalog.h) against a real PostgreSQL, through
tests/tools/ml_catalog_tool: commits and their idempotency, names, durable
sizes, jobs, compaction and retention, the list's filters, notifications,
and a PostgreSQL restart under a live catalog and listener."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from pg_fixtures import CatalogTool
from pg_server import PgServer

DAY_US = 86_400_000_000


def rid(n: int, prefix: int = 0x0190AAAA) -> str:
    """A run id; runs with one prefix share their first 8 hex digits."""
    return f"{prefix:08x}-0000-7000-8000-{n:012x}"


def run(n: int, name: str | None = None, **kw: Any) -> dict[str, Any]:
    r = {
        "run_id": kw.pop("run_id", rid(n)),
        "name": name or f"lab/run{n}",
        "label": "lab",
        "host": "h1",
        "start": 1_000_000 + n,
    }
    r.update(kw)
    return r


class Batches:
    """Segments described as JSON files, committed by a CatalogTool."""

    def __init__(self, tmp: Path, cat: CatalogTool) -> None:
        self.tmp = tmp
        self.cat = cat
        self.n = 0

    def commit(
        self,
        runs: list[dict[str, Any]],
        pieces: list[list[int]],
        segment: str | None = "seg/1",
    ) -> Any:
        self.n += 1
        path = self.tmp / f"batch{self.n}.json"
        doc = {
            "segment": segment,
            "bytes": 1000,
            "runs": runs,
            "pieces": pieces,
        }
        path.write_text(json.dumps(doc))
        return self.cat.call("commit", str(path))

    def durable(self, *args: Any, **kw: Any) -> list[int]:
        out = self.commit(*args, **kw)
        assert "durable" in out, out
        return list(out["durable"])


def sql(pg: PgServer, cat: CatalogTool, query: str) -> str:
    return pg.psql(query, cat.uri.rsplit("/", 1)[1])


def state(pg: PgServer, cat: CatalogTool) -> str:
    """Everything a commit may change, as text."""
    return sql(
        pg,
        cat,
        "SELECT (SELECT json_agg(r ORDER BY run_id) FROM (SELECT run_id, name,"
        " status, durable, end_size FROM runs) r),"
        " (SELECT json_agg(p ORDER BY run_id, off) FROM pieces p),"
        " (SELECT json_agg(s ORDER BY key) FROM (SELECT key, live_pieces FROM"
        " segments) s),"
        " (SELECT json_agg(j ORDER BY id) FROM (SELECT id, kind, arg FROM"
        " jobs) j)",
    )


def test_commit_is_idempotent(
    tmp_path: Path, catalog: CatalogTool, pg_server: PgServer
) -> None:
    b = Batches(tmp_path, catalog)
    runs = [run(1, end_size=30), run(2)]
    pieces = [[0, 0, 10, 0], [0, 10, 10, 10], [1, 0, 5, 20], [0, 20, 10, 25]]
    assert b.durable(runs, pieces) == [30, 5]
    before = state(pg_server, catalog)
    assert b.durable(runs, pieces) == [30, 5]
    assert state(pg_server, catalog) == before
    assert sql(pg_server, catalog, "SELECT live_pieces FROM segments") == "4"
    # The same pieces in another segment (a retried send): not referenced,
    # and the copy is queued for deletion.
    assert b.durable(runs, pieces, segment="seg/2") == [30, 5]
    assert (
        sql(
            pg_server,
            catalog,
            "SELECT live_pieces FROM segments WHERE key = 'seg/2'",
        )
        == "0"
    )
    assert (
        sql(
            pg_server,
            catalog,
            "SELECT count(*) FROM jobs WHERE kind = 2 AND arg = 'seg/2'",
        )
        == "1"
    )
    got = catalog.ok("pieces", rid(1))
    assert got == [
        [0, 10, "seg/1", 0],
        [10, 10, "seg/1", 10],
        [20, 10, "seg/1", 25],
    ]
    assert catalog.ok("pieces", rid(1), "15") == got[1:]


def test_end_only_and_status_only_commits(
    tmp_path: Path, catalog: CatalogTool
) -> None:
    b = Batches(tmp_path, catalog)
    assert b.durable([run(1)], [], segment=None) == [0]
    assert b.durable([run(1)], [[0, 0, 8, 0]]) == [8]
    assert b.durable([run(1, end_size=8)], [], segment=None) == [8]
    row = catalog.ok("get-id", rid(1))
    assert row["end_size"] == 8 and row["status"] == 1
    assert catalog.ok("take-job", "30")["arg"] == rid(1)


def test_name_collisions(tmp_path: Path, catalog: CatalogTool) -> None:
    b = Batches(tmp_path, catalog)
    b.durable([run(1, "lab/a")], [], segment=None)
    # Same name, another run: "-" and 8 hex digits of its id; a third
    # whose id starts alike (UUIDv7 begins with the time): all 32.
    b.durable(
        [
            run(2, "lab/a", run_id=rid(2, 0x12345678)),
            run(3, "lab/a", run_id=rid(3, 0x12345678)),
        ],
        [],
        segment=None,
    )
    assert catalog.ok("get", "lab/a")["run_id"] == rid(1)
    assert catalog.ok("get", "lab/a-12345678")["run_id"] == rid(2, 0x12345678)
    full = "lab/a-" + rid(3, 0x12345678).replace("-", "")
    assert catalog.ok("get", full)["run_id"] == rid(3, 0x12345678)
    # A retry keeps every name.
    b.durable([run(3, "lab/a", run_id=rid(3, 0x12345678))], [], segment=None)
    assert catalog.ok("list")["total"] == 3
    assert catalog.ok("get", "lab/none") is None
    # Array literals carry any text: quotes, backslashes, braces, commas.
    odd = 'lab/we"ird\\,{x} NULL \u00e9'
    b.durable([run(4, odd, label='l"1', host="h\\")], [], segment=None)
    row = catalog.ok("get", odd)
    assert (row["run_id"], row["label"], row["host"]) == (rid(4), 'l"1', "h\\")
    assert catalog.ok("get-id", rid(99)) is None


def test_durable_extends_when_gaps_fill(
    tmp_path: Path, catalog: CatalogTool
) -> None:
    b = Batches(tmp_path, catalog)
    r = [run(1, end_size=40)]
    assert b.durable(r, [[0, 0, 10, 0], [0, 20, 10, 10]], "seg/1") == [10]
    assert b.durable(r, [[0, 30, 10, 0]], "seg/2") == [10]
    assert catalog.ok("get-id", rid(1))["status"] == 0
    assert catalog.ok("take-job", "30") is None
    assert b.durable(r, [[0, 10, 10, 0]], "seg/3") == [40]
    assert catalog.ok("get-id", rid(1))["status"] == 1


def test_end_queues_compaction_once(
    tmp_path: Path, catalog: CatalogTool, pg_server: PgServer
) -> None:
    b = Batches(tmp_path, catalog)
    r = [run(1, end_size=10)]
    b.durable(r, [[0, 0, 10, 0]])
    b.durable(r, [[0, 0, 10, 0]])
    b.durable(r, [[0, 0, 10, 0]], "seg/2")
    assert (
        sql(pg_server, catalog, "SELECT count(*) FROM jobs WHERE kind = 1")
        == "1"
    )
    job = catalog.ok("take-job", "30")
    assert job["kind"] == 1 and job["arg"] == rid(1)
    catalog.ok("finish-job", str(job["id"]))
    # Once done, a late retry of the last segment queues nothing.
    b.durable(r, [[0, 0, 10, 0]])
    assert (
        sql(pg_server, catalog, "SELECT count(*) FROM jobs WHERE kind = 1")
        == "0"
    )


def take_all(cat: CatalogTool, out: list[int]) -> None:
    while True:
        job = cat.ok("take-job", "60")
        if job is None:
            return
        out.append(job["id"])


def test_jobs_leased_once_and_returned_after_lease(
    tmp_path: Path,
    catalog: CatalogTool,
    catalog_tool: Path,
    pg_server: PgServer,
) -> None:
    b = Batches(tmp_path, catalog)
    runs = [run(i, end_size=10) for i in range(40)]
    b.durable(runs, [[i, 0, 10, 10 * i] for i in range(40)])
    takers = [CatalogTool(catalog_tool, catalog.uri) for _ in range(2)]
    taken: list[list[int]] = [[], []]
    threads = [
        threading.Thread(target=take_all, args=(t, got))
        for t, got in zip(takers, taken)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for t in takers:
        t.close()
    ids = taken[0] + taken[1]
    assert len(ids) == 40 and len(set(ids)) == 40, taken
    # A lease that ran out gives the job back, to anyone.
    for i in ids:
        catalog.ok("finish-job", str(i))
    b.durable([run(50, end_size=5)], [[0, 0, 5, 0]])
    first = catalog.ok("take-job", "1")
    assert catalog.ok("take-job", "1") is None
    time.sleep(1.2)
    again = catalog.ok("take-job", "30")
    assert again["id"] == first["id"]
    assert (
        sql(
            pg_server,
            catalog,
            f"SELECT attempts FROM jobs WHERE id = {first['id']}",
        )
        == "2"
    )


def test_compacted_frees_unreferenced_segments(
    tmp_path: Path, catalog: CatalogTool, pg_server: PgServer
) -> None:
    b = Batches(tmp_path, catalog)
    runs = [run(1, end_size=20), run(2)]
    b.durable(runs, [[0, 0, 10, 0], [1, 0, 10, 10]], "seg/1")
    b.durable(runs, [[0, 10, 10, 0]], "seg/2")
    job = catalog.ok("take-job", "30")
    assert job["arg"] == rid(1)
    catalog.ok("compacted", rid(1), "run/1.mlog", "20", "60")
    catalog.ok("finish-job", str(job["id"]))
    assert catalog.ok("pieces", rid(1)) == []
    row = catalog.ok("get-id", rid(1))
    assert (
        row["object_key"] == "run/1.mlog"
        and row["object_size"] == 20
        and row["status"] == 1
    )
    # seg/2 held only run 1: its deletion is queued, due in 60 s; seg/1
    # still holds run 2.
    jobs = sql(
        pg_server,
        catalog,
        "SELECT arg, due_us > ml_now_us() + 50000000 FROM jobs WHERE kind = 2",
    )
    assert jobs == "seg/2|t"
    assert catalog.ok("take-job", "30") is None
    # A late retry of run 1's pieces is not stored again.
    b.durable(runs[:1], [[0, 10, 10, 0]], "seg/2")
    assert catalog.ok("pieces", rid(1)) == []
    # Compacting run 2 with no delay frees seg/1 at once.
    catalog.ok("compacted", rid(2), "run/2.mlog", "10", "0")
    job = catalog.ok("take-job", "30")
    assert job == {"id": job["id"], "kind": 2, "arg": "seg/1"}
    catalog.ok("segment-deleted", "seg/1")
    catalog.ok("finish-job", str(job["id"]))
    assert (
        sql(pg_server, catalog, "SELECT key FROM segments ORDER BY key")
        == "seg/2"
    )


def test_a_segment_that_gets_pieces_again_is_kept(
    tmp_path: Path, catalog: CatalogTool, pg_server: PgServer
) -> None:
    b = Batches(tmp_path, catalog)
    b.durable([run(1)], [[0, 0, 10, 0]], "seg/1")
    b.durable([run(1)], [[0, 0, 10, 0]], "seg/1b")  # a copy: queued
    assert (
        sql(
            pg_server,
            catalog,
            "SELECT count(*) FROM jobs WHERE arg = 'seg/1b'",
        )
        == "1"
    )
    b.durable([run(2)], [[0, 0, 10, 50]], "seg/1b")  # now it holds run 2
    assert (
        sql(
            pg_server,
            catalog,
            "SELECT count(*) FROM jobs WHERE arg = 'seg/1b'",
        )
        == "0"
    )


def test_retention_and_delete_run(
    tmp_path: Path, catalog: CatalogTool, pg_server: PgServer
) -> None:
    b = Batches(tmp_path, catalog)
    runs = [run(i, start=i * DAY_US) for i in range(1, 6)]
    b.durable(runs, [[i, 0, 10, 10 * i] for i in range(5)])
    old = catalog.ok("expired", str(3 * DAY_US + 1), "10")
    assert [r["run_id"] for r in old] == [rid(1), rid(2), rid(3)]
    assert [
        r["run_id"] for r in catalog.ok("expired", str(3 * DAY_US + 1), "2")
    ] == [rid(1), rid(2)]
    for r in old:
        catalog.ok("delete-run", r["run_id"])
    assert catalog.ok("expired", str(3 * DAY_US + 1), "10") == []
    assert catalog.ok("list")["total"] == 2
    assert catalog.ok("pieces", rid(1)) == []
    assert sql(pg_server, catalog, "SELECT live_pieces FROM segments") == "2"
    for r in (4, 5):
        catalog.ok("delete-run", rid(r))
    assert (
        sql(pg_server, catalog, "SELECT arg FROM jobs WHERE kind = 2")
        == "seg/1"
    )


def test_register_object(catalog: CatalogTool, tmp_path: Path) -> None:
    catalog.ok(
        "register",
        rid(1),
        "lab/saved",
        "lab",
        "h9",
        "777",
        "run/saved.mlog",
        "1234",
    )
    row = catalog.ok("get", "lab/saved")
    assert row["run_id"] == rid(1)
    assert (row["status"], row["durable"], row["end_size"]) == (1, 1234, 1234)
    assert (row["object_key"], row["object_size"], row["host"]) == (
        "run/saved.mlog",
        1234,
        "h9",
    )
    # A known run_id is left as it is.
    catalog.ok(
        "register", rid(1), "lab/other", "lab", "h9", "777", "run/x.mlog", "1"
    )
    assert catalog.ok("get-id", rid(1))["object_key"] == "run/saved.mlog"
    # A live run of the same name does not stop it.
    Batches(tmp_path, catalog).durable(
        [run(2, "lab/saved2")], [], segment=None
    )
    catalog.ok("register", rid(3), "lab/saved2", "lab", "h", "1", "run/3", "3")
    assert catalog.ok("get-id", rid(3))["name"] == "lab/saved2-0190aaaa"


def names(out: dict[str, Any]) -> list[str]:
    return [r["name"] for r in out["runs"]]


def test_list_filters(tmp_path: Path, catalog: CatalogTool) -> None:
    b = Batches(tmp_path, catalog)
    runs = [
        run(1, "web/Checkout_50%", label="web", host="a", start=10),
        run(2, "web/checkout-2", label="web", host="b", start=20),
        run(3, "batch/nightly", label="batch", host="a", start=30),
        run(4, "batch/CHECKOUT", label="batch", host="b", start=40),
        run(5, "web/home", label="web", host="a", start=50),
    ]
    b.durable(runs, [], segment=None)
    assert names(catalog.ok("list")) == [
        "web/home",
        "batch/CHECKOUT",
        "batch/nightly",
        "web/checkout-2",
        "web/Checkout_50%",
    ]
    assert names(catalog.ok("list", "label=web")) == [
        "web/home",
        "web/checkout-2",
        "web/Checkout_50%",
    ]
    assert names(catalog.ok("list", "host=a", "label=web")) == [
        "web/home",
        "web/Checkout_50%",
    ]
    out = catalog.ok("list", "text=checkout")
    assert out["total"] == 3 and names(out) == [
        "batch/CHECKOUT",
        "web/checkout-2",
        "web/Checkout_50%",
    ]
    # LIKE's own characters are plain text in the filter.
    assert names(catalog.ok("list", "text=_50%")) == ["web/Checkout_50%"]
    assert (
        names(catalog.ok("list", "text=t_2")) == []
    )  # "_" would match the "-" of checkout-2
    assert names(catalog.ok("list", "text=o'; DROP TABLE runs; --")) == []
    assert names(catalog.ok("list", "since=20", "until=40")) == [
        "batch/nightly",
        "web/checkout-2",
    ]
    out = catalog.ok("list", "limit=2", "offset=1")
    assert out["total"] == 5 and names(out) == [
        "batch/CHECKOUT",
        "batch/nightly",
    ]
    out = catalog.ok("list", "label=web", "limit=1")
    assert out["total"] == 3 and names(out) == ["web/home"]
    out = catalog.ok("list", "label=none")
    assert (out["total"], out["runs"]) == (0, [])


def test_bad_input_is_refused(tmp_path: Path, catalog: CatalogTool) -> None:
    b = Batches(tmp_path, catalog)
    assert b.commit([run(1, run_id="not-a-uuid")], [])["code"] == -3
    assert b.commit([run(1)], [[1, 0, 10, 0]])["code"] == -3  # no run 1
    assert b.commit([run(1)], [[0, 0, 0, 0]])["code"] == -3  # empty piece
    assert b.commit([run(1)], [[0, 0, 10, 0]], segment=None)["code"] == -3
    assert b.commit([run(1, "x" * 2000)], [])["code"] == -3
    assert catalog.ok("list")["total"] == 0
    assert catalog.call("take-job", "0")["code"] == -3


def test_servers_starting_together_migrate_once(
    catalog_tool: Path, pg_uri: str, pg_server: PgServer
) -> None:
    procs = [
        subprocess.Popen(
            [str(catalog_tool), pg_uri, "list"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    for p in procs:
        out, _ = p.communicate(timeout=60)
        assert json.loads(out)["total"] == 0, out
    db = pg_uri.rsplit("/", 1)[1]
    assert (
        pg_server.psql(
            "SELECT string_agg(version::text, ',' ORDER BY version)"
            " FROM schema_version",
            db,
        )
        == "1,2"
    )


class Listener:
    """`ml_catalog_tool URI listen N TIMEOUT_MS` in the background."""

    def __init__(self, tool: Path, uri: str, n: int, timeout_ms: int) -> None:
        self.proc = subprocess.Popen(
            [str(tool), uri, "listen", str(n), str(timeout_ms)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout
        assert self.proc.stdout.readline().strip() == "ready"
        self.lines: list[dict[str, Any]] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.proc.stdout
        for line in self.proc.stdout:
            self.lines.append(json.loads(line))

    def got(self) -> list[dict[str, Any]]:
        return [x for x in self.lines if x.get("payload")]

    def gaps(self) -> int:
        """Empty payloads: reconnected, notifications may be lost."""
        return sum(1 for x in self.lines if x.get("payload") == "")

    def wait_for(self, n: int, seconds: float) -> list[dict[str, Any]]:
        end = time.monotonic() + seconds
        while len(self.got()) < n and time.monotonic() < end:
            time.sleep(0.005)
        return self.got()

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def test_listener_gets_notifications_quickly(
    tmp_path: Path, catalog: CatalogTool, catalog_tool: Path
) -> None:
    b = Batches(tmp_path, catalog)
    b.durable([run(1)], [], segment=None)  # the catalog is open and warm
    lst = Listener(catalog_tool, catalog.uri, 10, 30000)
    try:
        lat = []
        for i in range(5):
            t0 = time.time()
            b.durable([run(1)], [[0, 10 * i, 10, 0]], f"seg/{i}")
            got = lst.wait_for(i + 1, 5)
            assert got[i]["payload"] == f"{rid(1)} {10 * (i + 1)}"
            lat.append(got[i]["t_us"] / 1e6 - t0)
        print(
            "\nnotification latency from the commit call (ms): "
            + ", ".join(f"{x * 1e3:.1f}" for x in lat)
        )
        assert sorted(lat)[2] < 0.1, lat
    finally:
        lst.close()


def test_listener_and_catalog_survive_a_restart(
    tmp_path: Path, catalog_tool: Path, pg_own_server: PgServer
) -> None:
    pg = pg_own_server
    cat = CatalogTool(catalog_tool, pg.create_database("own"))
    b = Batches(tmp_path, cat)
    try:
        assert b.durable([run(1)], [[0, 0, 10, 0]]) == [10]
        lst = Listener(catalog_tool, cat.uri, 3, 60000)
        assert b.durable([run(1)], [[0, 10, 10, 0]], "seg/2") == [20]
        assert lst.wait_for(1, 5)[0]["payload"] == f"{rid(1)} 20"
        pg.restart()
        # The catalog's pooled connection broke: the call is retried on a
        # new one; the listener reconnects and listens again.
        assert b.durable([run(1)], [[0, 20, 10, 0]], "seg/3") == [30]
        t0 = time.monotonic()
        while len(lst.wait_for(2, 0.2)) < 2 and time.monotonic() - t0 < 10:
            b.durable([run(1)], [[0, 20, 10, 0]], "seg/3")
        assert lst.got()[1]["payload"] == f"{rid(1)} 30"
        assert lst.gaps() == 1
        # A crash (no clean shutdown) too.
        pg.crash()
        pg.start()
        assert cat.ok("get-id", rid(1))["durable"] == 30
        lst.close()
    finally:
        cat.close()


def test_a_call_while_the_database_is_down_fails_and_the_next_recovers(
    tmp_path: Path, catalog_tool: Path, pg_own_server: PgServer
) -> None:
    pg = pg_own_server
    cat = CatalogTool(catalog_tool, pg.create_database("own"))
    try:
        assert cat.ok("list")["total"] == 0
        pg.stop()
        t0 = time.monotonic()
        out = cat.call("list")
        assert out["code"] == -2 and time.monotonic() - t0 < 10, out
        pg.start()
        assert cat.ok("list")["total"] == 0
    finally:
        cat.close()


def test_threads_share_the_pool_and_runs(catalog: CatalogTool) -> None:
    # 8 threads, a pool of 4, every commit locking the same 50 runs in
    # its own order: no deadlock, no lost piece.
    out = catalog.ok("stress", "8", "10")
    assert out["wrong"] == 0 and out["durable"] == 800, out


def test_commit_latency(catalog: CatalogTool) -> None:
    out = catalog.ok("bench-commit", "2000", "1000", "10")
    print(f"\ncommit of 2000 pieces over 1000 runs (ms): {out['commit_ms']}")
    assert out["commit_ms"]["p50"] < 200, out


def test_list_at_100k_runs(catalog: CatalogTool, pg_server: PgServer) -> None:
    t0 = time.monotonic()
    load = catalog.ok("load", "100000", "1000")
    print(
        f"\nloaded 100,000 runs in {time.monotonic() - t0:.1f} s; commits"
        f" of 1000 runs, 2000 pieces (ms): {load['commit_ms']}"
    )
    # What autovacuum does to a table that grew (visibility map for
    # index-only counts, hint bits, statistics), done now.
    sql(pg_server, catalog, "VACUUM ANALYZE runs")
    out = catalog.ok("bench-list", "20")
    print("list with 100,000 runs (ms), all filters:", out["all"])
    for name, st in out["filters"].items():
        print(
            f"  {name:45} total {st['total']:6}  p50 {st['p50']:6.1f}"
            f"  p95 {st['p95']:6.1f}  max {st['max']:6.1f}"
        )
    assert out["filters"]["limit=50  "]["total"] == 100000
    assert out["all"]["p95"] < 100, out


def test_without_pg_trgm_the_name_filter_still_works(
    tmp_path: Path, catalog_tool: Path, pg_server: PgServer
) -> None:
    # A role that may create tables but not extensions (no CREATE on the
    # database): the index's migration goes on without the trigram index.
    db = "plain" + str(int(time.time() * 1000) % 100000)
    pg_server.psql(f"CREATE DATABASE {db}")
    pg_server.psql(
        "DO $$ BEGIN CREATE ROLE plain LOGIN;"
        " EXCEPTION WHEN duplicate_object THEN NULL; END $$"
    )
    pg_server.psql("GRANT CREATE ON SCHEMA public TO plain", db)
    cat = CatalogTool(
        catalog_tool, f"postgresql://plain@127.0.0.1:{pg_server.port}/{db}"
    )
    try:
        Batches(tmp_path, cat).durable(
            [run(1, "web/Checkout"), run(2, "web/home")], [], segment=None
        )
        assert names(cat.ok("list", "text=CHECK")) == ["web/Checkout"]
        assert (
            pg_server.psql(
                "SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'",
                db,
            )
            == "0"
        )
        assert (
            pg_server.psql("SELECT max(version) FROM schema_version", db)
            == "2"
        )
    finally:
        cat.close()


def test_a_stuck_database_costs_a_call_seconds_not_forever(
    catalog: CatalogTool, pg_server: PgServer
) -> None:
    assert catalog.ok("list")["total"] == 0
    db = catalog.uri.rsplit("/", 1)[1]
    holder = threading.Thread(
        target=pg_server.psql,
        args=("BEGIN; LOCK TABLE runs; SELECT pg_sleep(14); COMMIT", db),
    )
    holder.start()
    try:
        time.sleep(0.5)
        t0 = time.monotonic()
        out = catalog.call("list")
        waited = time.monotonic() - t0
        # The statement timeout (10 s) cancels it: an error, not a hang.
        assert out.get("code") == -2 and 9 < waited < 13.5, (out, waited)
    finally:
        holder.join(30)
    assert catalog.ok("list")["total"] == 0
