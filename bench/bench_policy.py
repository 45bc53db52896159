"""Page policy, safety and cold start, measured: policy on vs policy off in one run.

What it measures:
  a. a simulated population (simulation/population.py run_population) scrolling through a FastAPI
     TestClient on a generated world (hashing encoder), once with the page policy on and once with a
     pipeline variant without the policy selectors (top-k by score), same world, same seeds, same
     random blocks / mutes / reports / muted topics. Per variant: share of pages breaking any safety
     rule (checked by an independent audit replaying every page and every event in order), topic
     diversity (intra-list distance over post vectors, distinct primary topics per page), creator
     concentration (largest creator share per page, top-10 creators' share of all impressions),
     exposure of posts by new creators, and session engagement;
  b. newcomer convergence: fresh accounts given the hidden tastes of established users scroll page
     after page; the interactions after which their mean page relevance reaches 90% / 100% of the
     established users' (simulation/convergence.py);
  c. the cost of the policy per request: the selector chain at page size 25 over 500 scored
     candidates, p50/p99 ms, next to the plain top-k it replaces.

    .venv/bin/python bench/bench_policy.py [--posts 6000] [--users 120] [--sessions 3] [--pages 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import pct, print_header, print_table
from reelrank.config import EncoderSettings, IndexSettings, PolicySettings, Settings, SourceSettings, SurfacePolicies
from reelrank.domain import FeedRequest, Post, Surface, User, UserSettings
from reelrank.engine import Engine
from reelrank.pipeline.candidates import Candidates
from reelrank.policy.selectors.slots import source_mask
from reelrank.serving.app import create_app
from reelrank.simulation.convergence import mean_curve, newcomer_curve, page_relevance, per_page
from reelrank.simulation.population import PopulationReport, load_world, run_population
from reelrank.simulation.safety_audit import SafetyAudit
from reelrank.simulation.world import World, WorldConfig, generate_world

THRESHOLD = 3


class Recorder:
    """A client that passes calls through and logs every feed page and event batch, in order."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.log: list[tuple[str, Any]] = []

    def get(self, url: str, *, params: Any = None) -> Any:
        r = self.client.get(url, params=params)
        if url == "/v1/feed" and r.status_code == 200:
            ids = [i["post_id"] for i in r.json()["items"]]
            self.log.append(("page", (params["user_id"], params.get("surface", "reels"), ids, time.time())))
        return r

    def post(self, url: str, *, json: Any = None) -> Any:
        r = self.client.post(url, json=json)
        if url == "/v1/events" and r.status_code == 200:
            self.log.append(("events", json["events"]))
        return r


def audited_pages(log: list[tuple[str, Any]], audit: SafetyAudit, world: World) -> tuple[int, int, Counter]:
    """Replay the log in order: every page against the rules as they stood when it was served."""
    bad, pages, rules = 0, 0, Counter[str]()
    for kind, item in log:
        if kind == "page":
            user, surface, ids, ts = item
            found = audit.violations(user, surface, ids, ts)
            pages += 1
            bad += bool(found)
            rules.update(r for _, r in found)
            continue
        for e in item:
            if e["kind"] == "follow":
                target = e.get("target_user_id") or audit.posts[e["post_id"]].creator_id
                audit.follows.add((e["user_id"], target))
            elif e["kind"] in ("not_interested", "hide"):
                audit.mark_not_interested(e["user_id"], e["post_id"])
            elif e["kind"] == "report":
                audit.report(e["user_id"], e["post_id"])
    return bad, pages, rules


def make_world(args: argparse.Namespace) -> tuple[World, list[Post], dict[str, Any]]:
    """The world, with some viewers opting in to sensitive content / out of a category, plus new
    creators whose first posts were published just now, and the random safety facts to apply."""
    now = time.time()
    world = generate_world(WorldConfig(n_users=max(args.users * 2, 200), n_creators=args.posts // 40,
                                       n_posts=args.posts, n_topics=16, seed=args.seed, now=now))
    rng = np.random.default_rng(args.seed)
    world.viewers[:] = [v.model_copy(update={"settings": UserSettings(
        show_sensitive=bool(rng.random() < 0.3), hidden_categories=["alcohol"] if rng.random() < 0.2 else [])})
        for v in world.viewers]
    new_posts = []
    for i in range(args.new_creators):
        world.creators.append(User(user_id=f"new_creator_{i}", region=world.config.regions[i % 3], created_at=now))
        for j in range(2):
            like = world.posts[int(rng.integers(len(world.posts)))]
            new_posts.append(like.model_copy(update={"post_id": f"new_{i}_{j}", "creator_id": f"new_creator_{i}",
                                                     "created_at": now - 60.0, "allowed_regions": None,
                                                     "blocked_regions": [], "sensitive": False, "min_age": None,
                                                     "category": None}))
    viewers = [v.user_id for v in world.viewers]
    creators = [c.user_id for c in world.creators]

    def pick(xs: list[str], n: int) -> list[str]:
        return [xs[int(i)] for i in rng.integers(len(xs), size=n).tolist()]

    facts = {
        "blocks": list(zip(pick(viewers, 300), pick(creators, 300), strict=True))
        + list(zip(pick(creators, 100), pick(viewers, 100), strict=True)),
        "mutes": list(zip(pick(viewers, 200), pick(creators, 200), strict=True)),
        "reported_out": pick([p.post_id for p in world.posts], 60),
        "single_reports": list(zip(pick(viewers, 200), pick([p.post_id for p in world.posts], 200), strict=True)),
        "muted_topics": {v: [world.topics[int(rng.integers(len(world.topics)))]] for v in pick(viewers, 40)},
    }
    return world, new_posts, facts


def apply_facts(client: TestClient, world: World, new_posts: list[Post], facts: dict[str, Any]) -> SafetyAudit:
    assert client.post("/v1/posts/batch", json={"posts": [p.model_dump(mode="json") for p in new_posts]}).is_success
    audit = SafetyAudit.of(world.creators + world.viewers, world.posts + new_posts, THRESHOLD)
    audit.follows |= set(world.follow_pairs())
    for kind, rel in (("blocks", audit.blocks), ("mutes", audit.mutes)):
        for a, b in facts[kind]:
            if a != b and client.post(f"/v1/users/{a}/{kind}/{b}").is_success:
                rel.add((a, b))
    reporters = [v.user_id for v in world.viewers[:THRESHOLD]]
    reports = [(r, p) for p in facts["reported_out"] for r in reporters] + facts["single_reports"]
    for r, p in reports:
        client.post("/v1/reports", json={"reporter_id": r, "post_id": p})
        audit.report(r, p)
    for v, topics in facts["muted_topics"].items():
        client.patch(f"/v1/users/{v}/interests", json={"mute": topics})
        audit.users[v] = audit.users[v].model_copy(update={"controls": audit.users[v].controls.model_copy(
            update={"muted": topics})})
    return audit


def page_figures(engine: Engine, report: PopulationReport, new_ids: set[str]) -> dict[str, float]:
    ild: list[float] = []
    distinct: list[int] = []
    creator_max: list[float] = []
    impressions = Counter[str]()
    new_seen = 0
    cat = engine.catalogue
    for r in report.reports:
        for page in per_page(r.items):
            pids = np.asarray([cat.pid_of[o.post_id] for o in page], dtype=np.int64)
            v = engine.index.vectors(pids)  # (K, D)
            sim = v @ v.T
            k = len(page)
            if k > 1:
                ild.append(float(1.0 - (sim.sum() - np.trace(sim)) / (k * (k - 1))))
            distinct.append(len({o.topic for o in page}))
            creators = Counter(o.creator_id for o in page)
            creator_max.append(max(creators.values()) / k)
            impressions.update(o.creator_id for o in page)
            new_seen += sum(o.post_id in new_ids for o in page)
    total = sum(impressions.values()) or 1
    top10 = sum(n for _, n in impressions.most_common(10)) / total
    new_shown = {o.post_id for r in report.reports for o in r.items if o.post_id in new_ids}
    return {
        "intra-list distance": float(np.mean(ild)), "distinct topics / page": float(np.mean(distinct)),
        "largest creator share / page": float(np.mean(creator_max)), "top-10 creators' impressions": top10,
        "new creators' impressions": new_seen / total, "new creators' posts shown (of all)": len(new_shown) / max(
            len(new_ids), 1),
        "watch s / session": report.mean("watch_seconds"), "likes / session": report.mean("likes"),
        "mean watch ratio": report.mean("mean_watch_ratio"), "top-topic share": report.mean("top_topic_share"),
        "feed p50 ms (TestClient)": report.latency_ms(50),
    }


def settings_for(data_dir: Path, policy_on: bool, deadline_ms: float) -> Settings:
    s = Settings(data_dir=data_dir, encoder=EncoderSettings(kind="hashing"), index=IndexSettings(snapshot_every_s=0),
                 cursor_secret="bench", report_threshold=THRESHOLD, sources=SourceSettings(deadline_ms=deadline_ms))
    if not policy_on:
        s.policy = SurfacePolicies(reels=PolicySettings(enabled=False), explore=PolicySettings(enabled=False))
    return s


def policy_cost(engine: Engine, user_id: str, iters: int, n_cands: int = 500, k: int = 25) -> list[list[Any]]:
    """The selector chain alone over `n_cands` scored candidates, page size k, vs plain top-k."""
    pipe = engine.feed_service.pipeline(Surface.REELS)
    ctx = engine.feed_service.context(FeedRequest(user_id=user_id, page_size=k), "cost", time.time())
    rng = np.random.default_rng(0)
    live = np.flatnonzero(engine.catalogue.active[: engine.catalogue.max_pid + 1])
    names = [s.name for s in pipe.sources]
    others = [m for m in (source_mask(names, n) for n in ("fresh", "exploration", "trending", "popular_region")) if m]
    bits = [source_mask(names, "ann"), *others]
    share = [0.7] + [0.3 / len(others)] * len(others)  # 70% from ANN, the rest spread over the others
    rows: list[list[Any]] = []
    per: dict[str, list[float]] = {s.name: [] for s in pipe.selectors}
    total: list[float] = []
    topk: list[float] = []
    for _ in range(iters):
        pids = rng.choice(live, size=n_cands, replace=False).astype(np.int64)
        src = rng.choice(bits, size=n_cands, p=share).astype(np.uint32)
        cands = Candidates(pids, src, {"score": rng.random(n_cands).astype(np.float32)})
        t0 = time.perf_counter()
        order = np.argsort(-cands.columns["score"], kind="stable")
        topk.append((time.perf_counter() - t0) * 1000)
        t_all = time.perf_counter()
        for sel in pipe.selectors:
            t = time.perf_counter()
            order = sel.select(ctx, cands, order, k).order
            per[sel.name].append((time.perf_counter() - t) * 1000)
        total.append((time.perf_counter() - t_all) * 1000)
    for name, xs in per.items():
        rows.append([name, pct(xs, 50), pct(xs, 99)])
    rows.append(["policy total (all selectors)", pct(total, 50), pct(total, 99)])
    rows.append(["policy off: argsort top-k", pct(topk, 50), pct(topk, 99)])
    return rows


def run_variant(args: argparse.Namespace, policy_on: bool, world: World, new_posts: list[Post],
                facts: dict[str, Any], root: Path) -> dict[str, Any]:
    label = "policy on" if policy_on else "policy off"
    engine = Engine(settings_for(root / label.replace(" ", "_"), policy_on, args.deadline_ms))
    out: dict[str, Any] = {}
    try:
        with TestClient(create_app(engine)) as client:
            load_world(client, world, progress=False)
            audit = apply_facts(client, world, new_posts, facts)
            rec = Recorder(client)
            t = time.perf_counter()
            pop = run_population(rec, world, n_users=args.users, sessions=args.sessions, pages=args.pages,
                                 page_size=args.page_size, seed=args.seed, progress=False)
            out["population_s"] = time.perf_counter() - t
            bad, pages, rules = audited_pages(rec.log, audit, world)
            out["safety"] = (bad, pages, rules)
            out["figures"] = page_figures(engine, pop, {p.post_id for p in new_posts})
            # Established users: relevance of their last session's pages (after the earlier sessions).
            last = [r for i, r in enumerate(pop.reports) if i % args.sessions == args.sessions - 1]
            est_users = [r.user_id for r in last][: args.newcomers]
            est = [page_relevance(world.interests[r.user_id], [o.topic for o in page])
                   for r in last if r.user_id in est_users for page in per_page(r.items)]
            out["established"] = float(np.mean(est))
            curves = [newcomer_curve(client, world, u, f"newcomer_{i}", sessions=2, pages=args.pages,
                                     page_size=args.page_size, seed=args.seed + i) for i, u in enumerate(est_users)]
            out["curve"] = mean_curve(curves)
            if policy_on:
                out["cost"] = policy_cost(engine, est_users[0], args.cost_iters)
    finally:
        engine.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=6000)
    ap.add_argument("--users", type=int, default=120, help="simulated viewers in the population")
    ap.add_argument("--sessions", type=int, default=3)
    ap.add_argument("--pages", type=int, default=5)
    ap.add_argument("--page-size", type=int, default=10)
    ap.add_argument("--new-creators", type=int, default=10)
    ap.add_argument("--newcomers", type=int, default=20)
    ap.add_argument("--cost-iters", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--deadline-ms", type=float, default=200.0,
                    help="source deadline: above the 30 ms default so a loaded machine does not cut pages short")
    args = ap.parse_args()
    print_header("page policy, safety and cold start (policy on vs off)", [
        "in-process FastAPI TestClient, hashing encoder; both variants see the same world, facts and seeds",
        f"source deadline {args.deadline_ms:.0f} ms (what is compared is the pages, not their latency)"])
    world, new_posts, facts = make_world(args)
    with tempfile.TemporaryDirectory() as d:
        res = {on: run_variant(args, on, world, new_posts, facts, Path(d)) for on in (True, False)}
    on, off = res[True], res[False]
    rows = [["pages audited", on["safety"][1], off["safety"][1]],
            ["pages breaking any safety rule", on["safety"][0] / max(on["safety"][1], 1),
             off["safety"][0] / max(off["safety"][1], 1)],
            ["rules broken", dict(on["safety"][2]) or "none", dict(off["safety"][2]) or "none"]]
    rows += [[k, v, off["figures"][k]] for k, v in on["figures"].items()]
    print_table(f"population: {args.users} viewers x {args.sessions} sessions x {args.pages} pages of "
                f"{args.page_size}, {args.posts} posts + {len(new_posts)} by {args.new_creators} new creators",
                ["figure", "policy on", "policy off"], rows)
    conv_rows = []
    for label, r in (("policy on", on), ("policy off", off)):
        c = r["curve"]
        conv_rows.append([label, r["established"], c.relevance[0], c.first_reaching(0.9 * r["established"]),
                          c.first_reaching(r["established"]), " ".join(f"{x:.2f}" for x in c.relevance)])
    print_table(f"newcomer convergence ({args.newcomers} newcomers with established users' hidden tastes; "
                "relevance = mean hidden weight of the page's topics / the person's top weight)",
                ["variant", "established", "newcomer page 1", "interactions to 90%", "interactions to 100%",
                 "newcomer relevance per page"], [[str(x) if x is None else x for x in r] for r in conv_rows])
    print_table(f"cost of the page policy per request: page size 25 over 500 scored candidates, "
                f"{args.cost_iters} requests (ms)", ["step", "p50", "p99"], on["cost"])


if __name__ == "__main__":
    main()
