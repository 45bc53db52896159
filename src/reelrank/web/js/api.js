// Thin client for the reelrank HTTP API. Same origin: the engine serves this app.

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.message || body.detail)) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
  /** True when the route itself does not exist (FastAPI's bare 404), not an unknown user or post. */
  get missingRoute() {
    return this.status === 404 && this.body && this.body.detail === "Not Found";
  }
}

async function request(method, path, { params, body, keepalive } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, String(v));
  }
  const init = { method, headers: { Accept: "application/json" }, keepalive: !!keepalive };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { message: text }; }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const api = {
  get: (path, params) => request("GET", path, { params }),
  post: (path, body, opts = {}) => request("POST", path, { body, ...opts }),
  patch: (path, body) => request("PATCH", path, { body }),
  del: (path) => request("DELETE", path),

  users: (limit = 24) => request("GET", "/v1/users", { params: { limit } }),
  user: (id) => request("GET", `/v1/users/${encodeURIComponent(id)}`),
  createUser: (user) => request("POST", "/v1/users", { body: user }),
  topics: () => request("GET", "/v1/topics"),
  feed: (params) => request("GET", "/v1/feed", { params: { explain: true, ...params } }),
  posts: (ids) => request("GET", "/v1/posts", { params: { ids: ids.join(",") } }),
  interests: (id) => request("GET", `/v1/users/${encodeURIComponent(id)}/interests`),
  patchInterests: (id, body) => request("PATCH", `/v1/users/${encodeURIComponent(id)}/interests`, { body }),
  edge: (id, edge, target, on = true) =>
    request(on ? "POST" : "DELETE", `/v1/users/${encodeURIComponent(id)}/${edge}/${encodeURIComponent(target)}`),
  report: (reporter, postId, reason) =>
    request("POST", "/v1/reports", { body: { reporter_id: reporter, post_id: postId, reason } }),
  events: (events, opts = {}) => request("POST", "/v1/events", { body: { events }, ...opts }),
  inspect: (params) => request("GET", "/v1/inspect", { params }),
  stats: () => request("GET", "/v1/stats"),
  trending: (params) => request("GET", "/v1/trending", { params }),
};

let counter = 0;
/** A unique, valid event id (the engine dedupes on it, so a retried send is stored once). */
export function eventId(userId) {
  const rand = (crypto.randomUUID ? crypto.randomUUID() : Math.random().toString(36).slice(2)).replace(/[^A-Za-z0-9-]/g, "");
  counter += 1;
  return `web-${userId.slice(0, 24)}-${Date.now().toString(36)}-${counter}-${rand.slice(0, 12)}`.replace(/[^A-Za-z0-9_.:@-]/g, "_");
}
