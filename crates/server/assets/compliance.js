// Strongroom console: the Compliance tab. Findings grouped by status with citations, deadlines with
// overdue items highlighted, forms to record an inspection and an attestation, report downloads.
// No inline scripts or styles (CSP); everything goes through SR.api and SR.el.
"use strict";
(function () {
  const SR = window.SR;
  if (!SR) return;
  const el = (...a) => SR.el(...a);
  const base = () => "/api/v1/sites/" + encodeURIComponent(SR.site.id) + "/compliance";
  const can = (p) => SR.site && SR.site.permissions.includes(p);
  let root = null;
  let refreshTimer = null;

  const STATUS_ORDER = ["fail", "pass", "attested", "not_applicable", "practice"];
  const STATUS_TITLE = {
    fail: "Failing (findings to fix)",
    pass: "Passing",
    attested: "Attested",
    not_applicable: "Not applicable",
    practice: "Practice items (recommendations, not scored)",
  };
  const BADGE = { fail: "state offline", pass: "state online", attested: "state online", not_applicable: "state", practice: "state" };

  function msg(box, text, ok) {
    box.className = ok ? "ok" : "bad";
    box.textContent = text;
  }

  function findingsCard() {
    const body = el("div", {}, "Evaluating…");
    const card = el("div", { class: "card", id: "cmp-findings" }, el("h2", {}, "Findings"), body);
    SR.api("GET", base() + "/findings").then((d) => {
      const s = d.summary;
      const head = el("p", {}, `${d.pack.title} — ${d.pack.law} (effective ${d.pack.effective}). `,
        el("b", { class: s.fail ? "bad" : "ok" }, `${s.fail} failing`),
        `, ${s.pass} passing, ${s.attested} attested, ${s.not_applicable} not applicable, ${s.practice} practice.`);
      const parts = [head];
      for (const st of STATUS_ORDER) {
        const list = d.findings.filter((f) => f.status === st);
        if (!list.length) continue;
        const table = el("table", {}, el("tr", {}, el("th", {}, "ID"), el("th", {}, "Citation"), el("th", {}, "Requirement"), el("th", {}, "Status"), el("th", {}, "Finding")));
        for (const f of list) {
          const detail = el("td", {}, f.summary);
          if (st === "fail" && f.remedy) detail.append(el("div", { class: "muted" }, "Remedy: " + f.remedy));
          table.append(el("tr", {}, el("td", {}, f.requirement_id), el("td", {}, f.citation), el("td", {}, f.title),
            el("td", {}, el("span", { class: BADGE[st] || "state" }, st.replace("_", " "))), detail));
        }
        const det = el("details", st === "fail" ? { open: "" } : {}, el("summary", {}, `${STATUS_TITLE[st]} (${list.length})`), table);
        parts.push(det);
      }
      body.replaceChildren(...parts);
    }).catch((e) => msg(body, e.message, false));
    return card;
  }

  function tasksCard() {
    const body = el("div", {}, "Loading…");
    const card = el("div", { class: "card", id: "cmp-tasks" }, el("h2", {}, "Deadlines"), body);
    SR.api("GET", base() + "/tasks").then((d) => {
      const open = d.tasks.filter((t) => t.state !== "done");
      const overdue = open.filter((t) => t.state === "overdue").length;
      const table = el("table", {}, el("tr", {}, el("th", {}, "Due"), el("th", {}, "Task"), el("th", {}, "Rule"), el("th", {}, "State")));
      for (const t of open) {
        const late = t.state === "overdue";
        const state = late ? `OVERDUE by ${t.days_overdue} day(s)` : t.state === "due_today" ? "due today" : (t.provisional ? "open (date may move)" : "open");
        table.append(el("tr", { class: late ? "bad" : "" },
          el("td", {}, t.due_local_date), el("td", {}, t.title + (t.practice ? " (practice)" : "")),
          el("td", {}, t.requirement_id + " — " + t.citation), el("td", {}, late ? el("b", { class: "bad" }, state) : state)));
      }
      body.replaceChildren(el("p", { class: overdue ? "bad" : "muted" }, `${open.length} open, ${overdue} overdue. Today is ${d.today} (${d.timezone}).`), table);
    }).catch((e) => msg(body, e.message, false));
    return card;
  }

  function inspectionForm() {
    const out = el("div", { class: "muted" });
    const device = el("select", { name: "device_id" });
    const passed = el("select", { name: "passed" }, el("option", { value: "true" }, "passed"), el("option", { value: "false" }, "failed"));
    const by = el("input", { name: "by", placeholder: "tester (default: you)" });
    const notes = el("textarea", { name: "notes", rows: "2", placeholder: "steps, results, deficiencies" });
    SR.api("GET", base() + "/inspections").then((d) => {
      device.replaceChildren(...d.devices.map((x) => el("option", { value: x }, x)));
    }).catch((e) => msg(out, e.message, false));
    const form = el("form", {},
      el("label", {}, "Device", device), el("label", {}, "Result", passed), el("label", {}, "By", by), el("label", {}, "Notes", notes),
      el("button", { type: "submit" }, "Record inspection"), out);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        const r = await SR.api("POST", base() + "/inspections", { device_id: device.value, passed: passed.value === "true", by: by.value || null, notes: notes.value });
        msg(out, `Recorded ${r.id} (journal #${r.seq}).`, true);
        notes.value = "";
        refreshLists();
      } catch (e) { msg(out, e.message, false); }
    });
    return el("div", { class: "card" }, el("h2", {}, "Record an inspection / test"), form);
  }

  function attestationForm() {
    const out = el("div", { class: "muted" });
    const item = el("select", { name: "item" });
    const hint = el("div", { class: "muted" });
    const subject = el("input", { name: "subject", placeholder: "site, a door id, a counter id…" });
    const inPlace = el("select", { name: "in_place" }, el("option", { value: "true" }, "in place and in order"), el("option", { value: "false" }, "NOT in place"));
    const values = el("input", { name: "values", placeholder: "measured values, e.g. width_in=12 height_in=6.5" });
    const choice = el("input", { name: "choice", placeholder: "option chosen (if any)" });
    const approval = el("input", { name: "approval_ref", placeholder: "regulator approval reference (if any)" });
    let items = [];
    const showHint = () => {
      const it = items.find((x) => x.item === item.value);
      hint.textContent = it ? `${it.requirement_id} ${it.citation}: ${it.title} (${it.params})` : "";
    };
    item.addEventListener("change", showHint);
    SR.api("GET", base() + "/attestations").then((d) => {
      items = d.items;
      const seen = new Set();
      item.replaceChildren(...items.filter((x) => !seen.has(x.item) && seen.add(x.item)).map((x) => el("option", { value: x.item }, x.item.replace(/_/g, " "))));
      showHint();
    }).catch((e) => msg(out, e.message, false));
    const form = el("form", {},
      el("label", {}, "Item", item), hint, el("label", {}, "Subject", subject), el("label", {}, "Condition", inPlace),
      el("label", {}, "Measured values", values), el("label", {}, "Choice", choice), el("label", {}, "Approval reference", approval),
      el("button", { type: "submit" }, "Record attestation"), out);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const vals = {};
      for (const part of values.value.split(/[\s,;]+/).filter(Boolean)) {
        const [k, v] = part.split("=");
        if (!k || v === undefined) { msg(out, `"${part}" is not name=value`, false); return; }
        vals[k.trim()] = v.trim();
      }
      try {
        const r = await SR.api("POST", base() + "/attestations", {
          item: item.value, subject: subject.value, in_place: inPlace.value === "true", values: vals,
          choice: choice.value || null, approval_ref: approval.value || null,
        });
        msg(out, `Recorded ${r.id} (journal #${r.seq}).`, true);
        refreshLists();
      } catch (e) { msg(out, e.message, false); }
    });
    return el("div", { class: "card" }, el("h2", {}, "Record an attestation"), form);
  }

  function incidentForm() {
    const out = el("div", { class: "muted" });
    const kind = el("select", { name: "kind" }, ...["theft", "loss", "diversion"].map((k) => el("option", { value: k }, k)));
    const desc = el("textarea", { name: "description", rows: "2" });
    const affected = el("input", { name: "affected", placeholder: "product and currency affected" });
    const areas = el("select", { name: "areas", multiple: "" }, ...(SR.model.area || []).map((a) => el("option", { value: a.id }, a.name)));
    const form = el("form", {}, el("label", {}, "Kind", kind), el("label", {}, "What happened", desc), el("label", {}, "Affected", affected),
      el("label", {}, "Areas involved (cameras covering them are put on legal hold)", areas), el("button", { type: "submit" }, "Open incident"), out);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        const r = await SR.api("POST", base() + "/incidents", {
          kind: kind.value, description: desc.value, affected: affected.value,
          areas: Array.from(areas.selectedOptions).map((o) => o.value),
        });
        const hold = r.hold.placed ? `legal hold #${r.hold.hold_id} on ${r.cameras.join(", ")}` : r.hold.requested ? "legal hold requested (video unavailable)" : "no cameras held";
        msg(out, `Opened ${r.id}; ${hold}.`, true);
        refreshLists();
      } catch (e) { msg(out, e.message, false); }
    });
    return el("div", { class: "card" }, el("h2", {}, "Open an incident"), form);
  }

  function incidentsCard() {
    const body = el("div", {}, "Loading…");
    const card = el("div", { class: "card", id: "cmp-incidents" }, el("h2", {}, "Incidents"), body);
    const manage = can("compliance-manage");
    SR.api("GET", base() + "/incidents").then((d) => {
      if (!d.incidents.length) { body.replaceChildren(el("p", { class: "muted" }, "No incident recorded.")); return; }
      const out = el("div", { class: "muted" });
      const table = el("table", {}, el("tr", {}, el("th", {}, "Incident"), el("th", {}, "Discovered"), el("th", {}, "Secured"), el("th", {}, "Actions"), el("th", {}, "")));
      for (const i of d.incidents.slice().reverse()) {
        const buttons = el("td", {}, el("a", { href: base() + "/reports/incident?format=pdf&id=" + encodeURIComponent(i.id), download: "" }, "PDF"), " ");
        if (manage && !i.closed_ms) {
          if (!i.secured_ms) buttons.append(el("button", { class: "secondary", onclick: async () => {
            try { await SR.api("POST", base() + "/incidents/" + encodeURIComponent(i.id), { secured: true }); refreshLists(); } catch (e) { msg(out, e.message, false); }
          } }, "Mark secured"), " ");
          buttons.append(el("button", { class: "secondary", onclick: async () => {
            const recipient = window.prompt("Share the incident report with (officer, agency):");
            if (!recipient) return;
            try {
              const r = await SR.api("POST", base() + "/incidents/" + encodeURIComponent(i.id) + "/shares", { recipient, ttl_hours: 72 });
              msg(out, `Link for ${recipient}, valid 72 h, every access journaled: ${location.origin}${r.url}`, true);
            } catch (e) { msg(out, e.message, false); }
          } }, "Share with law enforcement"));
        }
        const open = i.actions.filter((a) => !a.done_ms).length;
        table.append(el("tr", {}, el("td", {}, `${i.kind}: ${i.description}`), el("td", {}, new Date(i.discovered_ms).toLocaleString()),
          el("td", {}, i.secured_ms ? new Date(i.secured_ms).toLocaleString() : el("b", { class: "bad" }, "not yet")),
          el("td", {}, `${i.actions.length} (${open} open)`), buttons));
      }
      body.replaceChildren(table, out);
    }).catch((e) => msg(body, e.message, false));
    return card;
  }

  function reportsCard() {
    const reports = [["compliance", "Compliance report"], ["inspection-log", "Inspection log"], ["outage", "Outage reports"], ["vendors", "Approved vendor list"], ["incident", "Incident reports"]];
    const table = el("table", {}, el("tr", {}, el("th", {}, "Report"), el("th", {}, "Download")));
    for (const [id, title] of reports) {
      const links = el("td", {});
      for (const f of ["pdf", "html", "csv"]) {
        links.append(el("a", { href: base() + "/reports/" + id + "?format=" + f, download: "" }, f.toUpperCase()), " ");
      }
      table.append(el("tr", {}, el("td", {}, title), links));
    }
    const access = "/api/v1/sites/" + encodeURIComponent(SR.site.id) + "/access";
    for (const [path, title] of [["/vault-log", "Daily vault log (today)"], ["/surveillance-access", "Surveillance access list"]]) {
      const links = el("td", {});
      for (const f of ["pdf", "html", "csv"]) links.append(el("a", { href: access + path + "?format=" + f, download: "" }, f.toUpperCase()), " ");
      table.append(el("tr", {}, el("td", {}, title), links));
    }
    return el("div", { class: "card" }, el("h2", {}, "Reports"), table);
  }

  function refreshLists() {
    if (!root || !document.body.contains(root)) return;
    const f = document.getElementById("cmp-findings");
    const t = document.getElementById("cmp-tasks");
    const inc = document.getElementById("cmp-incidents");
    if (inc) inc.replaceWith(incidentsCard());
    if (f) f.replaceWith(findingsCard());
    if (t) t.replaceWith(tasksCard());
  }

  function render() {
    const forms = [];
    if (can("compliance-manage")) forms.push(inspectionForm(), attestationForm(), incidentForm());
    root = el("div", {},
      el("div", { class: "grid" }, tasksCard(), reportsCard()),
      findingsCard(),
      incidentsCard(),
      forms.length ? el("div", { class: "grid" }, ...forms) : el("p", { class: "muted" }, "Read-only: your role may view findings and reports."));
    return root;
  }

  const WATCH = /^(compliance\.finding|task\.|inspection\.|attestation\.|incident\.|outage\.|vendor\.)/;
  SR.tabs.push({
    id: "compliance",
    title: "Compliance",
    permission: "reports-view",
    render,
    onEvent: (e) => {
      if (!WATCH.test(e.kind) || SR.tab !== "compliance") return;
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(refreshLists, 1500);
    },
  });
})();
