// Credits in the web client: the balance in the header, the price of an
// action beside its button before it is taken, the ledger page, a notice
// when the balance runs low, and (for admins) the top-up form. Hidden
// entirely when the server does not meter.

import { N, t, plural, number, dateTime, current as language } from "./i18n.js";

const $ = (id) => document.getElementById(id);
let api = null;
let status = null;
let next = null;
let pending = null;

const credits = (n) => plural(n, "{n} credit", "{n} credits");
const KINDS = {
  grant: N("grant"), charge: N("charge"), "top-up": N("top-up"), purchase: N("purchase"),
  refund: N("refund"), adjustment: N("adjustment"),
};

// Reads the balance and prices, and shows them where they apply.
export async function refresh() {
  try {
    status = await api.call("GET", "/v1/me/credits");
  } catch { return; }
  $("balance").hidden = !status.enabled;
  if ($("nav-credits").hidden === status.enabled) {
    $("nav-credits").hidden = !status.enabled;
    api.areaChanged();
  }
  $("balance").textContent = credits(status.balance);
  $("balance").classList.toggle("low", status.balance < status.low);
  if (!status.enabled || status.balance >= status.low) $("credits-low").hidden = true;
  $("credits-balance").textContent = credits(status.balance);
  for (const el of document.querySelectorAll("[data-price]")) {
    const price = status.enabled ? (status.price_list[el.dataset.price] || 0) : 0;
    el.textContent = price ? t("costs {credits}", { credits: credits(price) }) : "";
    el.hidden = !price;
  }
  const admin = api.me() && api.me().role === "admin";
  $("topup-form").hidden = !(status.enabled && admin);
}

// Refreshes soon after something that may have cost credits (several
// actions in a row are read once).
export function changed() {
  if (!api.me()) return; // not signed in (yet): nothing to read
  clearTimeout(pending);
  pending = setTimeout(refresh, 150);
}

function entry(e) {
  const li = document.createElement("li");
  const what = document.createElement("span");
  what.className = "name";
  const kind = t(KINDS[e.kind] || e.kind);
  what.textContent = e.action ? `${kind}: ${e.action}` : kind;
  const amount = document.createElement("span");
  amount.className = e.amount < 0 ? "amount out" : "amount in";
  amount.textContent = new Intl.NumberFormat(language(), { signDisplay: "exceptZero" }).format(e.amount);
  const facts = document.createElement("span");
  facts.className = "facts";
  const reason = e.reason ? ` · ${e.reason}` : "";
  facts.textContent = `${t("balance {n}", { n: number(e.balance_after) })} · ${dateTime(e.time)}${reason}`;
  facts.title = `tx_hash ${e.tx_hash}`;
  li.append(what, amount, facts);
  return li;
}

// The ledger, oldest first, a page at a time.
async function ledger(more) {
  try {
    const query = new URLSearchParams({ limit: "50" });
    if (more && next !== null) query.set("after", String(next));
    const page = await api.call("GET", `/v1/me/credits/ledger?${query}`);
    const items = page.entries.map(entry);
    if (more) $("ledger").append(...items); else $("ledger").replaceChildren(...items);
    next = page.next ?? null;
    $("ledger-more").hidden = next === null;
  } catch (e) { api.fail(t("Could not read the ledger: {why}", { why: e.message })); }
}

// An admin's top-up (or, negative, an adjustment) of an account by name.
async function topUp(event) {
  event.preventDefault();
  const name = $("topup-user").value.trim().toLowerCase();
  const amount = Number($("topup-amount").value);
  try {
    let id = null;
    let after = null;
    while (id === null) {
      const query = new URLSearchParams({ limit: "500" });
      if (after) query.set("after", after);
      const page = await api.call("GET", `/v1/admin/users?${query}`);
      const found = page.users.find((u) => u.username === name);
      if (found) id = found.id;
      else if (page.next) after = page.next;
      else throw new Error(t("no account is named {name}", { name }));
    }
    const body = { amount };
    if ($("topup-reason").value.trim()) body.reason = $("topup-reason").value.trim();
    const done = await api.call("POST", `/v1/admin/users/${id}/credits`, body);
    $("topup-form").reset();
    api.say(t("{name} now has {credits}.", { name, credits: credits(done.balance_after) }));
    await refresh();
    await ledger(false);
  } catch (e) { api.fail(t("No top-up: {why}", { why: e.message })); }
}

// A `credits` event: the balance fell below the threshold. The notice
// stays until the balance is lifted above it again.
export function low(data) {
  $("credits-low").textContent = data.message || t("Your credits are running low.");
  $("credits-low").hidden = false;
  changed();
}

export async function show() {
  await refresh();
  if (status && status.enabled) await ledger(false);
}

// The Credits area was opened: its ledger from the newest entry.
export function opened() {
  if (status && status.enabled) ledger(false);
}

export function clear() {
  status = null;
  next = null;
  $("balance").hidden = true;
  $("nav-credits").hidden = true;
  $("credits-low").hidden = true;
  $("ledger").replaceChildren();
}

export function init(context) {
  api = context;
  $("ledger-more").addEventListener("click", () => ledger(true));
  $("topup-form").addEventListener("submit", topUp);
}
