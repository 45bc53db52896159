// Pieces of a post shared by the Reels card and the Explore detail: artwork, creator row, caption,
// and the action buttons (each wired to a real engine call through actions.js).
import { h } from "./ui.js";
import { icon } from "./icons.js";
import { artSvg, topicHue } from "./visual.js";
import { act } from "./actions.js";
import { openWhy } from "./why.js";
import { session, announce } from "./session.js";
import { toast, avatar } from "./ui.js";

export function artEl(item) {
  return h("div.art", { html: artSvg(item.post_id, item.topics?.[0] || "") });
}

export function topicChip(topic) {
  return h("span.chip.chip-topic", { "--h": String(topicHue(topic)) }, `#${topic}`);
}

export function becauseEl(item) {
  const text = session.because(item);
  return text ? h("span.because", h("span", { html: icon("sparkle") }), h("span", text)) : null;
}

const following = new Set();

/** Follow button; every button for the same creator on the page stays in sync. */
export function followButton(item, hooks) {
  const on = following.has(item.creator_id);
  const btn = h("button.follow-btn", {
    type: "button", "aria-pressed": String(on), dataset: { creator: item.creator_id },
    "aria-label": `${on ? "Unfollow" : "Follow"} @${item.creator_id}`,
  }, on ? "Following" : "Follow");
  btn.addEventListener("click", async () => {
    const now = !following.has(item.creator_id);
    try { await act(now ? "follow" : "unfollow", item); } catch { return; }
    if (now) following.add(item.creator_id); else following.delete(item.creator_id);
    for (const b of document.querySelectorAll(`.follow-btn[data-creator="${CSS.escape(item.creator_id)}"]`)) {
      b.setAttribute("aria-pressed", String(now));
      b.setAttribute("aria-label", `${now ? "Unfollow" : "Follow"} @${item.creator_id}`);
      b.textContent = now ? "Following" : "Follow";
    }
    announce(now ? `Following @${item.creator_id}` : `Unfollowed @${item.creator_id}`);
    hooks.changed?.();
  });
  return btn;
}

export function creatorRow(item, hooks) {
  return h("div.creator-row", avatar(item.creator_id), h("span.creator-name", `@${item.creator_id}`), followButton(item, hooks));
}

export function captionBlock(item) {
  const p = item.post || {};
  return [
    h("p.caption", p.caption || "(no caption)"),
    p.hashtags?.length ? h("p.hashtags", p.hashtags.map((t) => `#${t}`).join(" ")) : null,
    h("div.topic-row", (item.topics || []).map(topicChip)),
  ];
}

/**
 * The action buttons for one post. hooks: { dismiss(item, message), changed(), advance() }.
 * variant "rail" (Reels, icon over label) or "row" (Explore detail).
 */
export function actionButtons(item, hooks, variant = "rail") {
  const cls = variant === "rail" ? "button.rail-btn" : "button.btn.btn-sm";
  const mk = (kind, label, ico, onClick, pressable = false) => {
    const b = h(`${cls}.${kind}`, { type: "button", "aria-label": `${label} post by @${item.creator_id}`,
      ...(pressable ? { "aria-pressed": "false" } : {}) },
    h("span", { html: icon(ico) }), h("span", { "aria-hidden": "true" }, label));
    b.addEventListener("click", () => onClick(b));
    return b;
  };
  const sticky = (kind, done) => async (b) => {
    if (b.getAttribute("aria-pressed") === "true") { toast(`Already ${done}`); return; }
    try { await act(kind, item); } catch { return; }
    b.setAttribute("aria-pressed", "true");
    b.classList.remove("burst"); void b.offsetWidth; b.classList.add("burst");
    announce(`${done[0].toUpperCase()}${done.slice(1)}. Your next page will reflect it.`);
    hooks.changed?.();
  };
  return [
    mk("like", "Like", "heart", sticky("like", "liked"), true),
    mk("comment", "Comment", "comment", () => openComment(item, hooks)),
    mk("share", "Share", "share", async () => {
      try { await act("share", item); } catch { return; }
      const link = `${location.origin}/app/#post=${encodeURIComponent(item.post_id)}`;
      try { await navigator.clipboard?.writeText(link); } catch { /* clipboard may be unavailable */ }
      toast("Shared · link copied");
      hooks.changed?.();
    }),
    mk("save", "Save", "bookmark", sticky("save", "saved"), true),
    mk("why", "Why?", "info", () => openWhy(item, {
      onNotInterested: () => notInterested(item, hooks),
      onMuteTopic: hooks.muteTopic,
    })),
    mk("more", "More", "more", () => openMore(item, hooks)),
  ];
}

function openComment(item, hooks) {
  const dialog = document.getElementById("comment-dialog");
  const text = document.getElementById("comment-text");
  text.value = "";
  dialog.returnValue = "";
  dialog.onclose = async () => {
    dialog.onclose = null;
    if (dialog.returnValue !== "send" || !text.value.trim()) return;
    try { await act("comment", item); } catch { return; }
    toast("Comment posted");
    hooks.changed?.();
  };
  dialog.showModal();
  text.focus();
}

export async function notInterested(item, hooks) {
  try { await act("not_interested", item); } catch { return; }
  hooks.dismiss?.(item, "Got it. You'll see fewer posts like this.");
  toast("Fewer posts like this");
  hooks.changed?.();
}

function openMore(item, hooks) {
  const dialog = document.getElementById("more-dialog");
  const body = document.getElementById("more-body");
  const entry = (ico, label, sub, fn, danger = false) =>
    h(`button.menu-item${danger ? ".danger" : ""}`, { type: "button", on: { click: () => { dialog.close(); fn(); } } },
      h("span", { html: icon(ico) }), h("span", label, sub ? h("small", sub) : null));
  body.replaceChildren(
    entry("eyeOff", "Not interested", "Show fewer posts like this", () => notInterested(item, hooks)),
    entry("skip", "Skip", "Move on to the next post", async () => {
      try { await act("skip", item); } catch { return; }
      hooks.advance?.(item);
      hooks.changed?.();
    }),
    entry("info", "Why you're seeing this", "Sources, signals and policy steps", () => openWhy(item, {
      onNotInterested: () => notInterested(item, hooks), onMuteTopic: hooks.muteTopic })),
    entry("flag", "Report…", "Tell us what's wrong with it", () => openReport(item, hooks), true),
    entry("block", `Block @${item.creator_id}`, "You won't see each other's posts", async () => {
      try { await act("block", item); } catch { return; }
      hooks.blocked?.(item.creator_id);
      toast(`Blocked @${item.creator_id}`);
      hooks.changed?.();
    }, true),
  );
  dialog.showModal();
  body.querySelector("button")?.focus();
}

function openReport(item, hooks) {
  const dialog = document.getElementById("report-dialog");
  dialog.returnValue = "";
  dialog.onclose = async () => {
    dialog.onclose = null;
    if (dialog.returnValue !== "report") return;
    const reason = new FormData(document.getElementById("report-form")).get("reason") || "unspecified";
    try { await act("report", item, { reason }); } catch { return; }
    hooks.dismiss?.(item, "Reported. You won't see this post again.");
    toast("Thanks, the post was reported");
    hooks.changed?.();
  };
  dialog.showModal();
}
