// Every action in the UI becomes a real call to the engine: an event (POST /v1/events, unique
// event id), or a graph/report write. The next page the engine ranks already includes it.
import { api, eventId } from "./api.js";
import { session } from "./session.js";
import { toast } from "./ui.js";

function baseEvent(kind, item) {
  const e = { event_id: eventId(session.userId), user_id: session.userId, kind, post_id: item.post_id };
  if (item.surface) e.surface = item.surface;
  if (item.request_id) e.request_id = item.request_id.slice(0, 64);
  if (Number.isInteger(item.position)) e.position = item.position;
  return e;
}

async function send(events, opts) {
  try {
    return await api.events(events, opts);
  } catch (err) {
    toast(`Could not send ${events[0].kind}: ${err.message}`);
    throw err;
  }
}

/** A view: sent when the post leaves the screen, with how long it was on screen. */
export function sendView(item, watchMs, { keepalive = false } = {}) {
  const e = baseEvent("view", item);
  e.watch_ms = Math.max(0, Math.min(Math.round(watchMs), 24 * 3600 * 1000));
  const d = item.post?.duration_ms;
  if (d && d > 0) e.duration_ms = d;
  return send([e], { keepalive }).catch(() => null);
}

/**
 * Perform one action on a post. kind: like | save | share | comment | skip | not_interested | follow |
 * unfollow | report | block. Returns true when the engine accepted it.
 */
export async function act(kind, item, extra = {}) {
  const uid = session.userId;
  switch (kind) {
    case "unfollow":
      await api.edge(uid, "follows", item.creator_id, false);
      break;
    case "follow": {
      const e = baseEvent("follow", item);
      e.target_user_id = item.creator_id;
      await send([e]);
      break;
    }
    case "block":
      await api.edge(uid, "blocks", item.creator_id, true);
      break;
    case "report":
      await api.report(uid, item.post_id, extra.reason || "unspecified");
      await send([baseEvent("report", item)]);
      break;
    default:
      await send([baseEvent(kind, item)]);
  }
  session.record(kind, item);
  return true;
}
