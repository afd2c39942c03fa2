// The signed-in page's areas (Inbox, Send, Files, Shares, Credits,
// Settings): one shown at a time, chosen by the navigation links, kept in
// the address's fragment (`#/send`) so Back and a reload return to it.

const $ = (id) => document.getElementById(id);
const NAMES = ["inbox", "send", "files", "shares", "credits", "settings"];
let shown = null;
let onShow = () => {};

// An area that is offered now (Credits only while the server meters).
const offered = (name) => NAMES.includes(name) && !$(`nav-${name}`).hidden;

function wanted() {
  const name = location.hash.replace(/^#\/?/, "");
  return offered(name) ? name : "inbox";
}

function show(name) {
  for (const each of NAMES) {
    $(`area-${each}`).hidden = each !== name;
    const link = $(`nav-${each}`);
    if (each === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const changed = shown !== name;
  shown = name;
  if (changed) onShow(name);
}

// Shows `name` (a link's own job; this is for the page: Reply opens Send).
export function go(name) {
  show(name);
  if (location.hash !== `#/${name}`) location.hash = `#/${name}`;
}

export const current = () => shown;

// Shows the area the address names (after sign-in, or when the Credits
// link appears or goes).
export function settle() { show(wanted()); }

export function clear() { shown = null; }

export function init(context) {
  onShow = context.onShow;
  window.addEventListener("hashchange", () => { if (!$("inbox-section").hidden) settle(); });
}
