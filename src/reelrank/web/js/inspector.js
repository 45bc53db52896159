// The inspector: GET /v1/inspect as tables, stage by stage, plus live figures from GET /v1/stats
// and the trending pool (GET /v1/trending).
import { api } from "./api.js";
import { h, clear, fmtMs } from "./ui.js";
import { topicHue } from "./visual.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
window.rr = { inspect: null };

// -- helpers -----------------------------------------------------------------------------------
const num = (v, d = 3) => (v === null || v === undefined || Number.isNaN(v) ? "–" : Number(v).toFixed(d));
const chip = (t) => h("span.chip.chip-topic", { "--h": String(topicHue(t)) }, t);
const topicChips = (topics) => (topics || []).map(chip);
// Compact: the primary topic, and how many more (full list in the title).
const primaryChip = (topics) => (topics?.length ? h("span.primary-topic", { title: topics.join(", ") }, chip(topics[0]),
  topics.length > 1 ? h("span.more-topics", `+${topics.length - 1}`) : null) : "");

function table(caption, columns, rows, { id } = {}) {
  // columns: [{label, num, key | render(row)}]
  return h("div.table-wrap", h("table.data", id ? { id } : {},
    h("caption", caption),
    h("thead", h("tr", columns.map((c) => h(`th${c.num ? ".num" : ""}`, { scope: "col" }, c.label)))),
    h("tbody", rows.length
      ? rows.map((r) => h("tr", columns.map((c) => h(`td${c.num ? ".num" : ""}`, c.render ? c.render(r) : r[c.key]))))
      : h("tr", h("td.empty", { colspan: String(columns.length) }, "nothing")))));
}

function panel(id, title, note, ...children) {
  return h("section.panel", { id, "aria-labelledby": `${id}-title` },
    h("h2", { id: `${id}-title` }, title, note ? h("span.muted", note) : null), ...children);
}

const postCell = (r) => h("span.mono", r.post_id);

// -- the pipeline run ---------------------------------------------------------------------------
async function run(e) {
  e?.preventDefault();
  const form = new FormData($("inspect-form"));
  const q = Object.fromEntries(form.entries());
  const result = $("result");
  result.setAttribute("aria-busy", "true");
  $("ins-run").disabled = true;
  const url = new URL(location.href);
  url.searchParams.set("user", q.user_id);
  url.searchParams.set("surface", q.surface);
  history.replaceState(null, "", url);
  $("app-link").href = `./?user=${encodeURIComponent(q.user_id)}#${q.surface}`;
  try {
    const t0 = performance.now();
    const data = await api.inspect(q);
    window.rr.inspect = data;
    render(data, performance.now() - t0);
  } catch (err) {
    clear(result, h("p.notice", { role: "alert" }, `Could not inspect: ${err.message}`));
  } finally {
    result.setAttribute("aria-busy", "false");
    $("ins-run").disabled = false;
  }
}

function render(d, roundTripMs) {
  const stagesByKind = (k) => d.stages.filter((s) => s.stage === k);
  const filters = d.filters;
  const afterFilters = filters.length ? filters[filters.length - 1].n_out : d.merge.n_out;
  const selectors = d.policy.selectors;
  const steps = [
    ["retrieved", d.merge.n_in], ["unique", d.merge.n_out], ["after filters", afterFilters],
    ["scored", d.scoring.n_scored], ...selectors.map((s) => [`after ${s.name}`, s.n_out]), ["on the page", d.page.length],
  ];
  const funnel = h("div.funnel", { role: "list", "aria-label": "Candidates at each step" },
    steps.map(([label, n], i) => [i ? h("span.arrow", { "aria-hidden": "true" }, "→") : null,
      h("div.step", { role: "listitem" }, h("b", n ?? "–"), label)]));

  clear($("result"),
    panel("sec-overview", "Funnel", `${d.pipeline} · ${fmtMs(d.total_ms)} ms in the engine · ${fmtMs(roundTripMs)} ms round trip · read-only`,
      funnel, waterfall(d),
      d.degraded.length ? h("p.notice", `Degraded: ${d.degraded.join(", ")}`) : null),
    panel("sec-context", "Context", `@${d.user_id} on ${d.surface}`, contextView(d.context)),
    panel("sec-sources", "Candidates per source", `top ${Math.max(0, ...d.sources.map((s) => s.top.length))} of each, by the source's own score`,
      h("div.sources-grid", d.sources.map((s) => h("div.source-card",
        table(`${s.name}: ${s.n_out ?? 0} candidates · ${fmtMs(s.ms)} ms${s.status !== "ok" ? ` · ${s.status}` : ""}`, [
          { label: "#", num: true, render: (r) => r.rank },
          { label: "Post", render: postCell },
          { label: "Topic", render: (r) => primaryChip(r.topics) },
          { label: "Score", num: true, render: (r) => num(r.score) },
        ], s.top.map((r, i) => ({ ...r, rank: i + 1 })), { id: `source-${s.name}` }))))),
    panel("sec-filters", "Filters", `${d.merge.n_out} in → ${afterFilters} out`, filtersView(filters)),
    panel("sec-scoring", "Scores per signal", `top ${d.scoring.top.length} of ${d.scoring.n_scored} scored`, scoringView(d.scoring)),
    panel("sec-policy", "Policy", `${d.policy.moves.length} moves`, policyView(d.policy)),
    panel("sec-page", "Final page", `${d.page.length} posts`, table("Final page, in order", [
      { label: "#", num: true, render: (r) => r.position + 1 },
      { label: "Post", render: postCell },
      { label: "Creator", render: (r) => `@${r.creator_id}` },
      { label: "Topics", render: (r) => topicChips(r.topics) },
      { label: "Score", num: true, render: (r) => num(r.score) },
      { label: "Sources", render: (r) => r.sources.join(", ") },
      { label: "Why", render: (r) => h("span.small", r.explanation?.sentence || "") },
    ], d.page, { id: "final-page" })),
    panel("sec-latency", "Stage latency", "this request", table("Latency of every stage", [
      { label: "Stage", key: "stage" }, { label: "Component", key: "name" },
      { label: "ms", num: true, render: (r) => fmtMs(r.ms) },
      { label: "In", num: true, render: (r) => r.n_in ?? "" }, { label: "Out", num: true, render: (r) => r.n_out ?? "" },
      { label: "Status", render: (r) => h(`span.${r.status === "ok" ? "status-ok" : "status-bad"}`, r.status) },
    ], d.stages, { id: "stage-latency" })),
  );
}

function waterfall(d) {
  // Sources run in parallel after the context; every other stage runs in sequence.
  const bars = [];
  let t = 0;
  let sourceEnd = 0;
  for (const s of d.stages) {
    if (s.stage === "source") { bars.push({ ...s, start: t }); sourceEnd = Math.max(sourceEnd, t + s.ms); continue; }
    if (sourceEnd) { t = Math.max(t, sourceEnd); sourceEnd = 0; }
    bars.push({ ...s, start: t });
    t += s.ms;
  }
  const total = Math.max(t, sourceEnd, 0.001);
  return h("div.waterfall", { role: "img", "aria-label": `Stage timeline, ${fmtMs(total)} ms in total; see the stage latency table for values` },
    bars.map((b) => [
      h("span.small", `${b.stage} · ${b.name}`),
      h("div.lane", h(`span.st-${b.stage}`, { style: { left: `${(b.start / total) * 100}%`, width: `${Math.max(0.4, (b.ms / total) * 100)}%` } })),
      h("span.small.mono", { style: { textAlign: "right" } }, `${fmtMs(b.ms)} ms`),
    ]));
}

function contextView(c) {
  const rows = [
    ["Region", c.region], ["Onboarding interests", (c.onboarding_interests || []).join(", ") || "none"],
    ["Following", c.following], ["Hidden creators (blocked / muted)", c.hidden_creators], ["Seen posts (window)", c.seen],
    ["Interest vector", c.has_query_vector ? "yes" : "none yet (cold start)"],
  ];
  return h("div",
    h("div.table-wrap", h("table.data", h("caption.visually-hidden", "Request context"),
      h("tbody", rows.map(([k, v]) => h("tr", h("th", { scope: "row" }, k), h("td", String(v))))))),
    c.session?.length ? table("Session: last actions (weight: + more of this, - less)", [
      { label: "Post", render: postCell }, { label: "Topics", render: (r) => topicChips(r.topics) },
      { label: "Weight", num: true, render: (r) => num(r.weight, 2) },
    ], c.session) : h("p.muted.small", "No actions in this session yet."));
}

function filtersView(filters) {
  return table("What each filter removed, and why", [
    { label: "Filter", render: (r) => h("strong", r.name) },
    { label: "In", num: true, key: "n_in" }, { label: "Out", num: true, key: "n_out" },
    { label: "Removed", num: true, render: (r) => r.n_in - r.n_out },
    { label: "Reasons (post ids)", render: (r) => r.removed.length ? r.removed.map((x) => h("details",
      h("summary", `${x.reason.replace(/_/g, " ")}: ${x.count}`),
      h("div.removed-ids", x.post_ids.join(" "), x.count > x.post_ids.length ? ` … and ${x.count - x.post_ids.length} more` : ""))) : h("span.muted", "none") },
    { label: "ms", num: true, render: (r) => fmtMs(r.ms) },
  ], filters, { id: "filters-table" });
}

function scoringView(s) {
  const max = {};
  for (const c of s.columns) max[c] = Math.max(1e-9, ...s.top.map((r) => Math.abs(r.values[c] ?? 0)));
  const cols = [
    { label: "#", num: true, render: (r) => r.rank + 1 },
    { label: "Post", render: postCell },
    { label: "Topic", render: (r) => primaryChip(r.topics) },
    { label: "Sources", render: (r) => h("span.small", r.sources.join(", ")) },
    ...s.columns.map((c) => ({
      label: s.weights[c] !== undefined ? `${c} ×${s.weights[c]}` : c, num: true,
      render: (r) => h("span.cell-bar", h("i", { style: { width: `${Math.round((Math.abs(r.values[c] ?? 0) / max[c]) * 36)}px` } }), num(r.values[c])),
    })),
    { label: "Score", num: true, render: (r) => h("strong", num(r.score)) },
  ];
  return [
    h("p.muted.small", `Scorers: ${s.scorers.map((x) => `${x.name} (${fmtMs(x.ms)} ms over ${x.n})`).join(", ")}. `
      + "Score = Σ weight × signal for the formula scorer; learned heads appear as extra columns."),
    table("Top candidates by score, per signal", cols, s.top, { id: "scores-table" }),
  ];
}

function policyView(p) {
  return [
    table("Selectors", [
      { label: "Selector", render: (r) => h("strong", r.name) }, { label: "In", num: true, key: "n_in" },
      { label: "Out", num: true, key: "n_out" }, { label: "Moves", num: true, key: "moves" },
      { label: "ms", num: true, render: (r) => fmtMs(r.ms) },
    ], p.selectors, { id: "selectors-table" }),
    table("Policy moves", [
      { label: "Post", render: postCell }, { label: "Action", key: "action" },
      { label: "Reason", render: (r) => r.reason.replace(/_/g, " ") },
      { label: "From rank", num: true, render: (r) => (r.from_rank ?? -1) + 1 || "–" },
      { label: "To rank", num: true, render: (r) => (r.to_rank ?? -1) + 1 || "–" },
    ], p.moves.slice(0, 50), { id: "moves-table" }),
  ];
}

// -- live figures -------------------------------------------------------------------------------
const samples = []; // {ts, events, requests, buckets}

function windowPercentiles(prev, cur, bounds) {
  if (!prev || !cur) return null;
  const delta = cur.map((c, i) => c - (prev[i] || 0));
  const n = delta[delta.length - 1];
  if (!(n > 0)) return null;
  const q = (p) => {
    const rank = p * n;
    let prevLe = 0, prevC = 0;
    for (let i = 0; i < bounds.length; i++) {
      if (delta[i] >= rank) {
        const w = delta[i] - prevC;
        return prevLe + (bounds[i] - prevLe) * (w > 0 ? (rank - prevC) / w : 1);
      }
      prevLe = bounds[i]; prevC = delta[i];
    }
    return prevLe;
  };
  return { n, p50: q(0.5), p95: q(0.95), p99: q(0.99) };
}

function stat(label, value, unit) {
  return h("div.stat", h("div.label", label), h("div.value", value, unit ? h("span.unit", ` ${unit}`) : null));
}

async function pollStats() {
  let s;
  try { s = await api.stats(); } catch (err) {
    clear($("live-cards"), h("p.notice", `Stats unavailable: ${err.message}`));
    return;
  }
  const events = s.events.accepted + s.events.duplicate;
  const requests = Object.values(s.feed.requests).reduce((a, b) => a + b, 0);
  const cur = { ts: s.ts, events, requests, buckets: s.feed.latency_ms.all.buckets || [] };
  const prev = samples[samples.length - 1];
  samples.push(cur);
  if (samples.length > 60) samples.shift();
  const dt = prev ? Math.max(0.001, cur.ts - prev.ts) : null;
  const evRate = prev ? (cur.events - prev.events) / dt : null;
  const reqRate = prev ? (cur.requests - prev.requests) / dt : null;
  cur.evRate = evRate ?? 0;
  const win = windowPercentiles(prev?.buckets, cur.buckets, s.feed.bucket_bounds_ms || []);
  const all = s.feed.latency_ms.all;
  clear($("live-cards"),
    stat("Events / s", evRate === null ? "…" : evRate.toFixed(1)),
    stat("Feed pages / s", reqRate === null ? "…" : reqRate.toFixed(1)),
    stat("Feed p50", fmtMs(win ? win.p50 : all.p50), "ms"),
    stat("Feed p99", fmtMs(win ? win.p99 : all.p99), "ms"),
    stat("Events (total)", Math.round(s.events.accepted).toLocaleString()),
    stat("Posts · indexed", `${s.catalogue.posts.toLocaleString()}`, `· ${s.catalogue.indexed.toLocaleString()}`));
  $("live-updated").textContent = `updated ${new Date(s.ts * 1000).toLocaleTimeString()} · ${win ? "last 2 s" : "lifetime"} latency`;
  drawSpark();
  const lat = Object.entries(s.feed.latency_ms).map(([surface, v]) => ({ surface, ...v }));
  clear($("live-latency"), table("Feed latency in the engine (ms, lifetime)", [
    { label: "Surface", key: "surface" }, { label: "Pages", num: true, render: (r) => Math.round(r.count) },
    { label: "p50", num: true, render: (r) => fmtMs(r.p50) }, { label: "p95", num: true, render: (r) => fmtMs(r.p95) },
    { label: "p99", num: true, render: (r) => fmtMs(r.p99) },
  ], lat, { id: "live-latency-table" }));
  clear($("live-stages"), table("Per-stage latency (ms, lifetime)", [
    { label: "Stage", render: (r) => `${r.stage} · ${r.name}` }, { label: "p50", num: true, render: (r) => fmtMs(r.p50) },
    { label: "p95", num: true, render: (r) => fmtMs(r.p95) }, { label: "Mean", num: true, render: (r) => fmtMs(r.mean) },
  ], s.stages));
}

function drawSpark() {
  const svg = $("live-spark");
  const vals = samples.map((x) => x.evRate || 0);
  svg.hidden = vals.length < 2; // a line needs two polls
  if (vals.length < 2) { svg.innerHTML = ""; return; }
  const max = Math.max(1, ...vals);
  const pts = vals.map((v, i) => [(i / (vals.length - 1)) * 100, 38 - (v / max) * 34]);
  const line = pts.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
  svg.innerHTML = `<path class="area" d="${line} L100,40 L0,40 Z"/><path d="${line}"/>`;
}

const inPool = (ts) => {
  const s = Math.max(0, Date.now() / 1000 - ts);
  return s < 60 ? `${Math.round(s)} s` : s < 3600 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
};
// One row per (topic, post), topics with the most trending posts first, hottest posts first in each.
const trendRows = (data) => (data?.topics || []).flatMap((g) => g.posts.map((p) => ({ topic: g.topic, ...p })));

async function pollTrending() {
  const box = $("trending");
  try {
    const data = await api.trending({ limit: 5 });
    const rows = trendRows(data).slice(0, 12);
    if (!rows.length) {
      clear(box, h("p.empty", { id: "trending-empty" }, data?.enabled === false ? "Trend detection is off on this engine."
        : "The trending pool is empty right now."));
      return;
    }
    clear(box, table(`Velocity over ${num(data.window_s / 60, 0)} min vs the creator's baseline`, [
      { label: "Post", render: (r) => h("span", postCell(r), " ", chip(r.topic)) },
      { label: "Ratio", num: true, render: (r) => `×${num(r.ratio, 1)}` },
      { label: "Velocity", num: true, render: (r) => num(r.velocity, 0) },
      { label: "In pool", num: true, render: (r) => (r.entered_at ? inPool(r.entered_at) : "–") },
    ], rows, { id: "trending-table" }));
  } catch (err) {
    clear(box, h("p.muted", { id: "trending-unavailable" }, err.missingRoute
      ? "Not available: this engine has no GET /v1/trending endpoint."
      : `Not available: ${err.message}`));
  }
}

// -- start --------------------------------------------------------------------------------------
async function main() {
  $("inspect-form").addEventListener("submit", run);
  const user = params.get("user") || localStorage.getItem("rr.user") || "";
  if (params.get("surface")) $("ins-surface").value = params.get("surface");
  try {
    const { users } = await api.users(50);
    clear($("ins-users"), users.map((u) => h("option", { value: u.user_id })));
    $("ins-user").value = user || users[0]?.user_id || "";
  } catch { $("ins-user").value = user; }
  pollStats();
  pollTrending();
  setInterval(pollStats, 2000);
  setInterval(pollTrending, 5000);
  if ($("ins-user").value) run();
}

main();
