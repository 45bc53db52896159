// What this browser session knows: the user, what they did (for the activity log and the
// "because you ..." hints), and timings the browser test reads (window.rr.metrics).
import { h, ago } from "./ui.js";
import { icon } from "./icons.js";

const POSITIVE = { like: "liked", save: "saved", share: "shared", comment: "commented on", follow: "followed", watch: "watched" };
const NEGATIVE = new Set(["skip", "not_interested", "report", "block"]);

export const session = {
  userId: null,
  user: null,
  actions: [], // {kind, postId, topic, creatorId, at}
  interests: null, // the last "Your Algorithm" answer (GET/PATCH /v1/users/{id}/interests)
  actionsSincePage: 0,
  metrics: { firstPostMs: null, pages: [], lastActionAt: null },

  reset(user) {
    this.userId = user.user_id;
    this.user = user;
    this.actions = [];
    this.interests = null;
    this.actionsSincePage = 0;
    const log = document.getElementById("activity-log");
    if (log) log.replaceChildren();
  },

  /** Remember an action (and show it in the activity log). */
  record(kind, item) {
    const a = { kind, postId: item?.post_id, topic: item?.topics?.[0], creatorId: item?.creator_id, at: performance.now() };
    this.actions.push(a);
    this.actionsSincePage += 1;
    this.metrics.lastActionAt = a.at;
    performance.mark(`rr:action:${kind}`);
    const good = kind in POSITIVE;
    const verb = { like: "Liked", save: "Saved", share: "Shared", comment: "Commented on", follow: "Followed",
      unfollow: "Unfollowed", watch: "Watched", skip: "Skipped", not_interested: "Not interested in",
      report: "Reported", block: "Blocked", view: "Viewed" }[kind] || kind;
    const what = kind === "follow" || kind === "block" || kind === "unfollow" ? `@${a.creatorId}` : `a ${a.topic || "post"} post`;
    logActivity(good ? "good" : NEGATIVE.has(kind) ? "bad" : "", iconFor(kind), `${verb} ${what}`);
    return a;
  },

  /** Topics this session engaged with positively, with counts and the most common verb. */
  positiveTopics() {
    const out = new Map();
    for (const a of this.actions) {
      if (!(a.kind in POSITIVE) || !a.topic) continue;
      const t = out.get(a.topic) || { n: 0, verbs: {} };
      t.n += 1;
      t.verbs[a.kind] = (t.verbs[a.kind] || 0) + 1;
      out.set(a.topic, t);
    }
    return out;
  },

  followedCreators() {
    return new Set(this.actions.filter((a) => a.kind === "follow").map((a) => a.creatorId));
  },

  /** A short "because you ..." for one feed item, from its explanation and this session's actions. */
  because(item) {
    const ex = item.explanation || {};
    const sources = ex.sources || item.sources || [];
    const topic = item.topics?.[0];
    const pos = this.positiveTopics();
    if (this.followedCreators().has(item.creator_id) || (sources.includes("followed") && (ex.main_signals || []).includes("following"))) {
      return `Because you follow @${item.creator_id}`;
    }
    if (topic && pos.has(topic) && (sources.includes("ann") || (ex.main_signals || []).includes("similarity"))) {
      const t = pos.get(topic);
      const verb = Object.entries(t.verbs).sort((a, b) => b[1] - a[1])[0][0];
      return `Because you ${POSITIVE[verb]} ${t.n} ${topic} post${t.n > 1 ? "s" : ""}`;
    }
    if (sources.includes("followed")) return `Because you follow @${item.creator_id}`;
    const mine = (this.interests?.topics || []).find((t) => t.topic === topic && t.state !== "muted");
    if (mine?.state === "boosted") return `Because you asked for more ${topic}`;
    if (mine?.origin === "added") return `Because you added ${topic}`;
    if (mine && mine.strength >= 0.25) return `Because you're into ${topic}`;
    if (sources.includes("ann")) return "Because it matches what you watch";
    if ((this.user?.interests || []).includes(topic)) return `Because you picked ${topic}`;
    if (sources.includes("popular_region")) return `Popular in ${this.user?.region || "your region"}`;
    if (sources.includes("fresh")) return "New post";
    return null;
  },
};

export function iconFor(kind) {
  return { like: "heart", save: "bookmark", share: "share", comment: "comment", follow: "userPlus", unfollow: "userPlus",
    skip: "skip", not_interested: "eyeOff", report: "flag", block: "block", watch: "eye", view: "eye", page: "layers",
    algo: "sparkle" }[kind] || "sparkle";
}

export function logActivity(cls, iconName, text, detail) {
  const log = document.getElementById("activity-log");
  if (!log) return;
  const t = new Date();
  const li = h(`li${cls ? "." + cls : ""}`, h("span.ico", { html: icon(iconName) }),
    h("div", h("span", text), detail ? h("span.muted.small", { style: { display: "block" } }, detail) : null,
      h("time", { datetime: t.toISOString() }, t.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }))));
  log.prepend(li);
  while (log.children.length > 60) log.lastElementChild.remove();
}

/** Screen-reader announcement (polite), separate from the visual log which is hidden on phones. */
export function announce(text) {
  let region = document.getElementById("sr-live");
  if (!region) {
    region = h("div#sr-live.visually-hidden", { "aria-live": "polite", "aria-atomic": "true" });
    document.body.append(region);
  }
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 30);
}

const NOUN = { like: ["like", "likes"], save: ["save", "saves"], share: ["share", "shares"], comment: ["comment", "comments"],
  follow: ["follow", "follows"], unfollow: ["unfollow", "unfollows"], watch: ["long watch", "long watches"],
  skip: ["skip", "skips"], not_interested: ["'not interested'", "'not interested'"], report: ["report", "reports"],
  block: ["block", "blocks"] };

/** "3 likes, 1 save" for a list of recorded actions. */
export function actionSummary(actions) {
  const c = {};
  for (const a of actions) c[a.kind] = (c[a.kind] || 0) + 1;
  return Object.entries(c).sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${n} ${(NOUN[k] || [k, k])[n === 1 ? 0 : 1]}`).join(", ");
}

/** "6 of 10 cooking · 2 football" for a page's items. */
export function topicMix(items) {
  const c = {};
  for (const it of items) if (it.topics?.[0]) c[it.topics[0]] = (c[it.topics[0]] || 0) + 1;
  return Object.entries(c).sort((a, b) => b[1] - a[1]);
}

export { ago };
