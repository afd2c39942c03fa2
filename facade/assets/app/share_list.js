// The caller's share links: each one's kind, state, views and expiry
// (never its content or link, which the server cannot show again), with
// Revoke for those still open. Refreshed when a link is made or revoked.

const $ = (id) => document.getElementById(id);
let api = null;

const STATES = {
  active: "open", used_up: "used up", revoked: "revoked", destroyed: "destroyed", expired: "expired",
};

async function revoke(share) {
  if (!window.confirm("Revoke this link? Whoever has it can no longer open it.")) return;
  try {
    await api.call("DELETE", `/v1/shares/${share.id}`);
    await list();
    api.say("Link revoked: its content is deleted.");
  } catch (e) {
    api.fail(`Could not revoke: ${e.message}`);
  }
}

function row(share) {
  const li = document.createElement("li");
  li.dataset.id = share.id;
  li.dataset.state = share.state;
  const what = document.createElement("span");
  what.className = "name";
  const kind = share.file ? "File" : "Secret";
  what.textContent = `${kind} link · ${STATES[share.state] || share.state}`;
  const facts = document.createElement("span");
  facts.className = "facts";
  const until = new Date(share.expires_at).toLocaleString();
  facts.textContent = share.state === "active"
    ? `${share.views_left} of ${share.max_views} view(s) left · until ${until}`
    : `${share.views_used} of ${share.max_views} view(s) used · made ${new Date(share.created_at).toLocaleString()}`;
  li.append(what);
  if (share.state === "active") {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = "Revoke";
    b.setAttribute("aria-label", `Revoke the ${kind.toLowerCase()} link made ${new Date(share.created_at).toLocaleString()}`);
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
    api.fail(`Could not list your links: ${e.message}`);
  }
}

export function clear() {
  $("shares").replaceChildren();
  $("shares-empty").hidden = false;
}

export function init(context) {
  api = context;
}
