// Strongroom console: the Video tab. Cameras with their state, a live still refreshed every second
// while the tab is open, recorded stills (JPG/BMP/GIF), playback of a time range in a <video>
// element (seek, frame steps), a per-camera timeline of recorded spans, gaps and the alarm/access
// events of the areas the camera covers, evidence export with a reason, and legal holds.
// Every picture shown here is journaled by the server before it is sent.
"use strict";
(function () {
  const V = { camera: null, cams: [], liveTimer: null, liveUrl: null, stillUrl: null, range: null, timeline: null, els: {} };

  function base() { return "/api/v1/sites/" + encodeURIComponent(SR.site.id) + "/video"; }
  function can(p) { return SR.site && SR.site.permissions.includes(p); }
  function pad(n) { return String(n).padStart(2, "0"); }
  // <input type="datetime-local"> value in local time, with seconds.
  function toLocalInput(ms) {
    const d = new Date(ms);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }
  function fromLocalInput(v) { const t = new Date(v).getTime(); return Number.isFinite(t) ? t : null; }
  function fmt(ms) { return ms == null ? "—" : new Date(ms).toLocaleString(); }
  function badge(state) { return SR.el("span", { class: "state " + (state || "") }, state || "unknown"); }
  function msg(node, text, cls) { node.className = cls || "muted"; node.textContent = text; }

  // Fetch an image (or other binary) with the session cookie; returns a blob URL.
  async function fetchBlob(url) {
    const res = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (!res.ok) {
      let m = res.status + " " + res.statusText;
      try { const j = await res.json(); if (j && j.message) m = j.message; } catch (_) { /* not JSON */ }
      throw new Error(m);
    }
    return { url: URL.createObjectURL(await res.blob()), frameMs: Number(res.headers.get("x-frame-time-ms")) || null };
  }

  function stopLive() {
    if (V.liveTimer) { clearInterval(V.liveTimer); V.liveTimer = null; }
  }

  async function refreshLive() {
    const img = V.els.live;
    if (!img || !img.isConnected) { stopLive(); return; }
    if (document.hidden || !V.camera || V.liveBusy) return;
    V.liveBusy = true;
    try {
      const r = await fetchBlob(base() + "/cameras/" + encodeURIComponent(V.camera) + "/still?format=jpg&refresh=1");
      if (V.liveUrl) URL.revokeObjectURL(V.liveUrl);
      V.liveUrl = r.url;
      img.src = r.url;
      msg(V.els.liveInfo, "Live · " + fmt(r.frameMs));
    } catch (e) {
      msg(V.els.liveInfo, "Live picture unavailable: " + e.message, "bad");
    } finally { V.liveBusy = false; }
  }

  function startLive() {
    stopLive();
    if (!can("video-live")) return;
    refreshLive();
    V.liveTimer = setInterval(refreshLive, 1000);
  }

  async function loadCameras() {
    const d = await SR.api("GET", base() + "/cameras");
    V.cams = d.cameras;
    if (!V.camera && V.cams.length) V.camera = V.cams[0].id;
    renderCameraList();
  }

  function renderCameraList() {
    const t = V.els.camTable;
    if (!t) return;
    t.replaceChildren(SR.el("tr", {}, SR.el("th", {}, "Camera"), SR.el("th", {}, "State"), SR.el("th", {}, "Recorded to"), SR.el("th", {}, "")));
    for (const c of V.cams) {
      const dev = SR.devices[c.id];
      const state = c.state === "online" || c.state === "offline" ? c.state : (dev ? dev.state : c.state);
      t.append(SR.el("tr", { class: c.id === V.camera ? "selected" : "" },
        SR.el("td", {}, c.name, " ", SR.el("span", { class: "muted" }, c.id)),
        SR.el("td", { "data-camera-state": c.id }, badge(state)),
        SR.el("td", { class: "muted" }, fmt(c.recorded_to_ms)),
        SR.el("td", {}, SR.el("button", { class: c.id === V.camera ? "" : "secondary", onclick: () => selectCamera(c.id) }, c.id === V.camera ? "Selected" : "Select"))));
    }
  }

  function selectCamera(id) {
    V.camera = id;
    renderCameraList();
    V.els.camTitle.textContent = camName(id);
    loadTimeline();
    if (V.els.player) { V.els.player.removeAttribute("src"); V.els.player.load(); }
    startLive();
  }

  function camName(id) { const c = V.cams.find((x) => x.id === id); return c ? c.name + " (" + id + ")" : id; }

  function currentRange() {
    const from = fromLocalInput(V.els.from.value), to = fromLocalInput(V.els.to.value);
    if (from == null || to == null || to <= from) throw new Error("choose a start before the end");
    return { from, to };
  }

  function setRange(from, to) {
    V.els.from.value = toLocalInput(from);
    V.els.to.value = toLocalInput(to);
  }

  async function loadTimeline() {
    if (!V.camera) return;
    let r;
    try { r = currentRange(); } catch (e) { msg(V.els.tlInfo, e.message, "bad"); return; }
    try {
      V.timeline = await SR.api("GET", base() + "/cameras/" + encodeURIComponent(V.camera) + "/timeline?from_ms=" + r.from + "&to_ms=" + r.to);
      drawTimeline();
      const t = V.timeline;
      msg(V.els.tlInfo, t.segments.length + " segments, " + t.gaps.length + " gaps" + (t.open_gap_from_ms ? ", DOWN since " + fmt(t.open_gap_from_ms) : "") + ", " + t.events.length + " events. Click the bar to play from there.");
      renderEventList();
    } catch (e) { msg(V.els.tlInfo, e.message, "bad"); }
  }

  function drawTimeline() {
    const c = V.els.canvas, t = V.timeline;
    if (!c || !t) return;
    const w = c.clientWidth || 800, h = 56;
    c.width = w; c.height = h;
    const g = c.getContext("2d");
    const x = (ms) => Math.round((ms - t.from_ms) / (t.to_ms - t.from_ms) * w);
    g.fillStyle = "#2a3542"; g.fillRect(0, 18, w, 20);
    g.fillStyle = "#3fb68b";
    for (const s of t.spans) g.fillRect(x(s.from_ms), 18, Math.max(1, x(s.to_ms) - x(s.from_ms)), 20);
    g.fillStyle = "#e5534b";
    for (const s of t.gaps) g.fillRect(x(s.from_ms), 18, Math.max(2, x(s.to_ms) - x(s.from_ms)), 20);
    if (t.open_gap_from_ms) g.fillRect(x(t.open_gap_from_ms), 18, Math.max(2, w - x(t.open_gap_from_ms)), 20);
    g.fillStyle = "#d29922";
    for (const e of t.events) g.fillRect(x(e.time_ms), 40, 2, 14);
    g.fillStyle = "#8b98a5"; g.font = "11px system-ui";
    g.fillText(new Date(t.from_ms).toLocaleTimeString(), 2, 12);
    const end = new Date(t.to_ms).toLocaleTimeString();
    g.fillText(end, w - g.measureText(end).width - 2, 12);
  }

  function renderEventList() {
    const box = V.els.tlEvents, t = V.timeline;
    if (!box || !t) return;
    box.replaceChildren(...t.gaps.map((gp) => SR.el("div", { class: "row bad" }, "gap " + fmt(gp.from_ms) + " → " + fmt(gp.to_ms) + " (" + gp.reason + ")")),
      ...t.events.slice(-50).reverse().map((e) => SR.el("div", { class: "row" },
        SR.el("button", { class: "secondary", onclick: () => playAt(e.time_ms - 10000, e.time_ms + 20000) }, "▶"), " ",
        SR.el("span", { class: "muted" }, fmt(e.time_ms) + " "), SR.el("b", {}, e.kind), " ",
        Object.entries(e.payload || {}).slice(0, 3).map(([k, v]) => k + "=" + (typeof v === "object" ? JSON.stringify(v) : v)).join(" "))));
  }

  function playAt(from, to) {
    setRange(from, to);
    play();
  }

  function play() {
    let r;
    try { r = currentRange(); } catch (e) { msg(V.els.playInfo, e.message, "bad"); return; }
    const p = V.els.player;
    const q = "?from_ms=" + r.from + "&to_ms=" + r.to;
    const cam = encodeURIComponent(V.camera);
    V.pieces = null;
    SR.api("GET", base() + "/cameras/" + cam + "/playback.json" + q).then((d) => { V.pieces = d.pieces; }).catch(() => { V.pieces = null; });
    p.src = base() + "/cameras/" + cam + "/playback.mp4" + q;
    V.playFrom = r.from;
    msg(V.els.playInfo, "Playing " + camName(V.camera) + " from " + fmt(r.from) + " to " + fmt(r.to));
    p.play().catch(() => { /* autoplay may be refused; the controls remain */ });
    loadTimeline();
  }

  function step(seconds) {
    const p = V.els.player;
    if (!p || !p.src) return;
    p.pause();
    p.currentTime = Math.max(0, Math.min((p.duration || 0), p.currentTime + seconds));
  }

  async function stillAt() {
    const at = fromLocalInput(V.els.stillAt.value);
    if (at == null) { msg(V.els.stillInfo, "choose a time", "bad"); return; }
    stillAtMs(at);
  }

  async function stillAtMs(at) {
    const f = V.els.stillFmt.value;
    try {
      const r = await fetchBlob(base() + "/cameras/" + encodeURIComponent(V.camera) + "/still?at_ms=" + at + "&format=" + f);
      if (V.stillUrl) URL.revokeObjectURL(V.stillUrl);
      V.stillUrl = r.url;
      V.els.still.src = r.url;
      V.els.still.hidden = false;
      const name = V.camera + "-" + new Date(r.frameMs || at).toISOString().replace(/[:.]/g, "") + "." + f;
      V.els.stillLink.replaceChildren(SR.el("a", { href: r.url, download: name }, "Save " + name));
      msg(V.els.stillInfo, "Frame of " + fmt(r.frameMs));
    } catch (e) { msg(V.els.stillInfo, e.message, "bad"); }
  }

  // Wall-clock time of the frame on screen (the MP4 skips gaps, so map through its pieces).
  function playerWallMs() {
    const p = V.els.player;
    if (!p || !p.src || !V.pieces || !V.pieces.length) return null;
    const media = p.currentTime * 1000;
    let piece = V.pieces[0];
    for (const x of V.pieces) if (x.media_start_ms <= media) piece = x;
    return piece.wall_start_ms + Math.round(media - piece.media_start_ms);
  }

  function stillFromPlayer() {
    const at = playerWallMs();
    if (at == null) { msg(V.els.stillInfo, "play a range first", "bad"); return; }
    // Datetime inputs hold whole seconds; ask for the exact instant.
    V.els.stillAt.value = toLocalInput(at);
    stillAtMs(at);
  }

  async function exportRange() {
    const out = V.els.exportInfo;
    let r;
    try { r = currentRange(); } catch (e) { msg(out, e.message, "bad"); return; }
    const reason = V.els.reason.value.trim();
    if (!reason) { msg(out, "a reason is required (it is signed into the bundle)", "bad"); return; }
    msg(out, "Exporting…");
    try {
      const d = await SR.api("POST", base() + "/exports", { camera: V.camera, from_ms: r.from, to_ms: r.to, reason });
      out.className = "ok";
      out.replaceChildren("Bundle " + d.id + " written to " + d.path + " (key " + d.key_fingerprint.slice(0, 16) + "…): ",
        ...d.files.map((f) => SR.el("span", {}, SR.el("a", { href: f.url, download: d.id + "-" + f.name }, f.name), " ")));
      V.els.reason.value = "";
      loadExports();
    } catch (e) { msg(out, e.message, "bad"); }
  }

  async function loadExports() {
    const box = V.els.exports;
    if (!box) return;
    try {
      const d = await SR.api("GET", base() + "/exports");
      box.replaceChildren(...d.exports.slice(0, 20).map((x) => SR.el("div", { class: "row" },
        SR.el("b", {}, x.id), " ", x.camera, " ", fmt(x.from_ms), " → ", fmt(x.to_ms), " ", SR.el("span", { class: "muted" }, "by " + x.exported_by + ": " + x.reason), " ",
        SR.el("a", { href: base() + "/exports/" + encodeURIComponent(x.id) + "/video.mp4", download: x.id + "-video.mp4" }, "video.mp4"), " ",
        SR.el("a", { href: base() + "/exports/" + encodeURIComponent(x.id) + "/manifest.json", download: x.id + "-manifest.json" }, "manifest"), " ",
        SR.el("button", { class: "secondary", onclick: (ev) => verifyExport(x.id, ev.target) }, "Verify bundle"))));
    } catch (e) { msg(box, e.message, "bad"); }
  }

  async function verifyExport(id, button) {
    const out = SR.el("span", { class: "muted" }, " verifying…");
    button.after(out);
    try {
      const r = await SR.api("POST", base() + "/exports/" + encodeURIComponent(id) + "/verify");
      out.className = r.intact ? "ok" : "bad";
      out.textContent = r.intact ? " intact (signed by the site key " + r.key_fingerprint.slice(0, 16) + "…)" : " NOT INTACT: " + r.problem;
    } catch (e) { out.className = "bad"; out.textContent = " " + e.message; }
  }

  async function loadHolds() {
    const t = V.els.holds;
    if (!t) return;
    try {
      const d = await SR.api("GET", base() + "/holds");
      V.holdNeedsApproval = d.release_needs_approval;
      t.replaceChildren(SR.el("tr", {}, SR.el("th", {}, "#"), SR.el("th", {}, "Cameras"), SR.el("th", {}, "Window"), SR.el("th", {}, "Reason / reference"), SR.el("th", {}, "State")));
      for (const h of d.holds.slice().reverse()) {
        const state = h.active
          ? (can("holds-manage") ? SR.el("button", { class: "secondary", onclick: () => releaseHold(h.id) }, "Release…") : "active")
          : SR.el("span", { class: "muted" }, "released " + fmt(h.released_ms) + " by " + h.released_by + (h.release_approval ? " (" + h.release_approval + ")" : ""));
        t.append(SR.el("tr", {}, SR.el("td", {}, h.id), SR.el("td", {}, h.all_cameras ? "all" : h.cameras.join(", ")),
          SR.el("td", {}, fmt(h.from_ms) + " → " + fmt(h.to_ms)), SR.el("td", {}, h.reason + (h.reference ? " / " + h.reference : "")), SR.el("td", {}, state)));
      }
    } catch (e) { t.replaceChildren(SR.el("tr", {}, SR.el("td", { class: "bad" }, e.message))); }
  }

  async function placeHold() {
    const out = V.els.holdInfo;
    let r;
    try { r = currentRange(); } catch (e) { msg(out, e.message, "bad"); return; }
    const reason = V.els.holdReason.value.trim();
    if (!reason) { msg(out, "a reason is required", "bad"); return; }
    const cameras = V.els.holdAll.checked ? [] : [V.camera];
    try {
      const d = await SR.api("POST", base() + "/holds", { cameras, from_ms: r.from, to_ms: r.to, reason, reference: V.els.holdRef.value.trim() });
      msg(out, "Hold #" + d.id + " placed: this footage is kept until the hold is released.", "ok");
      V.els.holdReason.value = ""; V.els.holdRef.value = "";
      loadHolds();
    } catch (e) { msg(out, e.message, "bad"); }
  }

  async function releaseHold(id) {
    const q = V.holdNeedsApproval
      ? "Department approval reference for releasing hold #" + id + " (required):"
      : "Closure evidence or the investigating entity's notice for hold #" + id + ":";
    const ref = window.prompt(q, "");
    if (ref === null) return;
    try {
      await SR.api("POST", base() + "/holds/" + id + "/release", { approval_reference: ref });
      msg(V.els.holdInfo, "Hold #" + id + " released.", "ok");
    } catch (e) { msg(V.els.holdInfo, e.message, "bad"); }
    loadHolds();
  }

  function render() {
    stopLive();
    V.els = {};
    const E = SR.el;
    const now = Date.now();
    V.els.camTable = E("table", {});
    V.els.camTitle = E("h2", {}, "Camera");
    // Live.
    V.els.live = E("img", { alt: "live picture", class: "video-live" });
    V.els.liveInfo = E("p", { class: "muted" }, can("video-live") ? "Connecting…" : "Your role has no live view.");
    // Range picker shared by timeline, playback, export and holds.
    V.els.from = E("input", { type: "datetime-local", step: "1" });
    V.els.to = E("input", { type: "datetime-local", step: "1" });
    setRange(now - 10 * 60000, now);
    V.els.canvas = E("canvas", { class: "video-timeline", width: "800", height: "56" });
    V.els.canvas.addEventListener("click", (ev) => {
      const t = V.timeline; if (!t) return;
      const rect = V.els.canvas.getBoundingClientRect();
      const at = t.from_ms + (ev.clientX - rect.left) / rect.width * (t.to_ms - t.from_ms);
      playAt(Math.round(at), Math.min(Math.round(at) + 5 * 60000, t.to_ms));
    });
    V.els.tlInfo = E("p", { class: "muted" });
    V.els.tlEvents = E("div", { class: "feed" });
    V.els.player = E("video", { controls: "", preload: "metadata", playsinline: "" });
    V.els.playInfo = E("p", { class: "muted" }, "Choose a range and press Play; the player seeks and steps within it.");
    V.els.player.addEventListener("timeupdate", () => {
      const at = playerWallMs();
      if (at != null) msg(V.els.playInfo, "On screen: " + new Date(at).toLocaleString() + "." + String(at % 1000).padStart(3, "0") + " · " + camName(V.camera));
    });
    V.els.player.addEventListener("error", () => {
      if (V.els.player.getAttribute("src")) msg(V.els.playInfo, "Nothing playable in that range (no recording, or not allowed).", "bad");
    });
    // Still at a time.
    V.els.stillAt = E("input", { type: "datetime-local", step: "1" });
    V.els.stillAt.value = toLocalInput(now - 60000);
    V.els.stillFmt = E("select", {}, E("option", { value: "jpg" }, "JPG"), E("option", { value: "bmp" }, "BMP"), E("option", { value: "gif" }, "GIF"));
    V.els.still = E("img", { alt: "recorded still", class: "video-live" });
    V.els.still.hidden = true;
    V.els.stillInfo = E("p", { class: "muted" });
    V.els.stillLink = E("p", {});
    // Export.
    V.els.reason = E("input", { type: "text", placeholder: "Why (e.g. police request 2026-114, theft report)", maxlength: "1000" });
    V.els.exportInfo = E("p", { class: "muted" });
    V.els.exports = E("div", { class: "feed" });
    // Holds.
    V.els.holds = E("table", {});
    V.els.holdReason = E("input", { type: "text", placeholder: "Reason (incident, investigation, proceeding)", maxlength: "1000" });
    V.els.holdRef = E("input", { type: "text", placeholder: "Reference (incident or case number)", maxlength: "200" });
    V.els.holdAll = E("input", { type: "checkbox" });
    V.els.holdInfo = E("p", { class: "muted" });

    // Fit pictures to their card (CSSOM properties are allowed by the page's CSP).
    for (const m of [V.els.live, V.els.still, V.els.player, V.els.canvas]) m.style.maxWidth = "100%";
    for (const m of [V.els.live, V.els.player, V.els.canvas]) m.style.display = "block";
    V.els.holdAll.style.display = "inline"; V.els.holdAll.style.width = "auto";
    V.els.canvas.style.width = "100%";
    V.els.player.style.width = "100%";
    V.els.canvas.style.cursor = "pointer";
    const rangeBox = E("div", { class: "grid" }, E("label", {}, "From", V.els.from), E("label", {}, "To", V.els.to));
    const root = E("div", {},
      E("div", { class: "grid" },
        E("div", { class: "card" }, E("h2", {}, "Cameras"), V.els.camTable),
        E("div", { class: "card" }, V.els.camTitle, V.els.live, V.els.liveInfo)),
      E("div", { class: "card" }, E("h2", {}, "Recorded video"), rangeBox,
        E("p", {}, E("button", { onclick: play }, "Play"), " ", E("button", { class: "secondary", onclick: loadTimeline }, "Show timeline"), " ",
          E("button", { class: "secondary", onclick: () => { const n = Date.now(); setRange(n - 10 * 60000, n); loadTimeline(); } }, "Last 10 min"), " ",
          E("button", { class: "secondary", onclick: () => { const n = Date.now(); setRange(n - 3600000, n); loadTimeline(); } }, "Last hour"), " ",
          E("button", { class: "secondary", onclick: () => { const n = Date.now(); setRange(n - 86400000, n); loadTimeline(); } }, "Last day")),
        V.els.canvas, V.els.tlInfo, V.els.player,
        E("p", {}, E("button", { class: "secondary", onclick: () => step(-10) }, "−10 s"), " ",
          E("button", { class: "secondary", onclick: () => step(-1 / 15) }, "◀ frame"), " ",
          E("button", { class: "secondary", onclick: () => step(1 / 15) }, "frame ▶"), " ",
          E("button", { class: "secondary", onclick: () => step(10) }, "+10 s"), " ",
          E("button", { class: "secondary", onclick: stillFromPlayer }, "Still of this frame")),
        V.els.playInfo, E("h2", {}, "Gaps and events of the covered areas"), V.els.tlEvents),
      E("div", { class: "grid" },
        E("div", { class: "card" }, E("h2", {}, "Still photo"), E("label", {}, "At", V.els.stillAt), E("label", {}, "Format", V.els.stillFmt),
          E("button", { onclick: stillAt }, "Get still"), V.els.stillInfo, V.els.still, V.els.stillLink),
        can("video-export") ? E("div", { class: "card" }, E("h2", {}, "Evidence export"),
          E("p", { class: "muted" }, "Exports the selected camera over the range above as a signed bundle (MP4 + manifest + signature); verify it anywhere with `strongroom evidence verify`."),
          E("label", {}, "Reason", V.els.reason), E("button", { onclick: exportRange }, "Export"), V.els.exportInfo, V.els.exports) : E("div", { class: "card" }, E("h2", {}, "Evidence bundles"), V.els.exports)),
      E("div", { class: "card" }, E("h2", {}, "Legal holds"), V.els.holds,
        can("holds-manage") ? E("div", {}, E("h2", {}, "Place a hold on the range above"), E("label", {}, "Reason", V.els.holdReason), E("label", {}, "Reference", V.els.holdRef),
          E("label", {}, V.els.holdAll, " all cameras (otherwise the selected one)"), E("button", { onclick: placeHold }, "Place hold")) : null,
        V.els.holdInfo));

    loadCameras().then(() => {
      if (V.camera) { V.els.camTitle.textContent = camName(V.camera); loadTimeline(); startLive(); }
      else V.els.camTable.replaceChildren(E("tr", {}, E("td", { class: "muted" }, "No cameras in the site file.")));
    }).catch((e) => { V.els.camTable.replaceChildren(E("tr", {}, E("td", { class: "bad" }, e.message))); });
    loadHolds();
    loadExports();
    return root;
  }

  function onEvent(e) {
    const p = e.payload || {};
    if (!V.els.camTable || !V.els.camTable.isConnected) { stopLive(); return; }
    if ((e.kind.startsWith("health.camera_") || e.kind === "video.camera_recording") && p.device) {
      const c = V.cams.find((x) => x.id === p.device);
      if (c && p.state) { c.state = p.state; renderCameraList(); }
    }
    if (e.kind === "video.gap" && p.camera === V.camera) loadTimeline();
    if (e.kind.startsWith("video.hold_")) loadHolds();
  }

  document.addEventListener("visibilitychange", () => { if (!document.hidden && V.liveTimer) refreshLive(); });
  SR.tabs.push({ id: "video", title: "Video", permission: "video-recorded", render, onEvent });
})();
