// Fetches one feed page: GET /v1/feed (with explanations) then the captions in one GET /v1/posts call;
// loadNextPage is the paging step Reels and Explore share.
import { api } from "./api.js";
import { session, logActivity, topicMix, actionSummary } from "./session.js";
import { fmtMs } from "./ui.js";

export async function fetchPage({ surface, pageSize, cursor, pageNo }) {
  const t0 = performance.now();
  const actionsBefore = session.actionsSincePage;
  const recent = session.actions.slice(session.actions.length - actionsBefore);
  session.actionsSincePage = 0;
  const feed = await api.feed({ user_id: session.userId, surface, page_size: pageSize, cursor });
  const t1 = performance.now();
  const ids = feed.items.map((i) => i.post_id);
  const details = ids.length ? await api.posts(ids) : { posts: [] };
  const t2 = performance.now();
  const byId = Object.fromEntries(details.posts.map((p) => [p.post_id, p]));
  const items = feed.items.map((it) => ({ ...it, post: byId[it.post_id] || {}, request_id: feed.request_id, surface, page: pageNo }));
  return { items, cursor: feed.next_cursor, timing: { t0, feedMs: t1 - t0, postsMs: t2 - t1 }, actionsBefore,
    actionText: actionSummary(recent) };
}

/** Call once the page is in the DOM: records timings (window.rr.metrics) and logs the page. */
export function pageShown({ surface, pageNo, items, timing, actionsBefore, actionText }) {
  const shownAt = performance.now();
  const entry = { surface, page: pageNo, items: items.length, ms: shownAt - timing.t0, feedMs: timing.feedMs,
    postsMs: timing.postsMs, actionsBefore, shownAt, mix: topicMix(items) };
  session.metrics.pages.push(entry);
  performance.mark(`rr:page:${surface}:${pageNo}`);
  if (session.metrics.firstPostMs === null && items.length) session.metrics.firstPostMs = shownAt;
  const mix = entry.mix.slice(0, 3).map(([t, n]) => `${n}× ${t}`).join(" · ");
  logActivity("page", "layers", `${surface === "reels" ? "Reels" : "Explore"} page ${pageNo}: ${items.length} posts in ${fmtMs(entry.ms)} ms`,
    pageNo > 1 ? `${actionsBefore ? `after ${actionText}` : "no new actions"} · ${mix}` : mix);
  return entry;
}

/**
 * The next page of a surface: `view` holds the paging state (loading, done, cursor, pageNo, pageSize),
 * `busy` gets aria-busy and data-pages. `show(page, pageNo)` puts the items in the DOM; `announce(entry,
 * pageNo)` runs once they are painted and logged; `empty()` when the feed has no more; `failed(err)` on an
 * error. Returns false when it did not run (a page already loading, the feed done, no user).
 */
export async function loadNextPage(view, surface, busy, { show, announce, empty, failed }) {
  if (view.loading || view.done || !session.userId) return false;
  view.loading = true;
  busy.setAttribute("aria-busy", "true");
  const pageNo = view.pageNo + 1;
  try {
    const page = await fetchPage({ surface, pageSize: view.pageSize, cursor: view.cursor, pageNo });
    view.cursor = page.cursor;
    view.pageNo = pageNo;
    if (!page.items.length) {
      view.done = true;
      empty();
      return true;
    }
    show(page, pageNo);
    await new Promise((r) => requestAnimationFrame(() => r()));
    announce(pageShown({ surface, pageNo, ...page }), pageNo);
    busy.dataset.pages = String(pageNo);
  } catch (err) {
    failed(err);
  } finally {
    view.loading = false;
    busy.setAttribute("aria-busy", "false");
  }
  return true;
}
