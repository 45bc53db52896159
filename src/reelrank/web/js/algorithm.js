// "Your Algorithm": the interests the engine infers for this person (strength, origin, evidence),
// and controls to add, remove, boost or mute topics. Contract:
//   GET   /v1/users/{id}/interests -> {user_id, summary, topics: [{topic, strength, origin, state, evidence}], muted}
//   PATCH /v1/users/{id}/interests {add, remove, boost, mute, unmute} -> the same shape
import { api } from "./api.js";
import { h, clear, toast, ago } from "./ui.js";
import { icon } from "./icons.js";
import { topicHue } from "./visual.js";
import { session, announce, logActivity } from "./session.js";

const KIND_VERB = { like: "liked", save: "saved", share: "shared", comment: "commented on", view: "watched",
  follow: "followed the creator of", skip: "skipped", not_interested: "said not interested to", report: "reported",
  onboarding: "picked at sign-up" };

export class AlgorithmPanel {
  constructor(body, { onChange, topics }) {
    this.body = body;
    this.onChange = onChange;
    this.topics = topics || [];
    this.timer = null;
    this.available = null;
  }

  /** Reload soon (debounced): after actions, so strengths move as the person scrolls. */
  refreshSoon(ms = 700) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), ms);
  }

  async load() {
    if (!session.userId) return;
    const userId = session.userId;
    try {
      const data = await api.interests(userId);
      if (userId !== session.userId) return;
      this.available = true;
      this.render(data);
    } catch (err) {
      if (userId !== session.userId) return;
      this.available = false;
      this.renderUnavailable(err);
    }
  }

  renderUnavailable(err) {
    const interests = session.user?.interests || [];
    clear(this.body,
      h("p.notice", { role: "status" }, err.missingRoute
        ? "This engine does not expose GET /v1/users/{id}/interests yet, so inferred interests cannot be shown."
        : `Could not load your interests: ${err.message}`),
      h("h3.section-title", "Onboarding interests"),
      interests.length ? h("div.topic-row", interests.map((t) => h("span.chip", `#${t}`))) : h("p.muted", "None picked."));
  }

  render(data) {
    this.data = data;
    session.interests = data; // for the "because you ..." hints on the next pages
    const topics = [...(data.topics || [])].sort((a, b) => b.strength - a.strength);
    const muted = new Set(data.muted || []);
    const list = h("ul.topic-list", { "aria-label": "Topics the engine thinks you like" },
      topics.filter((t) => t.state !== "muted" && !muted.has(t.topic)).map((t) => this.topicItem(t)));
    const listId = "algo-topic-options";
    const known = this.topics.map((t) => t.topic).filter((t) => !topics.some((x) => x.topic === t && x.state !== "muted"));
    const input = h("input", { id: "algo-add-input", list: listId, autocomplete: "off", placeholder: "e.g. cooking",
      maxlength: "64", required: true });
    const form = h("form.add-topic", { "aria-label": "Add a topic",
      on: { submit: (e) => { e.preventDefault(); const v = input.value.trim().toLowerCase(); if (v) this.patch({ add: [v] }, `Added ${v}`); } } },
    h("label.visually-hidden", { for: "algo-add-input" }, "Topic to add"), input,
    h("datalist", { id: listId }, known.map((t) => h("option", { value: t }))),
    h("button.btn.btn-primary", { type: "submit" }, h("span", { html: icon("plus", 'style="width:16px;height:16px"') }), "Add"));
    clear(this.body,
      h("p.algo-summary", { "aria-live": "polite" }, data.summary || "The engine has not learned much about you yet."),
      topics.length ? list : h("p.muted", "No interests yet: like, save or watch a few posts."),
      form,
      h("h3.section-title", { style: { marginTop: "18px" } }, "Muted topics"),
      muted.size
        ? h("ul.muted-list", { style: { listStyle: "none", padding: 0 } }, [...muted].map((t) => h("li",
          h("button.btn.btn-sm", { type: "button", "aria-label": `Unmute ${t}`, on: { click: () => this.patch({ unmute: [t] }, `Unmuted ${t}`) } },
            h("span", { html: icon("mute", 'style="width:15px;height:15px"') }), `${t} · Unmute`))))
        : h("p.muted.small", "Nothing muted. Mute a topic to stop seeing it."));
  }

  topicItem(t) {
    const pct = Math.round(Math.max(0, Math.min(1, t.strength)) * 100);
    const ev = t.evidence || [];
    const boosted = t.state === "boosted";
    return h(`li.topic-item${boosted ? ".boosted" : ""}`, { dataset: { topic: t.topic } },
      h("div.topic-line",
        h("span.topic-dot", { "--h": String(topicHue(t.topic)), "aria-hidden": "true" }),
        h("strong", t.topic),
        h(`span.badge.${t.origin}`, t.origin),
        boosted ? h("span.badge.boosted", "boosted") : null,
        h("span.strength", `${pct}%`)),
      h("div.bar", { role: "meter", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(pct),
        "aria-label": `${t.topic} strength` }, h("span", { style: { width: `${Math.max(2, pct)}%` } })),
      ev.length ? h("details.evidence", h("summary", `Evidence (${ev.length})`),
        h("ul", ev.slice(0, 6).map((e) => h("li", `${cap(KIND_VERB[e.kind] || e.kind)} `, h("span.mono", e.post_id || ""), e.ts ? ` · ${ago(e.ts)}` : "")))) : null,
      h("div.topic-actions",
        h("button.btn.btn-sm", { type: "button", "aria-pressed": String(boosted), disabled: boosted,
          "aria-label": boosted ? `${t.topic} is boosted` : `Boost ${t.topic}`,
          on: { click: () => this.patch({ boost: [t.topic] }, `Boosted ${t.topic}`) } }, boosted ? "Boosted" : "Boost"),
        h("button.btn.btn-sm", { type: "button", "aria-label": `Mute ${t.topic}`,
          on: { click: () => this.patch({ mute: [t.topic] }, `Muted ${t.topic}`) } }, "Mute"),
        h("button.btn.btn-sm.btn-ghost", { type: "button", "aria-label": `Remove ${t.topic}`,
          on: { click: () => this.patch({ remove: [t.topic] }, `Removed ${t.topic}`) } }, "Remove")));
  }

  async patch(body, message) {
    const payload = { add: [], remove: [], boost: [], mute: [], unmute: [], ...body };
    try {
      const data = await api.patchInterests(session.userId, payload);
      this.render(data);
      toast(`${message}. Your feed follows from the next post.`);
      announce(`${message}.`);
      logActivity("good", "sparkle", `Your Algorithm: ${message.toLowerCase()}`);
      this.onChange?.(payload);
    } catch (err) {
      toast(err.missingRoute ? "Editing interests is not available on this engine yet" : `Could not update: ${err.message}`);
    }
  }

  muteTopic(topic) { return this.patch({ mute: [topic] }, `Muted ${topic}`); }
}

function cap(s) { return s ? s[0].toUpperCase() + s.slice(1) : s; }
