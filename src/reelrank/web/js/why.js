// "Why this post?": the per-item explanation from GET /v1/feed?explain=true, made readable.
import { h, clear } from "./ui.js";
import { session } from "./session.js";

const SOURCE_TEXT = {
  ann: ["Interest match", "close to what you watch and engage with (vector search)"],
  followed: ["Following", "from an account you follow"],
  popular_region: ["Popular near you", "getting engagement in your region"],
  fresh: ["Fresh", "posted recently"],
  trending: ["Trending", "engagement is rising fast"],
  co_engagement: ["Also liked", "people who liked what you liked engaged with it"],
  exploration: ["Exploration", "something new, to learn what else you like"],
};
const SIGNAL_TEXT = {
  similarity: "Match with your interests",
  popularity: "Popularity",
  freshness: "Newness",
  following: "You follow the creator",
  engagement: "Engagement rate",
  trending: "Trending now",
  exploration: "Exploration",
  topic_affinity: "Your topic affinity",
  topic_boost: "Topic you boosted",
};
const signalText = (k) => SIGNAL_TEXT[k] || (k[0].toUpperCase() + k.slice(1)).replace(/_/g, " ");

export function sourceLabel(name) {
  return (SOURCE_TEXT[name] || [name.replace(/_/g, " "), `proposed by the '${name}' source`]);
}

/** Fill and open the Why dialog for a feed item. `onAction(kind)` lets the panel offer next steps. */
export function openWhy(item, { onNotInterested, onMuteTopic } = {}) {
  const dialog = document.getElementById("why-dialog");
  const body = document.getElementById("why-body");
  const ex = item.explanation;
  if (!ex) {
    clear(body, h("p.muted", "No explanation was returned for this post."));
    dialog.showModal();
    return;
  }
  const contrib = ex.contributions || {};
  const maxC = Math.max(0.0001, ...Object.values(contrib).map((v) => Math.abs(v)));
  const hint = session.because(item);
  const topic = item.topics?.[0];

  const signalRows = Object.entries(ex.signals || {}).map(([k, v]) => {
    const c = contrib[k] ?? 0;
    const main = (ex.main_signals || []).includes(k);
    return h(`tr${main ? ".main" : ""}`,
      h("td", signalText(k), main ? h("span.visually-hidden", " (main signal)") : null),
      h("td.num", v.toFixed(3)),
      h("td.num", c.toFixed(3)),
      h("td", h("div.bar", { role: "img", "aria-label": `contribution ${c.toFixed(3)}` },
        h("span", { style: { width: `${Math.max(2, (Math.abs(c) / maxC) * 100)}%` } }))));
  });

  const policy = (ex.policy || []).map((m) => {
    const reason = m.reason.replace(/_/g, " ");
    if (m.action === "moved") return h("li", `Moved from rank ${m.from_rank + 1} to ${m.to_rank + 1} for ${reason}`);
    if (m.action === "picked") return h("li", `Picked for ${reason}`);
    return h("li", `${m.action} (${reason})`);
  });

  clear(body,
    hint ? h("p.because", { style: { marginBottom: "10px" } }, hint) : null,
    h("p.why-sentence", ex.sentence),
    h("section.why-section", { "aria-labelledby": "why-sources" },
      h("h3#why-sources", "Where it came from"),
      h("ul.source-list", { style: { listStyle: "none", padding: 0, margin: 0 } },
        (ex.sources || []).map((s) => h("li.source-chip", { title: sourceLabel(s)[1] }, sourceLabel(s)[0]))),
      h("p.muted.small", { style: { marginTop: "6px" } },
        (ex.sources || []).map((s) => sourceLabel(s)[1]).join("; ") + ".")),
    h("section.why-section", { "aria-labelledby": "why-signals" },
      h("h3#why-signals", "Main signals"),
      h("table.signal-table",
        h("caption.visually-hidden", "Ranking signals for this post"),
        h("thead", h("tr", h("th", { scope: "col" }, "Signal"), h("th.num", { scope: "col" }, "Value"),
          h("th.num", { scope: "col" }, "Weighted"), h("th", { scope: "col" }, h("span.visually-hidden", "Share")))),
        h("tbody", signalRows)),
      h("p.muted.small", { style: { marginTop: "6px" } }, `Score ${Number(item.score).toFixed(3)} · position ${item.position + 1} on its page.`)),
    h("section.why-section", { "aria-labelledby": "why-policy" },
      h("h3#why-policy", "Policy steps"),
      policy.length ? h("ul.policy-list", policy) : h("p.muted.small", "No diversity or spacing rule moved this post.")),
    h("div.row-end",
      topic && onMuteTopic ? h("button.btn.btn-sm", { type: "button", on: { click: () => { dialog.close(); onMuteTopic(topic); } } }, `Mute ${topic}`) : null,
      onNotInterested ? h("button.btn.btn-sm", { type: "button", on: { click: () => { dialog.close(); onNotInterested(); } } }, "Not interested") : null),
  );
  dialog.showModal();
}
