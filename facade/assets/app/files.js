// Files in the web client: upload (a button or drag and drop, with a
// progress bar; the browser streams the file from disk, the server seals
// it as it arrives), the list with size and expiry, download, delete, and
// sending a file to another user, and a share link to one. See
// docs/web-client.md.

import * as qr from "./qr.js";
import { t, plural, dateTime, size } from "./i18n.js";
import { standardBase64 } from "./e2e.js";
import { sealFile } from "./file_link.js";

const $ = (id) => document.getElementById(id);

// Set by init(): the page's authenticated JSON call, its token refresh,
// the current access token and its feedback line.
let api = null;

function note(text) { $("file-note").textContent = text || ""; }

// One XMLHttpRequest upload (fetch reports no upload progress): the File
// object goes as the body, read from disk as it is sent.
function post(path, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("authorization", `Bearer ${api.token()}`);
    xhr.setRequestHeader("x-file-name", encodeURIComponent(file.name));
    xhr.setRequestHeader("content-type", file.type || "application/octet-stream");
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      resolve({ status: xhr.status, data });
    };
    xhr.onerror = () => reject(new Error(t("the server cannot be reached; nothing was stored, try again")));
    xhr.send(file);
  });
}

// Seals the file here, uploads the sealed stream as a file of one's own,
// shares that by link with the label, and deletes the upload (the share
// holds its own copy): a link whose key only the recipient gets.
async function linkEncrypted(file) {
  const bar = $("file-progress");
  bar.hidden = false;
  bar.value = 0;
  note(t("Encrypting {file} in this browser…", { file: file.name }));
  const sealed = await sealFile(file, (p) => { bar.value = Math.round(p * 50); });
  const ttl = Number($("share-ttl").value);
  const path = `/v1/files?ttl_seconds=${Math.max(ttl, 60)}`;
  const sealedFile = new File([sealed.stream], "sealed.bin", { type: "application/octet-stream" });
  const progress = (p) => { bar.value = 50 + Math.round(p * 50); };
  let answer = await post(path, sealedFile, progress);
  if (answer.status === 401 && await api.refresh()) answer = await post(path, sealedFile, progress);
  if (answer.status !== 201) {
    throw new Error((answer.data && answer.data.detail) || t("the server answered {status}", { status: answer.status }));
  }
  const upload = answer.data;
  let share;
  try {
    share = await api.call("POST", "/v1/shares", {
      file_id: upload.id,
      client_encrypted: true,
      file_label: standardBase64(sealed.label),
      ttl_seconds: ttl,
      max_views: Number($("share-views").value),
    });
  } finally {
    // The share holds its own copy (or there is none): the upload goes
    // before anything is shown.
    await api.call("DELETE", `/v1/files/${upload.id}`).catch(() => {});
  }
  $("share-link").value = `${share.url}#${sealed.fragment}`;
  $("share-result").hidden = false;
  await qr.draw($("share-qr"), $("share-link").value);
  note(plural(share.max_views, "Link to {file} ready (encrypted in this browser): {n} view.", "Link to {file} ready (encrypted in this browser): {n} views.", { file: file.name }));
  api.linksChanged();
}

async function upload(event) {
  event.preventDefault();
  const file = $("file-input").files[0];
  if (!file) return note(t("Choose a file first."));
  if ($("file-link").checked) {
    $("file-upload").disabled = true;
    try {
      await linkEncrypted(file);
      $("file-form").reset();
    } catch (e) {
      note(t("No link: {why}", { why: e.message }));
    } finally {
      $("file-upload").disabled = false;
      $("file-progress").hidden = true;
    }
    return;
  }
  const to = $("file-to").value.trim();
  const ttl = $("file-ttl").value;
  const path = to
    ? `/v1/users/${encodeURIComponent(to)}/files?ttl_seconds=${ttl}`
    : `/v1/files?ttl_seconds=${ttl}`;
  const bar = $("file-progress");
  bar.hidden = false;
  bar.value = 0;
  $("file-upload").disabled = true;
  note(t("Uploading {file}…", { file: file.name }));
  try {
    const progress = (p) => { bar.value = Math.round(p * 100); };
    let answer = await post(path, file, progress);
    if (answer.status === 401 && await api.refresh()) answer = await post(path, file, progress);
    if (answer.status !== 201) {
      throw new Error((answer.data && answer.data.detail) || t("the server answered {status}", { status: answer.status }));
    }
    bar.value = 100;
    $("file-form").reset();
    note(to ? t("Sent {file} to {name}.", { file: file.name, name: to }) : t("Stored {file} ({size}).", { file: file.name, size: size(answer.data.size) }));
    if (!to) await list();
  } catch (e) {
    note(t("Upload failed: {why}", { why: e.message }));
  } finally {
    $("file-upload").disabled = false;
    bar.hidden = true;
    api.creditsChanged();
  }
}

// Fetches the file with the bearer token and hands it to the browser as a
// download under its own name.
export async function download(id, name) {
  try {
    let res = await fetch(`/v1/files/${id}`, { headers: { authorization: `Bearer ${api.token()}` } });
    if (res.status === 401 && await api.refresh()) {
      res = await fetch(`/v1/files/${id}`, { headers: { authorization: `Bearer ${api.token()}` } });
    }
    if (!res.ok) {
      const data = await res.json().catch(() => null);
      throw new Error((data && data.detail) || t("the server answered {status}", { status: res.status }));
    }
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = name;
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (e) {
    api.fail(t("Download failed: {why}", { why: e.message }));
  } finally {
    api.creditsChanged();
  }
}

// A one-view link to the file for someone without an account: the share
// holds its own copy, sealed under the link's key; the link shows in the
// share area below, with the share form's lifetime and views.
async function shareLink(file) {
  try {
    const share = await api.call("POST", "/v1/shares", {
      file_id: file.id,
      ttl_seconds: Number($("share-ttl").value),
      max_views: Number($("share-views").value),
    });
    $("share-link").value = share.url;
    $("share-result").hidden = false;
    await qr.draw($("share-qr"), share.url);
    $("share-link").scrollIntoView({ block: "nearest" });
    api.say(plural(share.max_views, "Link to {file} ready: {n} view until {when}.", "Link to {file} ready: {n} views until {when}.", { file: file.name, when: dateTime(share.expires_at) }));
    api.linksChanged();
  } catch (e) {
    api.fail(t("No link: {why}", { why: e.message }));
  }
}

async function remove(file, li) {
  if (!window.confirm(t("Delete {file}? This cannot be undone.", { file: file.name }))) return;
  try { await api.call("DELETE", `/v1/files/${file.id}`); }
  catch (e) { if (e.status !== 404) return api.fail(t("Delete failed: {why}", { why: e.message })); }
  li.remove();
  $("files-empty").hidden = $("files").children.length > 0;
}

function button(label, aria, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.setAttribute("aria-label", aria);
  b.addEventListener("click", onClick);
  return b;
}

function row(file) {
  const li = document.createElement("li");
  li.dataset.id = file.id;
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = file.name;
  const facts = document.createElement("span");
  facts.className = "facts";
  const from = file.sender && api.me() && file.sender !== api.me().username
    ? ` · ${t("from {name}", { name: file.sender })}` : "";
  facts.textContent = `${size(file.size)}${from} · ${t("expires {when}", { when: dateTime(file.expires_at) })}`;
  li.append(
    name,
    button(t("Download"), t("Download {file}", { file: file.name }), () => download(file.id, file.name)),
    button(t("Share link"), t("Make a share link to {file}", { file: file.name }), () => shareLink(file)),
    button(t("Delete"), t("Delete {file}", { file: file.name }), () => remove(file, li)),
    facts,
  );
  return li;
}

// The caller's files, newest first.
export async function list() {
  try {
    const page = await api.call("GET", "/v1/files?limit=100");
    $("files").replaceChildren(...page.files.map(row));
    $("files-empty").hidden = page.files.length > 0;
  } catch (e) {
    api.fail(t("Could not list your files: {why}", { why: e.message }));
  }
}

export function clear() {
  $("files").replaceChildren();
  $("files-empty").hidden = false;
  note("");
}

export function init(context) {
  api = context;
  $("file-form").addEventListener("submit", upload);
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files.length > 0) {
      $("file-input").files = e.dataTransfer.files;
      note(t("Ready to upload {file}.", { file: e.dataTransfer.files[0].name }));
    }
  });
}
