// Small DOM helpers shared by the app and the inspector.

/** h("div.card#id", {attrs, on: {click}}, ...children): builds an element. Strings become text nodes. */
export function h(tag, attrs, ...children) {
  const m = /^([a-z0-9]+)?((?:[.#][\w-]+)*)$/i.exec(tag);
  const el = document.createElement((m && m[1]) || "div");
  if (m && m[2]) {
    for (const part of m[2].match(/[.#][\w-]+/g)) {
      if (part[0] === ".") el.classList.add(part.slice(1));
      else el.id = part.slice(1);
    }
  }
  if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "on") for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else if (k === "html") el.innerHTML = v;  // only for trusted, generated markup (icons, art)
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("--")) el.style.setProperty(k, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A short message for everyone: visible toast + the polite live region reads it. */
export function toast(message, ms = 2600) {
  const region = document.getElementById("toasts");
  if (!region) return;
  const t = h("div.toast", message);
  region.append(t);
  while (region.children.length > 2) region.firstElementChild.remove(); // never a wall of toasts
  setTimeout(() => t.remove(), ms);
}

export function hashString(s) {
  // FNV-1a, 32 bit: stable colours and shapes per id.
  let x = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    x ^= s.charCodeAt(i);
    x = Math.imul(x, 0x01000193) >>> 0;
  }
  return x >>> 0;
}

/** A deterministic pseudo-random generator seeded from a string. */
export function rng(seed) {
  let a = hashString(seed) || 1;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function ago(ts) {
  const s = Math.max(0, Date.now() / 1000 - ts);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export function fmtMs(ms) {
  if (ms === null || ms === undefined) return "–";
  return ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : Math.round(ms).toString();
}

export function initials(id) {
  const parts = id.split(/[_.\-:@]/).filter(Boolean);
  if (parts.length > 1 && /^\d+$/.test(parts[1])) return (parts[0][0] + String(Number(parts[1]) % 100)).toUpperCase();
  return (parts.length > 1 ? parts[0][0] + parts[1][0] : (parts[0] || id).slice(0, 2)).toUpperCase();
}

export function avatar(id, cls = "") {
  return h(`span.avatar${cls}`, { "aria-hidden": "true", "--h": String(hashString(id) % 360) }, initials(id));
}

/** Keeps Tab focus inside an off-canvas panel while it is open (dialogs do this natively). */
export function trapFocus(panel, onEscape) {
  const handler = (e) => {
    if (e.key === "Escape") { e.preventDefault(); onEscape(); return; }
    if (e.key !== "Tab") return;
    const items = [...panel.querySelectorAll("button, [href], input, select, textarea, summary, [tabindex]:not([tabindex='-1'])")]
      .filter((x) => !x.disabled && x.offsetParent !== null);
    if (!items.length) return;
    const first = items[0], last = items[items.length - 1];
    if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
  };
  panel.addEventListener("keydown", handler);
  return () => panel.removeEventListener("keydown", handler);
}
