// The Explore surface: a photo grid, page after page. Opening a post shows it large with its
// actions; the time it stays open is sent as a view when it closes.
import { h, clear } from "./ui.js";
import { icon } from "./icons.js";
import { sendView } from "./actions.js";
import { artEl, becauseEl, creatorRow, captionBlock, actionButtons } from "./card.js";
import { loadNextPage } from "./pager.js";
import { session, announce } from "./session.js";

export class ExploreGrid {
  constructor(grid, sentinel, hooks) {
    this.grid = grid;
    this.sentinel = sentinel;
    this.hooks = hooks;
    this.tiles = new Map();
    this.io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) this.loadPage();
    }, { rootMargin: "200px" });
    this.dialog = document.getElementById("post-dialog");
    this.dialog.addEventListener("close", () => this.closed());
  }

  start({ pageSize }) {
    this.pageSize = pageSize;
    this.cursor = null;
    this.pageNo = 0;
    this.done = false;
    this.loading = false;
    this.tiles.clear();
    clear(this.grid);
    this.sentinel.hidden = false;
    this.io.disconnect();
    this.io.observe(this.sentinel);
    this.started = true;
  }

  async loadPage() {
    const ran = await loadNextPage(this, "explore", this.grid, {
      show: (page, pageNo) => {
        if (pageNo > 1) this.grid.append(divider(page));
        this.grid.append(...page.items.map((item, i) => this.tile(item, i)));
      },
      announce: (_, pageNo) => { if (pageNo > 1) announce(`Explore page ${pageNo} loaded.`); },
      empty: () => {
        this.sentinel.hidden = true;
        this.grid.append(h("p.page-divider", "You're all caught up."));
      },
      failed: (err) => {
        this.grid.append(h("p.page-divider", `Could not load Explore: ${err.message}`));
        this.done = true;
      },
    });
    // Still in view (a short page on a tall screen)? Keep filling.
    if (ran && !this.done) requestAnimationFrame(() => {
      const r = this.sentinel.getBoundingClientRect();
      if (r.top < window.innerHeight + 200 && this.pageNo < 6) this.loadPage();
    });
  }

  tile(item, i) {
    const tall = i % 10 === 2 || i % 10 === 5;
    const kindIcon = item.kind === "reel" ? "reel" : item.kind === "carousel" ? "carousel" : null;
    const b = h(`button.tile${tall ? ".tall" : ""}`, {
      type: "button", "aria-label": `${item.kind} by @${item.creator_id}: ${item.post?.caption || item.topics?.[0] || ""}`,
      dataset: { postId: item.post_id, topic: item.topics?.[0] || "", creator: item.creator_id, page: String(item.page) },
      on: { click: () => this.open(item, b) },
    },
    artEl(item),
    h("span.tile-because", becauseEl(item)),
    kindIcon ? h("span.tile-kind", { html: icon(kindIcon) }) : null,
    h("span.tile-info", h("span.tile-caption", item.post?.caption || ""), h("span", `#${item.topics?.[0] || ""}`)));
    this.tiles.set(item.post_id, b);
    return b;
  }

  open(item, tile) {
    this.openItem = item;
    this.openTile = tile;
    this.openedAt = performance.now();
    const hooks = { ...this.hooks,
      dismiss: (it, msg) => { this.dialog.close(); this.dim(it.post_id, msg); },
      advance: () => this.dialog.close(),
      blocked: (creator) => { this.dialog.close(); for (const [, t] of this.tiles) if (t.dataset.creator === creator) this.dimTile(t, "Blocked"); } };
    clear(document.getElementById("post-dialog-body"),
      h("div.post-detail",
        h("div.post-media", artEl(item), h("div.reel-top", becauseEl(item), h("span.kind-badge", item.kind))),
        h("div.post-side",
          h("div.row-end", { style: { marginTop: 0 } },
            h("button.icon-btn", { type: "button", "aria-label": "Close post", on: { click: () => this.dialog.close() } },
              h("span", { html: icon("close") }))),
          creatorRow(item, hooks),
          captionBlock(item),
          h("div.action-row", actionButtons(item, hooks, "row")))));
    this.dialog.showModal();
  }

  closed() {
    const item = this.openItem;
    if (!item) return;
    const watched = performance.now() - this.openedAt;
    this.openItem = null;
    if (watched >= 200) {
      sendView(item, watched);
      const d = item.post?.duration_ms;
      if ((d && watched >= 0.5 * d) || (!d && watched >= 3000)) session.record("watch", item);
    }
    this.openTile?.focus();
  }

  dim(postId, msg) {
    const t = this.tiles.get(postId);
    if (t) this.dimTile(t, msg);
  }

  dimTile(t, msg) {
    t.classList.add("dismissed");
    t.setAttribute("aria-disabled", "true");
    t.append(h("span.tile-dismissed", { style: { position: "absolute", inset: 0, display: "grid", placeItems: "center",
      background: "rgba(10,10,15,.85)", padding: "8px", textAlign: "center", fontSize: ".8rem", fontWeight: 700 } }, msg));
  }
}

function divider(page) {
  const mix = {};
  for (const it of page.items) mix[it.topics?.[0]] = (mix[it.topics?.[0]] || 0) + 1;
  const top = Object.entries(mix).sort((a, b) => b[1] - a[1]).slice(0, 3);
  const n = page.actionsBefore;
  return h("div.page-divider", { role: "separator", "aria-label": `Page ${page.items[0].page}` },
    h("span", { html: icon("sparkle", 'style="width:16px;height:16px;stroke:#ffd36e"') }),
    h("strong", `Page ${page.items[0].page}`),
    h("span", n ? `ranked after your ${page.actionText}:` : "more for you:"),
    top.map(([t, c]) => h("span.chip", `${c}× ${t}`)));
}
