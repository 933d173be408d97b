// Console tab for access (registers itself in SR.tabs): doors with live state and lockdown,
// the live access feed, occupancy, people and credentials (issue, suspend, revoke), the daily
// vault log with CSV/PDF downloads. Plain JavaScript; no inline styles or handlers (CSP).
"use strict";
(function () {
  const SR = window.SR;
  const el = SR.el;
  const A = { root: null, refreshTimer: null, people: [], areas: [] };

  const base = () => "/api/v1/sites/" + encodeURIComponent(SR.site.id) + "/access";
  const can = (p) => SR.site && SR.site.permissions.includes(p);
  const fmt = (ms) => (ms ? new Date(ms).toLocaleString() : "—");
  const badge = (text, cls) => el("span", { class: "state " + (cls || text) }, text);
  const live = (node) => node && document.body.contains(node);

  function message(box, text, bad) {
    box.className = bad ? "error" : "ok";
    box.textContent = text;
  }

  // Runs an API call from a button/form; shows the outcome in `box`; refreshes on success.
  async function act(box, fn, okText) {
    try {
      const r = await fn();
      if (box) message(box, okText || "Done.", false);
      scheduleRefresh(0);
      return r;
    } catch (e) {
      if (box) message(box, e.message, true);
      return null;
    }
  }

  function section(title, ...children) {
    return el("div", { class: "card" }, el("h2", {}, title), ...children);
  }

  // ----- doors and lockdown -----

  function doorState(d) {
    if (d.forced) return badge("forced", "alarm");
    if (d.held_open) return badge("held open", "alarm");
    if (d.open === true) return badge("open");
    if (d.open === false && d.since_ms) return badge("closed");
    return badge("closed?", "");
  }

  function readerBadge(r) {
    if (!r.osdp) return el("span", { class: "muted" }, r.id + " (api)");
    const l = r.osdp;
    const cls = l.state === "online" ? (l.secure || !l.commissioned ? "online" : "trouble") : l.state;
    const text = r.id + ": " + l.state + (l.secure ? " · secure" : "");
    return el("span", { title: l.detail || "" }, badge(text, cls));
  }

  async function loadDoors(box, lockBox) {
    const d = await SR.api("GET", base() + "/doors");
    const t = el("table", { id: "access-doors" },
      el("tr", {}, el("th", {}, "Door"), el("th", {}, "From → to"), el("th", {}, "State"),
        el("th", {}, "Lock"), el("th", {}, "Readers"), el("th", {}, "Last grant"), el("th", {}, "")));
    for (const door of d.doors) {
      const note = el("span", { class: "muted" });
      const release = can("doors-control")
        ? el("button", { class: "secondary", onclick: () => act(note, () => SR.api("POST", base() + "/doors/" + encodeURIComponent(door.id) + "/release", { reason: "console release" }), "Released") }, "Release")
        : null;
      t.append(el("tr", { "data-door": door.id },
        el("td", {}, door.name, door.locked_down ? el("div", {}, badge("locked down", "alarm")) : null),
        el("td", {}, door.from + " → " + door.to),
        el("td", {}, doorState(door), door.last_alarm ? el("div", { class: "muted" }, door.last_alarm + " " + fmt(door.last_alarm_ms)) : null),
        el("td", {}, door.locked === null || door.locked === undefined ? "—" : badge(door.locked ? "locked" : "unlocked", door.locked ? "locked" : "open")),
        el("td", {}, ...door.readers.map((r) => el("div", {}, readerBadge(r)))),
        el("td", {}, fmt(door.last_grant_ms)),
        el("td", {}, release, note)));
    }
    box.replaceChildren(t);
    lockBox.replaceChildren();
    if (d.lockdown) {
      lockBox.append(badge("LOCKDOWN since " + fmt(d.lockdown.since_ms), "alarm"), " ", el("span", { class: "muted" }, d.lockdown.reason || ""));
    } else {
      lockBox.append(el("span", { class: "muted" }, "No lockdown in force."));
    }
    if (can("doors-control")) {
      const out = el("span", {});
      const reason = el("input", { placeholder: "reason", "aria-label": "lockdown reason" });
      const btn = d.lockdown
        ? el("button", { onclick: () => act(out, () => SR.api("POST", base() + "/lockdown/end", { reason: reason.value }), "Lockdown ended") }, "End lockdown")
        : el("button", { id: "lockdown-start", onclick: () => { if (confirm("Lock down every restricted door?")) act(out, () => SR.api("POST", base() + "/lockdown", { reason: reason.value || "console" }), "Lockdown started"); } }, "Start lockdown");
      lockBox.append(reason, btn, " ", out);
    }
  }

  // ----- occupancy -----

  async function loadOccupancy(box) {
    const d = await SR.api("GET", base() + "/occupancy");
    const t = el("table", {}, el("tr", {}, el("th", {}, "Area"), el("th", {}, "Inside"), el("th", {}, "Capacity")));
    for (const a of d.areas) {
      if (a.kind === "exterior" || a.kind === "parking") continue;
      t.append(el("tr", {},
        el("td", {}, a.name),
        el("td", {}, a.at_capacity ? badge(String(a.count), "alarm") : String(a.count), a.people && a.people.length ? el("div", { class: "muted" }, a.people.join(", ")) : null),
        el("td", {}, a.capacity ?? "—")));
    }
    box.replaceChildren(t);
  }

  // ----- people and credentials -----

  function credRow(c) {
    const out = el("span", { class: "muted" });
    const btn = (action, label) => el("button", { class: "secondary", onclick: () => act(out, () => SR.api("POST", base() + "/credentials/" + encodeURIComponent(c.id) + "/" + action, { reason: "console" }), label) }, action);
    const buttons = [];
    if (can("credentials-manage")) {
      if (c.status === "active") buttons.push(btn("suspend", "Suspended"));
      if (c.status === "suspended") buttons.push(btn("reinstate", "Reinstated"));
      if (c.status !== "revoked") buttons.push(btn("revoke", "Revoked"));
    }
    const what = c.kind.replace("_", "+") + (c.card_last4 ? " …" + c.card_last4 : "");
    return el("div", { "data-credential": c.id }, el("b", {}, c.id), " ", what, " ", badge(c.status, c.status === "active" ? "online" : "offline"), " ", ...buttons, " ", out);
  }

  function personRow(p) {
    const out = el("div", { class: "muted" });
    const areas = Object.entries(p.authorizations || {}).map(([a, auth]) => a + (auth.schedule && auth.schedule.type !== "always" ? " (" + auth.schedule.type.replace("_", " ") + ")" : ""));
    const status = el("select", { "aria-label": "status of " + p.id },
      ...["active", "suspended", "terminated"].map((s) => { const o = el("option", { value: s }, s); if (s === p.status) o.selected = true; return o; }));
    status.addEventListener("change", () => {
      if (status.value === "terminated" && !confirm("Terminate " + p.name + "? Every credential is revoked and this is final.")) { status.value = p.status; return; }
      act(out, () => SR.api("POST", base() + "/people/" + encodeURIComponent(p.id) + "/status", { status: status.value, reason: "console" }), "Status changed");
    });
    return el("tr", { "data-person": p.id },
      el("td", {}, el("b", {}, p.name), el("div", { class: "muted" }, p.id + " · " + p.category.replace("_", " ") + (p.agent_id ? " · badge " + p.agent_id : ""))),
      el("td", {}, can("people-manage") && p.status !== "terminated" ? status : badge(p.status, p.status === "active" ? "online" : "offline"), out),
      el("td", {}, areas.join(", ") || "—", p.location ? el("div", { class: "muted" }, "in " + p.location) : null),
      el("td", {}, ...(p.credentials || []).map(credRow)));
  }

  function field(label, input) { return el("label", {}, label, input); }

  function addPersonForm() {
    const out = el("p", {});
    const id = el("input", { required: "", placeholder: "e.g. a-smith", pattern: "[A-Za-z0-9_.:\\-]{1,64}" });
    const name = el("input", { required: "" });
    const cat = el("select", {}, ...["agent", "visitor", "vendor", "service_professional", "law_enforcement"].map((c) => el("option", { value: c }, c.replace("_", " "))));
    const badgeNo = el("input", { placeholder: "state agent ID" });
    const areas = el("input", { placeholder: "areas, comma separated (e.g. sales, back)" });
    const form = el("form", { id: "add-person" }, field("Id", id), field("Name", name), field("Category", cat), field("Agent badge", badgeNo), field("Areas (always)", areas), el("button", { type: "submit" }, "Add person"), out);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const ok = await act(out, () => SR.api("POST", base() + "/people", { id: id.value.trim(), name: name.value, category: cat.value, roles: cat.value === "agent" ? ["agent"] : [], agent_id: badgeNo.value || null }), "Added");
      if (!ok) return;
      for (const a of areas.value.split(",").map((x) => x.trim()).filter(Boolean)) {
        await act(out, () => SR.api("POST", base() + "/people/" + encodeURIComponent(id.value.trim()) + "/authorizations", { area: a, schedule: { type: "always" } }), "Added and authorised");
      }
      form.reset();
    });
    return form;
  }

  function issueForm() {
    const out = el("p", {});
    const person = el("select", { required: "" }, ...A.people.filter((p) => p.status !== "terminated").map((p) => el("option", { value: p.id }, p.name + " (" + p.id + ")")));
    const kind = el("select", {}, el("option", { value: "card" }, "card"), el("option", { value: "pin" }, "PIN"), el("option", { value: "card_pin" }, "card + PIN"), el("option", { value: "duress_pin" }, "duress PIN"));
    const card = el("input", { autocomplete: "off", placeholder: "card number" });
    const pin = el("input", { type: "password", autocomplete: "new-password", inputmode: "numeric", placeholder: "4-8 digits" });
    const form = el("form", { id: "issue-credential" }, field("Person", person), field("Kind", kind), field("Card number", card), field("PIN", pin), el("button", { type: "submit" }, "Issue credential"), out);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const k = kind.value;
      const body = { kind: k };
      if (k === "card" || k === "card_pin") body.card = card.value;
      if (k !== "card") body.pin = pin.value;
      const r = await act(out, () => SR.api("POST", base() + "/people/" + encodeURIComponent(person.value) + "/credentials", body), "Issued");
      if (r && r.credential) message(out, "Issued " + r.credential.id + (r.credential.card_last4 ? " (card …" + r.credential.card_last4 + ")" : "") + ".", false);
      card.value = ""; pin.value = "";
    });
    return form;
  }

  async function loadPeople(box) {
    const d = await SR.api("GET", base() + "/people");
    A.people = d.people;
    const t = el("table", { id: "access-people" }, el("tr", {}, el("th", {}, "Person"), el("th", {}, "Status"), el("th", {}, "Areas"), el("th", {}, "Credentials")));
    for (const p of d.people) t.append(personRow(p));
    const forms = el("div", { class: "grid" });
    if (can("people-manage")) forms.append(el("div", {}, el("h3", {}, "Add a person"), addPersonForm()));
    if (can("credentials-manage")) forms.append(el("div", {}, el("h3", {}, "Issue a credential"), el("p", { class: "muted" }, "Card numbers and PINs are hashed at once; they are never shown again."), issueForm()));
    box.replaceChildren(t, forms);
  }

  // ----- vault log -----

  function vaultLog() {
    // The first load asks for the site's today (the site's time zone, not the browser's).
    const date = el("input", { type: "date", "aria-label": "vault log date" });
    const out = el("div", {});
    const links = el("span", {});
    const load = async () => {
      const q = date.value ? "?date=" + encodeURIComponent(date.value) : "";
      try {
        const d = await SR.api("GET", base() + "/vault-log" + q);
        if (!date.value) date.value = d.date;
        const dq = "?date=" + encodeURIComponent(d.date);
        links.replaceChildren(
          el("a", { href: base() + "/vault-log" + dq + "&format=csv", download: "" }, "CSV"), " · ",
          el("a", { href: base() + "/vault-log" + dq + "&format=pdf", download: "" }, "PDF"), " · ",
          el("a", { href: base() + "/vault-log" + dq + "&format=html", target: "_blank", rel: "noopener" }, "HTML"));
        const t = el("table", { id: "vault-log" }, el("tr", {}, el("th", {}, "Time in"), el("th", {}, "Agents"), el("th", {}, "Method"), el("th", {}, "Time out"), el("th", {}, "Source")));
        for (const e of d.entries) {
          t.append(el("tr", {},
            el("td", {}, e.time_in_local),
            el("td", {}, ...e.people.map((p) => el("div", {}, (p.name || p.person) + (p.agent_id ? " (" + p.agent_id + ")" : "") + (p.escort ? ", escorted by " + p.escort : "")))),
            el("td", {}, ...e.people.map((p) => el("div", {}, p.method))),
            el("td", {}, ...e.people.map((p) => el("div", {}, p.time_out_local || "—"))),
            el("td", {}, e.source + (e.dual ? " · two-person" : ""))));
        }
        out.replaceChildren(d.entries.length ? t : el("p", { class: "muted" }, "No vault entries on " + d.date + "."));
      } catch (e) { out.replaceChildren(el("p", { class: "error" }, e.message)); }
    };
    date.addEventListener("change", load);
    load();
    return section("Daily vault log", el("div", {}, date, " ", links), out);
  }

  // ----- live feed -----

  const FEED_KINDS = ["access.", "door.", "lockdown.", "credential.", "person.", "area.", "vendor.", "keypad.", "alarm.duress", "alarm.unknown_card", "alarm.pin_brute_force", "health.reader"];
  const inFeed = (kind) => FEED_KINDS.some((k) => kind.startsWith(k));

  function feedLine(e) {
    const p = e.payload || {};
    const bits = [];
    for (const key of ["person", "reader", "door", "method", "reason", "credential", "state", "dual_with", "escort"]) if (p[key] !== undefined) bits.push(key + "=" + p[key]);
    const cls = e.kind === "access.denied" || e.kind === "door.forced" || e.kind.startsWith("alarm.") ? "bad" : e.kind === "access.granted" ? "ok" : "";
    return el("div", { class: "row" }, el("span", { class: "muted" }, fmt(e.time_ms) + " "), el("b", { class: cls }, e.kind), " ", bits.join(" "));
  }

  function feed() {
    const box = el("div", { class: "feed", id: "access-feed" }, "Loading…");
    Promise.all(["access.", "door."].map((k) => SR.api("GET", "/api/v1/sites/" + encodeURIComponent(SR.site.id) + "/events?limit=60&kind=" + k)))
      .then(([a, d]) => {
        const all = a.events.concat(d.events).sort((x, y) => y.seq - x.seq).slice(0, 80);
        box.replaceChildren(...all.map(feedLine));
      })
      .catch((e) => { box.textContent = e.message; });
    return section("Live access events", box);
  }

  // ----- the tab -----

  function refresh() {
    if (!live(A.root)) return;
    const r = A.root;
    if (r.doors) loadDoors(r.doors, r.lock).catch((e) => { r.doors.textContent = e.message; });
    if (r.occ) loadOccupancy(r.occ).catch((e) => { r.occ.textContent = e.message; });
    if (r.people) loadPeople(r.people).catch((e) => { r.people.textContent = e.message; });
  }

  function scheduleRefresh(ms) {
    clearTimeout(A.refreshTimer);
    A.refreshTimer = setTimeout(refresh, ms === undefined ? 400 : ms);
  }

  function render() {
    const lock = el("div", { id: "lockdown-bar" });
    const doors = el("div", {}, "Loading…");
    const occ = el("div", {}, "Loading…");
    const root = el("div", { id: "access-tab" });
    root.doors = doors; root.lock = lock; root.occ = occ;
    root.append(el("div", { class: "card" }, el("h2", {}, "Doors"), lock, doors));
    const grid = el("div", { class: "grid" });
    if (can("events-view")) grid.append(feed());
    grid.append(section("Occupancy", occ));
    root.append(grid);
    if (can("people-manage")) {
      const people = el("div", {}, "Loading…");
      root.people = people;
      root.append(section("People and credentials", people));
    }
    if (can("reports-view")) root.append(vaultLog());
    A.root = root;
    scheduleRefresh(0);
    return root;
  }

  function onEvent(e) {
    if (!live(A.root)) return;
    if (inFeed(e.kind)) {
      const box = document.getElementById("access-feed");
      if (box) { box.prepend(feedLine(e)); while (box.childNodes.length > 200) box.lastChild.remove(); }
    }
    if (inFeed(e.kind) || e.kind === "device.state") scheduleRefresh();
  }

  SR.tabs.push({ id: "access", title: "Access", permission: "site-view", render, onEvent });
})();
