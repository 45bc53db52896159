// The Reels surface: one full-screen post at a time (scroll snap), watch time measured while a post
// is on screen, a view event sent when it leaves, and the next page fetched only when the person
// reaches the end, so it is ranked with everything they just did.
import { h, clear } from "./ui.js";
import { icon } from "./icons.js";
import { sendView } from "./actions.js";
import { artEl, becauseEl, creatorRow, captionBlock, actionButtons } from "./card.js";
import { loadNextPage } from "./pager.js";
import { session, announce } from "./session.js";

const VISIBLE = 0.6;
const MIN_VIEW_MS = 200; // shorter is a scroll passing through, not a view

export class ReelsFeed {
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.state = new WeakMap();
    this.current = null;
    this.io = new IntersectionObserver((entries) => this.onIntersect(entries), { root, threshold: [0, VISIBLE, 1] });
    this.loaderIo = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting && e.intersectionRatio >= 0.5)) this.loadPage();
    }, { root, threshold: [0, 0.5] });
    root.addEventListener("keydown", (e) => this.onKey(e));
    document.addEventListener("visibilitychange", () => this.onVisibility());
    window.addEventListener("pagehide", () => this.flush(this.current, true));
  }

  start({ pageSize }) {
    this.stop();
    this.pageSize = pageSize;
    this.cursor = null;
    this.pageNo = 0;
    this.done = false;
    this.loading = false;
    this.loader = h("div.reel-loader", h("span.spinner", { "aria-hidden": "true" }), h("p", "Ranking your next page…"));
    clear(this.root, this.loader);
    this.root.scrollTop = 0;
    this.loaderIo.observe(this.loader);
    this.started = true;
  }

  stop() {
    if (this.current) this.flush(this.current);
    this.io.disconnect();
    this.loaderIo.disconnect();
    this.current = null;
    this.started = false;
  }

  async loadPage() {
    await loadNextPage(this, "reels", this.root, {
      show: (page, pageNo) => {
        const els = page.items.map((item, i) => this.render(item, i === 0 && pageNo > 1 ? page : null));
        const wasOnLoader = this.root.scrollTop >= this.loader.offsetTop - 4;
        this.loader.before(...els);
        // Scroll snap re-snaps to the element it was on (the loader): show the first new post instead.
        if (wasOnLoader) this.root.scrollTo({ top: els[0].offsetTop, behavior: "auto" });
      },
      announce: (entry, pageNo) => {
        if (pageNo > 1) announce(`Page ${pageNo} loaded: ${entry.mix.slice(0, 2).map(([t, n]) => `${n} ${t}`).join(", ")}.`);
      },
      empty: () => clear(this.loader, h("p", h("strong", "You're all caught up.")),
        h("button.btn", { type: "button", on: { click: () => { this.start({ pageSize: this.pageSize }); } } }, "Start a new session")),
      failed: (err) => clear(this.loader, h("p", `Could not load the feed: ${err.message}`),
        h("button.btn", { type: "button", on: { click: () => { this.loading = false; this.loadPage(); } } }, "Try again")),
    });
  }

  render(item, newPage) {
    const topic = item.topics?.[0] || "";
    const dur = item.post?.duration_ms;
    const el = h("article.reel", {
      tabindex: "-1", "aria-roledescription": "post", "aria-labelledby": `cap-${item.request_id}-${item.position}`,
      dataset: { postId: item.post_id, topic, creator: item.creator_id, page: String(item.page), position: String(item.position) },
      "--dur": dur ? `${dur}ms` : "8s",
    },
    artEl(item),
    item.kind === "reel" ? h("div.progress", { "aria-hidden": "true" }, h("span")) : null,
    h("div.reel-top", becauseEl(item), h("span.kind-badge", item.kind)),
    newPage ? h("div.page-banner", { role: "note" }, pageBannerText(newPage)) : null,
    h("div.reel-meta", creatorRow(item, this.hooks),
      h("div", { id: `cap-${item.request_id}-${item.position}` }, captionBlock(item))),
    h("div.rail", actionButtons(item, { ...this.hooks, dismiss: (it, msg) => this.dismiss(el, msg),
      advance: () => this.next(el), blocked: (c) => this.blocked(c, el) })));
    this.state.set(el, { item, since: null, watched: 0, ever: false });
    this.io.observe(el);
    return el;
  }

  onIntersect(entries) {
    const now = performance.now();
    for (const e of entries) {
      const st = this.state.get(e.target);
      if (!st) continue;
      if (e.intersectionRatio >= VISIBLE) {
        this.current = e.target;
        st.ever = true;
        if (st.since === null && document.visibilityState === "visible") st.since = now;
        e.target.classList.add("playing");
      } else if (st.since !== null || e.target.classList.contains("playing")) {
        if (st.since !== null) st.watched += now - st.since;
        st.since = null;
        e.target.classList.remove("playing", "paused");
        this.flush(e.target);
      }
    }
  }

  /** Send the view for a post leaving the screen (or the page going away). */
  flush(el, keepalive = false) {
    const st = el && this.state.get(el);
    if (!st) return;
    if (st.since !== null) { st.watched += performance.now() - st.since; st.since = keepalive ? null : performance.now(); }
    const watched = st.watched;
    st.watched = 0;
    if (watched < MIN_VIEW_MS) return;
    sendView(st.item, watched, { keepalive });
    const d = st.item.post?.duration_ms;
    if ((d && watched >= 0.5 * d) || (!d && watched >= 3000)) session.record("watch", st.item);
  }

  onVisibility() {
    const el = this.current;
    const st = el && this.state.get(el);
    if (!st) return;
    if (document.visibilityState === "hidden") {
      if (st.since !== null) st.watched += performance.now() - st.since;
      st.since = null;
      el.classList.add("paused");
    } else {
      st.since = performance.now();
      el.classList.remove("paused");
    }
  }

  onKey(e) {
    if (e.target.closest("input, textarea, select")) return;
    const k = e.key;
    if (k === "ArrowDown" || k === "PageDown" || k === "j") { e.preventDefault(); this.next(); }
    else if (k === "ArrowUp" || k === "PageUp" || k === "k") { e.preventDefault(); this.prev(); }
    else if (k === "l" && this.current) { e.preventDefault(); this.current.querySelector(".rail-btn.like")?.click(); }
  }

  scrollTo(el) {
    if (!el) return;
    const reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    this.root.scrollTo({ top: el.offsetTop, behavior: reduce ? "auto" : "smooth" });
  }

  next(from) {
    const cur = from || this.current || this.root.firstElementChild;
    const target = this.current ? cur?.nextElementSibling : cur;
    this.scrollTo(target);
  }

  prev() { this.scrollTo(this.current?.previousElementSibling); }

  dismiss(el, message) {
    el.dataset.dismissed = message;
    el.classList.add("dismissed");
    setTimeout(() => { if (this.current === el) this.next(el); }, 900);
  }

  blocked(creatorId, el) {
    for (const other of this.root.querySelectorAll(`article.reel[data-creator="${CSS.escape(creatorId)}"]`)) {
      if (other === el) continue;
      const st = this.state.get(other);
      if (st && !st.ever) other.remove();
    }
    this.dismiss(el, `Blocked @${creatorId}. You won't see their posts.`);
  }

  /** After "Your Algorithm" changes: drop posts not yet seen, so the next page is ranked anew. */
  refreshUpcoming() {
    if (!this.started) return 0;
    let removed = 0;
    for (const el of [...this.root.querySelectorAll("article.reel")]) {
      const st = this.state.get(el);
      if (st && !st.ever && el !== this.current) { el.remove(); removed += 1; }
    }
    return removed;
  }
}

function pageBannerText(page) {
  const n = page.actionsBefore;
  const mix = {};
  for (const it of page.items) mix[it.topics?.[0]] = (mix[it.topics?.[0]] || 0) + 1;
  const [top, cnt] = Object.entries(mix).sort((a, b) => b[1] - a[1])[0] || ["", 0];
  const lead = n ? `New page after your ${page.actionText}` : "New page";
  return [h("span", { html: icon("sparkle", 'style="width:14px;height:14px;vertical-align:-2px;margin-right:4px"') }),
    `${lead} · ${cnt} of ${page.items.length} ${top}`];
}
