// The demo app: pick or create a user, then Reels or Explore, with "Your Algorithm" alongside.
import { api } from "./api.js";
import { h, clear, toast, avatar, trapFocus } from "./ui.js";
import { session, announce, logActivity } from "./session.js";
import { ReelsFeed } from "./reels.js";
import { ExploreGrid } from "./explore.js";
import { AlgorithmPanel } from "./algorithm.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const PAGE_SIZE = { reels: Number(params.get("page_size")) || 8, explore: Number(params.get("explore_page_size")) || 15 };

window.rr = { session, metrics: session.metrics }; // read by the browser tests

let topics = [];
let algo;
const hooks = {
  changed: () => algo?.refreshSoon(),
  muteTopic: (topic) => algo?.muteTopic(topic),
};
const reels = new ReelsFeed($("reels"), hooks);
const explore = new ExploreGrid($("explore-grid"), $("explore-sentinel"), hooks);

function currentView() {
  const v = location.hash.replace(/^#/, "").split("&")[0];
  return v === "explore" ? "explore" : "reels";
}

function show(view) {
  const onboarding = view === "onboarding";
  $("view-onboarding").hidden = !onboarding;
  $("view-reels").hidden = view !== "reels";
  $("view-explore").hidden = view !== "explore";
  for (const tab of document.querySelectorAll(".tab[data-view]")) {
    if (tab.dataset.view === view) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  document.title = `reelrank · ${onboarding ? "Who is scrolling?" : view === "explore" ? "Explore" : "Reels"}`;
  if (onboarding) return;
  if (view === "reels") {
    if (!reels.started) { reels.start({ pageSize: PAGE_SIZE.reels }); }
  } else if (!explore.started) {
    explore.start({ pageSize: PAGE_SIZE.explore });
  }
}

async function useUser(user) {
  reels.stop();
  explore.started = false;
  session.reset(user);
  localStorage.setItem("rr.user", user.user_id);
  const url = new URL(location.href);
  url.searchParams.set("user", user.user_id);
  history.replaceState(null, "", url);
  const chip = $("user-switch");
  chip.hidden = false;
  chip.querySelector(".avatar").replaceWith(avatar(user.user_id, ".avatar-sm"));
  chip.querySelector(".user-chip-name").textContent = `@${user.user_id}`;
  chip.setAttribute("aria-label", `Signed in as @${user.user_id}. Switch user`);
  $("inspector-link").href = `inspector.html?user=${encodeURIComponent(user.user_id)}`;
  logActivity("", "userPlus", `Scrolling as @${user.user_id}`, user.interests?.length ? `interests: ${user.interests.join(", ")}` : "no onboarding interests");
  algo.load();
  show(currentView());
}

async function showOnboarding() {
  reels.stop();
  show("onboarding");
  $("new-user-id").value ||= `you_${Math.random().toString(36).slice(2, 7)}`;
  const grid = $("user-grid");
  try {
    const { users } = await api.users(12);
    clear(grid, users.map((u) => h("li", h("button.user-card", { type: "button", on: { click: () => useUser(u) },
      "aria-label": `Scroll as @${u.user_id}${u.interests.length ? `, interests ${u.interests.join(", ")}` : ""}` },
    avatar(u.user_id), h("span", h("strong", `@${u.user_id}`),
      h("span.muted", u.interests.length ? u.interests.join(" · ") : `${u.region} · no interests picked`))))));
  } catch (err) {
    clear(grid, h("li.muted", `Could not list users: ${err.message}`));
  }
  $("onboarding-title").focus?.();
}

function renderInterestChoices() {
  clear($("interest-choices"), topics.map((t) => h("button.chip-toggle", {
    type: "button", "aria-pressed": "false", dataset: { topic: t.topic },
    on: { click: (e) => { const b = e.currentTarget; b.setAttribute("aria-pressed", String(b.getAttribute("aria-pressed") !== "true")); } },
  }, t.topic)));
}

$("create-user").addEventListener("submit", async (e) => {
  e.preventDefault();
  const err = $("create-error");
  err.textContent = "";
  const interests = [...document.querySelectorAll("#interest-choices [aria-pressed='true']")].map((b) => b.dataset.topic);
  const user = { user_id: $("new-user-id").value.trim(), region: $("new-user-region").value, interests };
  try {
    await api.createUser(user);
    await useUser(user);
    toast(`Welcome, @${user.user_id}`);
  } catch (ex) {
    err.textContent = ex.body?.errors?.[0] ? `${ex.body.errors[0].field}: ${ex.body.errors[0].message}` : ex.message;
  }
});

$("user-switch").addEventListener("click", () => showOnboarding());
$("explore-refresh").addEventListener("click", () => { explore.start({ pageSize: PAGE_SIZE.explore }); announce("Explore refreshed"); });
window.addEventListener("hashchange", () => { if (session.userId) show(currentView()); });

// Your Algorithm: a sidebar on wide screens, a drawer elsewhere.
const panel = $("algo");
const openBtn = $("algo-open");
let untrap = null;
function setDrawer(open) {
  panel.classList.toggle("open", open);
  openBtn.setAttribute("aria-expanded", String(open));
  if (open) {
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-modal", "true");
    untrap = trapFocus(panel, () => setDrawer(false));
    panel.focus();
    algo.load();
  } else {
    panel.removeAttribute("role");
    panel.removeAttribute("aria-modal");
    untrap?.();
    untrap = null;
    if (panel.contains(document.activeElement)) openBtn.focus();
  }
}
openBtn.addEventListener("click", () => setDrawer(!panel.classList.contains("open")));
$("algo-close").addEventListener("click", () => setDrawer(false));

async function main() {
  algo = new AlgorithmPanel($("algo-body"), {
    onChange: () => {
      const n = reels.refreshUpcoming();
      if (explore.started && currentView() === "explore") explore.start({ pageSize: PAGE_SIZE.explore });
      if (n) logActivity("", "layers", `Dropped ${n} upcoming post${n === 1 ? "" : "s"}: the next page is ranked with your change`);
    },
  });
  try { topics = (await api.topics()).topics; } catch { topics = []; }
  algo.topics = topics;
  renderInterestChoices();
  const wanted = params.get("user") || localStorage.getItem("rr.user");
  if (wanted) {
    try { return await useUser(await api.user(wanted)); } catch { /* unknown user: pick another */ }
  }
  showOnboarding();
}

main();
