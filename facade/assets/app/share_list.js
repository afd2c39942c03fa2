// The caller's share links: each one's kind, state, views and expiry
// (never its content or link, which the server cannot show again), with
// Revoke for those still open. Refreshed when a link is made or revoked.

import { N, t, plural, number, dateTime } from "./i18n.js";

const $ = (id) => document.getElementById(id);
let api = null;

const STATES = {
  active: N("open"), used_up: N("used up"), revoked: N("revoked"), destroyed: N("destroyed"),
  expired: N("expired"),
};

async function revoke(share) {
  if (!window.confirm(t("Revoke this link? Whoever has it can no longer open it."))) return;
  try {
    await api.call("DELETE", `/v1/shares/${share.id}`);
    await list();
    api.say(t("Link revoked: its content is deleted."));
  } catch (e) {
    api.fail(t("Could not revoke: {why}", { why: e.message }));
  }
}

function row(share) {
  const li = document.createElement("li");
  li.dataset.id = share.id;
  li.dataset.state = share.state;
  const what = document.createElement("span");
  what.className = "name";
  const state = t(STATES[share.state] || share.state);
  what.textContent = share.file ? t("File link · {state}", { state }) : t("Secret link · {state}", { state });
  const facts = document.createElement("span");
  facts.className = "facts";
  const made = dateTime(share.created_at);
  facts.textContent = share.state === "active"
    ? plural(share.max_views, "{left} of {n} view left · until {until}", "{left} of {n} views left · until {until}",
      { left: number(share.views_left), until: dateTime(share.expires_at) })
    : plural(share.max_views, "{used} of {n} view used · made {made}", "{used} of {n} views used · made {made}",
      { used: number(share.views_used), made });
  li.append(what);
  if (share.state === "active") {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = t("Revoke");
    b.setAttribute("aria-label", share.file ? t("Revoke the file link made {made}", { made }) : t("Revoke the secret link made {made}", { made }));
    b.addEventListener("click", () => revoke(share));
    li.append(b);
  }
  li.append(facts);
  return li;
}

// Your links, newest first.
export async function list() {
  try {
    const page = await api.call("GET", "/v1/shares");
    $("shares").replaceChildren(...page.shares.map(row));
    $("shares-empty").hidden = page.shares.length > 0;
  } catch (e) {
    api.fail(t("Could not list your links: {why}", { why: e.message }));
  }
}

export function clear() {
  $("shares").replaceChildren();
  $("shares-empty").hidden = false;
}

export function init(context) {
  api = context;
}
