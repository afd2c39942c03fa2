// The web client's words in the reader's language. English is the source:
// every string is written in English where it is used (`t("Log out")`,
// or `data-i18n` on an element of index.html) and `de.js` maps each one
// to German. The language comes from a choice saved in Settings, else the
// first of the browser's languages we have, else English; dates, numbers
// and sizes follow it, shown in the reader's local time.

import de from "./de.js";

const CATALOGUES = { de };
export const LANGUAGES = { en: "English", de: "Deutsch" };
const SAVED = "strongroom.language";

function chosen() {
  let saved = null;
  try { saved = localStorage.getItem(SAVED); } catch { /* storage off */ }
  if (saved && saved in LANGUAGES) return saved;
  for (const tag of navigator.languages || [navigator.language]) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (base in LANGUAGES) return base;
  }
  return "en";
}

let language = chosen();
export const current = () => language;

// Marks `english` for the catalogue where it is defined; `t` translates
// it where it is shown.
export const N = (english) => english;

// `english` in the current language, with `{name}` filled from `vars`.
export function t(english, vars = {}) {
  const catalogue = CATALOGUES[language];
  const text = (catalogue && catalogue[english]) || english;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

// `one` or `other` by the language's plural rule for `n` ({n} formatted).
export function plural(n, one, other, vars = {}) {
  const form = new Intl.PluralRules(language).select(n) === "one" ? one : other;
  return t(form, { ...vars, n: number(n) });
}

export const number = (n) => new Intl.NumberFormat(language).format(n);

// A moment, in the reader's local time and the language's format.
export const dateTime = (when) =>
  new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short" }).format(new Date(when));

// Bytes as the language writes them: "15 bytes", "1.5 MB", "1,5 MB".
export function size(bytes) {
  const units = ["byte", "kilobyte", "megabyte", "gigabyte"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
  return new Intl.NumberFormat(language, {
    style: "unit", unit: units[unit], unitDisplay: unit === 0 ? "long" : "short",
    maximumFractionDigits: unit === 0 || value >= 10 ? 0 : 1,
  }).format(value);
}

// Translates the page: each element marked `data-i18n` (its text),
// `data-i18n-html` (its markup, which only ever comes from the catalogue)
// and `data-i18n-attr="aria-label placeholder"` (those attributes). The
// English original is kept on the element, so switching back works.
export function translatePage(root = document) {
  document.documentElement.lang = language;
  for (const el of root.querySelectorAll("[data-i18n]")) {
    if (!el.dataset.i18n) el.dataset.i18n = el.textContent.replace(/\s+/g, " ").trim();
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of root.querySelectorAll("[data-i18n-html]")) {
    if (!el.dataset.i18nHtml) el.dataset.i18nHtml = el.innerHTML.replace(/\s+/g, " ").trim();
    el.innerHTML = t(el.dataset.i18nHtml);
  }
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const name of el.dataset.i18nAttr.split(" ")) {
      const key = `i18n${name.replace(/(^|-)(\w)/g, (_, __, c) => c.toUpperCase())}`;
      if (!el.dataset[key]) el.dataset[key] = el.getAttribute(name);
      el.setAttribute(name, t(el.dataset[key]));
    }
  }
}

// Switches the language (saved for the next visit) and translates the page.
export function choose(next) {
  if (!(next in LANGUAGES)) return;
  language = next;
  try { localStorage.setItem(SAVED, next); } catch { /* storage off */ }
  translatePage();
}
