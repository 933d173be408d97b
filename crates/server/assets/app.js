// Strongroom console. Plain JavaScript, no build step, no external scripts (the page must work on
// an air-gapped store network). Every state-changing call sends the session's CSRF token.
"use strict";
const SR = { csrf: null, me: null, site: null, model: null, devices: {}, feed: null, tab: "overview", tabs: [] };
window.SR = SR;

const $ = (sel) => document.querySelector(sel);
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}
function show(id) { for (const v of ["login-view", "password-view", "app-view"]) $("#" + v).hidden = v !== id; }
function fmtTime(ms) { return new Date(ms).toLocaleString(); }

async function api(method, path, body, contentType) {
  const headers = {};
  if (SR.csrf) headers["X-CSRF-Token"] = SR.csrf;
  let payload;
  if (body !== undefined) {
    headers["Content-Type"] = contentType || "application/json";
    payload = contentType ? body : JSON.stringify(body);
  }
  const res = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = text; }
  if (!res.ok) {
    const msg = data && data.message ? data.message : res.status + " " + res.statusText;
    const err = new Error(msg); err.status = res.status; throw err;
  }
  return data;
}
SR.api = api;
SR.el = el;

async function boot() {
  try {
    SR.me = await api("GET", "/api/v1/me");
    SR.csrf = SR.me.csrf_token;
  } catch (e) {
    show("login-view");
    return;
  }
  if (SR.me.must_change_password) { show("password-view"); return; }
  $("#who").textContent = SR.me.user;
  $("#logout").hidden = false;
  if (!SR.me.sites.length) { show("app-view"); $("#app-view").replaceChildren(el("p", {}, "You have no role on any site.")); return; }
  SR.site = SR.me.sites[0];
  $("#site-name").textContent = SR.site.name;
  SR.model = await api("GET", "/api/v1/sites/" + SR.site.id);
  await refreshDevices();
  buildTabs();
  show("app-view");
  render();
  startFeed();
}

function can(p) { return SR.site && SR.site.permissions.includes(p); }

function buildTabs() {
  const tabs = [["overview", "Overview", "site-view"], ["events", "Events", "events-view"], ["journal", "Journal", "journal-view"]];
  for (const t of SR.tabs) tabs.push([t.id, t.title, t.permission]);
  const nav = $("#tabs");
  nav.replaceChildren();
  for (const [id, title, perm] of tabs) {
    if (!can(perm)) continue;
    nav.append(el("button", { class: SR.tab === id ? "active" : "", onclick: () => { SR.tab = id; buildTabs(); render(); } }, title));
  }
  nav.hidden = false;
}

async function refreshDevices() {
  try {
    const d = await api("GET", "/api/v1/sites/" + SR.site.id + "/devices");
    SR.devices = {};
    for (const x of d.devices) SR.devices[x.device] = x;
  } catch (_) { /* the overview shows "unknown" */ }
}

function stateBadge(id) {
  const s = SR.devices[id];
  return el("span", { class: "state " + (s ? s.state : "") }, s ? s.state : "unknown");
}

function render() {
  const view = $("#app-view");
  view.replaceChildren();
  if (SR.tab === "overview") view.append(renderOverview());
  else if (SR.tab === "events") view.append(renderEvents());
  else if (SR.tab === "journal") view.append(renderJournal());
  else {
    const t = SR.tabs.find((x) => x.id === SR.tab);
    if (t) view.append(t.render());
  }
}

function renderOverview() {
  const m = SR.model;
  const areas = el("table", {}, el("tr", {}, el("th", {}, "Area"), el("th", {}, "Kind"), el("th", {}, "Capacity")));
  for (const a of m.area || []) areas.append(el("tr", {}, el("td", {}, a.name), el("td", {}, a.kind.replace(/_/g, " ")), el("td", {}, a.capacity ?? "—")));
  const doors = el("table", { id: "doors" }, el("tr", {}, el("th", {}, "Door"), el("th", {}, "From → to"), el("th", {}, "State")));
  for (const d of m.door || []) doors.append(el("tr", {}, el("td", {}, d.name), el("td", {}, d.from + " → " + d.to), el("td", { "data-device": d.id }, stateBadge(d.id))));
  const devices = el("table", {}, el("tr", {}, el("th", {}, "Device"), el("th", {}, "Type"), el("th", {}, "Where"), el("th", {}, "State")));
  for (const r of m.reader || []) devices.append(el("tr", {}, el("td", {}, r.name || r.id), el("td", {}, "reader"), el("td", {}, r.door), el("td", { "data-device": r.id }, stateBadge(r.id))));
  for (const s of m.sensor || []) devices.append(el("tr", {}, el("td", {}, s.name || s.id), el("td", {}, s.kind.replace(/_/g, " ")), el("td", {}, s.area), el("td", { "data-device": s.id }, stateBadge(s.id))));
  for (const c of m.camera || []) devices.append(el("tr", {}, el("td", {}, c.name), el("td", {}, "camera"), el("td", {}, (c.covers_areas || []).join(", ")), el("td", { "data-device": c.id }, stateBadge(c.id))));
  return el("div", { class: "grid" },
    el("div", { class: "card" }, el("h2", {}, "Areas"), areas),
    el("div", { class: "card" }, el("h2", {}, "Doors"), doors),
    el("div", { class: "card" }, el("h2", {}, "Devices"), devices),
    el("div", { class: "card" }, el("h2", {}, "Live events"), el("div", { class: "feed", id: "mini-feed" })));
}

function eventLine(e) {
  const p = e.payload || {};
  const what = p.device ? p.device + " " + (p.state || "") : Object.entries(p).slice(0, 4).map(([k, v]) => k + "=" + (typeof v === "object" ? JSON.stringify(v) : v)).join(" ");
  return el("div", { class: "row" }, el("span", { class: "muted" }, "#" + e.seq + " " + fmtTime(e.time_ms) + " "), el("b", {}, e.kind), " ", el("span", { class: "muted" }, e.actor), " ", what);
}

function renderEvents() {
  const box = el("div", { class: "feed", id: "event-list" }, "Loading…");
  api("GET", "/api/v1/sites/" + SR.site.id + "/events?limit=200").then((d) => {
    box.replaceChildren(...d.events.map(eventLine));
  }).catch((e) => { box.textContent = e.message; });
  return el("div", { class: "card" }, el("h2", {}, "Journal events (newest first, live)"), box);
}

function renderJournal() {
  const out = el("p", { class: "muted" }, "Checks every event's hash chain and every signed checkpoint.");
  const btn = el("button", { onclick: async () => {
    out.textContent = "Verifying…";
    try {
      const r = await api("GET", "/api/v1/sites/" + SR.site.id + "/journal/verify");
      out.className = r.intact ? "ok" : "bad";
      out.textContent = r.intact ? `Intact: ${r.events} events, ${r.checkpoints} signed checkpoints, head ${r.head_hash.slice(0, 16)}…` : `TAMPERED at event ${r.first_bad_seq}: ${r.problem}`;
    } catch (e) { out.className = "bad"; out.textContent = e.message; }
  } }, "Verify journal");
  return el("div", { class: "card" }, el("h2", {}, "Tamper-evident journal"), btn, out);
}

function startFeed() {
  if (SR.feed) SR.feed.close();
  SR.feed = new EventSource("/api/v1/sites/" + SR.site.id + "/events/stream");
  SR.feed.addEventListener("journal", (msg) => {
    const e = JSON.parse(msg.data);
    const p = e.payload || {};
    if (p.device && p.state) {
      SR.devices[p.device] = { device: p.device, state: p.state, since_ms: e.time_ms };
      for (const cell of document.querySelectorAll(`[data-device="${CSS.escape(p.device)}"]`)) cell.replaceChildren(stateBadge(p.device));
    }
    for (const id of ["mini-feed", "event-list"]) {
      const box = document.getElementById(id);
      if (box) { box.prepend(eventLine(e)); while (box.childNodes.length > 300) box.lastChild.remove(); }
    }
    for (const t of SR.tabs) if (t.onEvent) t.onEvent(e);
  });
}

$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  $("#login-error").textContent = "";
  try {
    const r = await api("POST", "/api/v1/login", { username: f.get("username"), password: f.get("password") });
    SR.csrf = r.csrf_token;
    if (r.mfa_required) { $("#login-form").hidden = true; $("#totp-form").hidden = false; return; }
    boot();
  } catch (e) { $("#login-error").textContent = e.message; }
});
$("#totp-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  try { await api("POST", "/api/v1/login/totp", { code: f.get("code") }); boot(); }
  catch (e) { $("#login-error").textContent = e.message; }
});
$("#password-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  try { await api("POST", "/api/v1/me/password", { current_password: f.get("current_password"), new_password: f.get("new_password") }); boot(); }
  catch (e) { $("#password-error").textContent = e.message; }
});
$("#logout").addEventListener("click", async () => {
  try { await api("POST", "/api/v1/logout"); } catch (_) { /* already gone */ }
  location.reload();
});
document.addEventListener("DOMContentLoaded", boot);
