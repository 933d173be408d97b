// Strongroom console: the operator alarm queue (acknowledge, notes, resolve), arming per
// partition, zone states, and a panic button for agents. Silent alarms (visibility "monitoring")
// are listed only for users the server shows them to, and never make a sound.
"use strict";
(function () {
  const A = { alarms: [], arming: null, error: "", audio: null, soundOn: false };

  function base() { return "/api/v1/sites/" + encodeURIComponent(SR.site.id) + "/alarms"; }
  function can(p) { return SR.site && SR.site.permissions.includes(p); }
  function fmt(ms) { return ms ? new Date(ms).toLocaleString() : "—"; }
  function ago(ms) {
    if (!ms) return "";
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    return s < 60 ? s + " s ago" : s < 3600 ? Math.round(s / 60) + " min ago" : Math.round(s / 3600) + " h ago";
  }

  // A short beep (WebAudio). Browsers allow sound only after a user gesture: the operator turns
  // it on once with the "Sound on" button.
  function beep() {
    if (!A.soundOn) return;
    try {
      if (!A.audio) A.audio = new (window.AudioContext || window.webkitAudioContext)();
      const ctx = A.audio;
      if (ctx.state === "suspended") ctx.resume();
      for (let i = 0; i < 3; i++) {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.type = "square";
        osc.frequency.value = 880;
        gain.gain.value = 0.08;
        osc.connect(gain).connect(ctx.destination);
        const t = ctx.currentTime + i * 0.3;
        osc.start(t);
        osc.stop(t + 0.18);
      }
    } catch (_) { /* no audio device: the banner still shows */ }
  }
  // Only audible, non-silent alarms sound.
  function shouldSound(p) { return p && p.audible === true && p.visibility !== "monitoring"; }

  async function refresh() {
    try {
      const [q, arm] = await Promise.all([SR.api("GET", base()), SR.api("GET", base() + "/arming")]);
      A.alarms = q.alarms;
      A.arming = arm;
      A.error = "";
    } catch (e) { A.error = e.message; }
    redraw();
  }

  function redraw() {
    const box = document.getElementById("alarm-tab");
    if (box) box.replaceChildren(...content());
  }

  async function act(fn) {
    try { await fn(); A.error = ""; } catch (e) { A.error = e.message; }
    await refresh();
  }

  function alarmRow(a) {
    const id = a.alarm_id;
    const note = SR.el("input", { placeholder: "note", "aria-label": "note for " + id });
    const outcome = SR.el("select", { "aria-label": "outcome for " + id },
      ...(a.test ? ["drill"] : ["real", "false"]).map((o) => SR.el("option", { value: o }, o)));
    const buttons = [];
    if (can("alarms-handle")) {
      if (!a.acked_ms) buttons.push(SR.el("button", { onclick: () => act(() => SR.api("POST", base() + "/" + encodeURIComponent(id) + "/ack", { note: note.value })) }, "Acknowledge"));
      buttons.push(SR.el("button", { class: "secondary", onclick: () => { if (note.value.trim()) act(() => SR.api("POST", base() + "/" + encodeURIComponent(id) + "/notes", { note: note.value })); } }, "Add note"));
      buttons.push(outcome, SR.el("button", { class: "secondary", onclick: () => act(() => SR.api("POST", base() + "/" + encodeURIComponent(id) + "/resolve", { outcome: outcome.value, notes: note.value })) }, "Resolve"));
    }
    const notes = (a.notes || []).concat((a.operator_notes || []).map((n) => n.note + " (" + n.by + ")"));
    const silent = a.visibility === "monitoring";
    return SR.el("tr", { class: a.acked_ms ? "" : "bad" },
      SR.el("td", {}, SR.el("b", {}, a.alarm_type), a.test ? " (drill)" : "", silent ? SR.el("span", { class: "state" }, "silent") : ""),
      SR.el("td", {}, a.sensor || "—", a.area ? " / " + a.area : ""),
      SR.el("td", {}, fmt(a.raised_ms), SR.el("div", { class: "muted" }, ago(a.raised_ms))),
      SR.el("td", {}, a.acked_ms ? "ack " + (a.acked_by || "") : "NEW", a.restored_ms ? SR.el("div", { class: "muted" }, "zone restored") : "", a.dispatched_ms ? SR.el("div", { class: "muted" }, "dispatched: " + a.dispatch_routes.join(", ")) : ""),
      SR.el("td", {}, ...notes.map((n) => SR.el("div", { class: "muted" }, n))),
      SR.el("td", {}, note, ...buttons));
  }

  function armingCard() {
    const arm = A.arming;
    if (!arm) return SR.el("div", { class: "card" }, "Loading…");
    const parts = SR.el("table", {}, SR.el("tr", {}, SR.el("th", {}, "Partition"), SR.el("th", {}, "State"), SR.el("th", {}, "")));
    for (const p of arm.partitions) {
      const btns = can("arming-control") ? ["away", "stay", "disarm"].map((m) => SR.el("button", { class: "secondary", onclick: () => act(() => SR.api("POST", base() + "/arming", { partition: p.partition, mode: m })) }, m === "disarm" ? "Disarm" : "Arm " + m)) : [];
      parts.append(SR.el("tr", {}, SR.el("td", {}, String(p.partition)), SR.el("td", {}, SR.el("span", { class: "state " + (p.state === "disarmed" ? "normal" : "alarm") }, p.state || "unknown")), SR.el("td", {}, ...btns)));
    }
    const zones = SR.el("table", {}, SR.el("tr", {}, SR.el("th", {}, "Zone"), SR.el("th", {}, "Type"), SR.el("th", {}, "Area"), SR.el("th", {}, "State")));
    for (const z of arm.zones) {
      const drill = can("alarms-handle") ? SR.el("button", { class: "secondary", onclick: () => act(() => SR.api("POST", base() + "/drill", { sensor: z.sensor })) }, "Drill") : "";
      zones.append(SR.el("tr", {}, SR.el("td", {}, (z.name || z.sensor) + " (" + z.zone + ")"), SR.el("td", {}, z.zone_type.replace(/_/g, " ")), SR.el("td", {}, z.area), SR.el("td", {}, SR.el("span", { class: "state " + z.state }, z.state), " ", drill)));
    }
    return SR.el("div", { class: "card" }, SR.el("h2", {}, "Arming"), parts, SR.el("h2", {}, "Zones"), zones);
  }

  function content() {
    const out = [];
    if (A.error) out.push(SR.el("p", { class: "error", role: "alert" }, A.error));
    const head = SR.el("div", { class: "card" }, SR.el("h2", {}, "Open alarms (" + A.alarms.length + ")"),
      SR.el("button", { class: "secondary", onclick: () => { A.soundOn = !A.soundOn; if (A.soundOn) beep(); redraw(); } }, A.soundOn ? "Sound off" : "Sound on"));
    const table = SR.el("table", {}, SR.el("tr", {}, SR.el("th", {}, "Alarm"), SR.el("th", {}, "Where"), SR.el("th", {}, "Raised"), SR.el("th", {}, "Handling"), SR.el("th", {}, "Notes"), SR.el("th", {}, "")));
    for (const a of A.alarms) table.append(alarmRow(a));
    if (!A.alarms.length) table.append(SR.el("tr", {}, SR.el("td", { colspan: "6", class: "muted" }, "No open alarms.")));
    head.append(table);
    out.push(head, armingCard());
    return out;
  }

  function render() {
    const box = SR.el("div", { id: "alarm-tab" }, ...content());
    refresh();
    return box;
  }

  let timer = null;
  function onEvent(e) {
    if (!e || !e.kind) return;
    if (e.kind === "alarm.raised" && shouldSound(e.payload)) beep();
    if (e.kind.startsWith("alarm.") || e.kind.startsWith("arming.") || e.kind === "device.state" || e.kind.startsWith("health.")) {
      if (!document.getElementById("alarm-tab")) return;
      clearTimeout(timer);
      timer = setTimeout(refresh, 200);
    }
  }

  SR.tabs.push({ id: "alarms", title: "Alarms", permission: "alarms-view", render, onEvent });

  // Agents (and anyone else allowed) get a panic button; it says only that the alarm was raised.
  function renderPanic() {
    const msg = SR.el("p", { role: "status" });
    const btn = SR.el("button", {
      onclick: async () => {
        try {
          const r = await SR.api("POST", base() + "/panic", {});
          msg.textContent = r.raised ? "Panic alarm raised at " + new Date().toLocaleTimeString() : "Panic alarm already active";
        } catch (e) { msg.textContent = e.message; }
      },
    }, "Raise panic alarm");
    return SR.el("div", { class: "card narrow" }, SR.el("h2", {}, "Panic"), SR.el("p", {}, "Raises an audible panic alarm for the monitoring desk."), btn, msg);
  }
  SR.tabs.push({ id: "panic", title: "Panic", permission: "panic-raise", render: renderPanic });
})();
