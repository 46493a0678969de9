// Voltline dashboard: commands without reloading and live updates over server-sent events.
// Hand-written, no dependencies (the charts are charts.js's). Pages work without it; this makes them live.
(function () {
  "use strict";

  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));
  const kw = (w) => (w == null ? "—" : (w / 1000).toLocaleString("en", { minimumFractionDigits: 1, maximumFractionDigits: 1 }) + " kW");
  const kwh = (wh) => (wh == null ? "—" : (wh / 1000).toLocaleString("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + " kWh");
  // Times in the operator's zone (the page's data-time-zone), written as the server writes them.
  const TIME_PARTS = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
                       second: "2-digit", hourCycle: "h23", timeZoneName: "longOffset" };
  const localTime = (iso) => {
    const p = {}, timeZone = document.body.dataset.timeZone || "UTC";
    new Intl.DateTimeFormat("en-US", { ...TIME_PARTS, timeZone }).formatToParts(new Date(iso))
      .forEach((part) => { p[part.type] = part.value; });
    // The zone's name as the server writes it (CET, IST, +04), from the page's offset → name map:
    // browsers name zones by locale. An offset the map lacks is written as the offset.
    const m = /^GMT(?:([+-])(\d+)(?::(\d\d))?)?$/.exec(p.timeZoneName) || [];
    const offset = (m[1] || "+") + (m[2] || "0").padStart(2, "0") + ":" + (m[3] || "00");
    const names = JSON.parse(document.body.dataset.zoneNames || "{}");
    const name = names[offset] || offset.replace(":00", "").replace(":", "");
    return `${p.year}-${p.month}-${p.day} ${p.hour === "24" ? "00" : p.hour}:${p.minute}:${p.second} ${name}`;
  };
  // The browser's own zone: sent with the login form (kept while the operator has chosen none)
  // and offered on the account page.
  const browserZone = () => { try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return ""; } };
  const matches = (el, cp, connector) =>
    el.dataset.cp === cp && (connector === undefined || el.dataset.connector === String(connector));

  // -- notices ----------------------------------------------------------------------------

  const TONE = { accepted: "ok", rejected: "bad", error: "bad", timeout: "warn", offline: "warn", invalid: "warn" };
  const LABEL = { accepted: "Accepted", rejected: "Rejected", error: "Failed", timeout: "Timed out", offline: "Offline", invalid: "Not sent" };

  function toasts() {
    let box = document.getElementById("toasts");
    if (!box) {
      box = document.createElement("div");
      box.id = "toasts";
      box.className = "toasts";
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      document.body.appendChild(box);
    }
    return box;
  }

  // The OCPP status of an answer ({label, tone}, read by the server): a badge whose colour means it.
  function answerBadge(answer, badge) {
    badge = badge || document.createElement("span");
    badge.className = "badge badge-" + answer.tone;
    badge.dataset.answerStatus = answer.label;
    badge.textContent = answer.label;
    return badge;
  }

  function notify(kind, message, answer) {
    const note = document.createElement("div");
    const tone = answer && answer.tone !== "muted" ? answer.tone : TONE[kind] || "info";
    note.className = "notice notice-" + tone;
    note.dataset.outcome = kind;
    const text = document.createElement("span");
    if (answer) text.append(answerBadge(answer), " ");
    text.append((LABEL[kind] && !answer ? LABEL[kind] + ": " : "") + message);
    const close = document.createElement("button");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", () => note.remove());
    note.append(text, close);
    toasts().appendChild(note);
    setTimeout(() => note.remove(), kind === "accepted" ? 6000 : 12000);
  }

  // -- commands -----------------------------------------------------------------------------

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-command")) return;
    event.preventDefault();
    // data-confirm-when: ask only when one of the form's values is this one (Inoperative, not Operative).
    const asks = !form.dataset.confirmWhen || Array.from(new FormData(form).values()).includes(form.dataset.confirmWhen);
    if (form.dataset.confirm && asks && !window.confirm(form.dataset.confirm)) return;
    const button = form.querySelector('button[type="submit"], button:not([type])');
    const label = button ? button.textContent : "";
    if (button) { button.disabled = true; button.textContent = "Sending…"; }
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { Accept: "application/json", "X-CSRF-Token": csrf() },
        credentials: "same-origin",
      });
      if (response.status === 401) { window.location.href = "/login?next=" + encodeURIComponent(location.pathname); return; }
      if (!response.ok && response.status !== 403) throw new Error("HTTP " + response.status);
      const outcome = await response.json();
      notify(outcome.kind, outcome.message, outcome.status);
      showAnswer(form, outcome);
      if (outcome.kind === "accepted") scheduleRefresh($$("[data-region]"));
    } catch (error) {
      notify("error", "the server could not be reached (" + error.message + ")");
      serverTrouble();
    } finally {
      if (button) { button.disabled = false; button.textContent = label; }
    }
  });

  // A plain form that asks first (a command form asks in its own handler above).
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.hasAttribute("data-command") || !form.dataset.confirm) return;
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });

  // A form with data-show-answer shows the charge point's whole answer under it.
  function showAnswer(form, outcome) {
    const box = form.querySelector("[data-command-answer]");
    if (!box) return;
    box.hidden = false;
    const badge = box.querySelector("[data-answer-status]");
    if (outcome.status) { answerBadge(outcome.status, badge); badge.hidden = false; }
    else { badge.hidden = true; }
    box.querySelector("[data-answer-payload]").textContent =
      outcome.response ? JSON.stringify(outcome.response, null, 2) : outcome.message;
  }

  // "Send any OCPP command": a valid example payload per action, put in when the action changes
  // (unless the operator has written a payload of their own) or when asked.
  function setUpExamples() {
    $$("select[data-payload-examples]").forEach((select) => {
      const source = document.getElementById(select.dataset.payloadExamples);
      const form = select.form;
      const area = form && form.querySelector("textarea[name=payload]");
      if (!source || !area) return;
      const examples = JSON.parse(source.textContent);
      const example = () => JSON.stringify(examples[select.value] || {}, null, 2);
      let offered = area.value;
      const put = () => { area.value = offered = example(); };
      select.addEventListener("change", () => {
        const own = area.value.trim() && area.value !== offered && area.value.trim() !== "{}";
        if (!own) put();
      });
      const button = form.querySelector("[data-insert-example]");
      if (button) button.addEventListener("click", put);
    });
  }

  // -- the charge point's connection: commands only while it is online ------------------------

  const onlineState = {};

  function setOnline(cp, online) {
    onlineState[cp] = online;
    $$("[data-needs-online]").forEach((el) => {
      if (!matches(el, cp)) return;
      el.disabled = !online;
      if (el.tagName === "BUTTON") el.title = online ? "" : cp + " is offline";
    });
    $$("[data-offline-reason]").forEach((el) => { if (matches(el, cp)) el.hidden = online; });
  }

  // -- live regions: re-rendered by the server, swapped in place -----------------------------

  // At most one page fetch a second, however many events arrive.
  const pending = new Set();
  let timer = null;
  let inFlight = false;
  let lastFetch = 0;

  function scheduleRefresh(regions) {
    regions.forEach((r) => pending.add(r.dataset.region));
    if (!timer) timer = setTimeout(refresh, Math.max(150, 1000 - (Date.now() - lastFetch)));
  }

  async function refresh() {
    timer = null;
    if (inFlight) { timer = setTimeout(refresh, 250); return; }
    lastFetch = Date.now();
    const names = Array.from(pending);
    pending.clear();
    if (!names.length) return;
    inFlight = true;
    try {
      const response = await fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      if (!response.ok || response.redirected) { serverTrouble(); return; }
      serverFine();
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const name of names) {
        const fresh = doc.querySelector('[data-region="' + name + '"]');
        const current = document.querySelector('[data-region="' + name + '"]');
        if (fresh && current && fresh.innerHTML !== current.innerHTML) {
          const open = $$("details[open] summary", current).map((s) => s.textContent);
          current.innerHTML = fresh.innerHTML;
          $$("details summary", current).forEach((s) => { if (open.includes(s.textContent)) s.parentElement.open = true; });
        }
      }
      // The connection as the server tells it now: commands outside the regions follow it.
      $$("[data-connection][data-cp]", doc).forEach((el) => setOnline(el.dataset.cp, el.textContent.trim() === "online"));
      updateTotalPower();
    } catch (error) {
      serverTrouble();  // the next event, or the reconnect, tries again
    } finally {
      inFlight = false;
    }
  }

  // -- live values straight from events -----------------------------------------------------

  function onMeterValues(cp, data, at) {
    $$("[data-live-power]").forEach((el) => {
      if (matches(el, cp, data.connector_id) && data.power_w != null) { el.textContent = kw(data.power_w); el.dataset.w = data.power_w; }
    });
    $$("[data-live-energy]").forEach((el) => {
      if (matches(el, cp, data.connector_id) && data.energy_wh != null) {
        el.textContent = kwh(Math.max(0, data.energy_wh - Number(el.dataset.meterStart || 0)));
      }
    });
    updateTotalPower();
    // The session chart (charts.js) adds the reading to its lines.
    document.dispatchEvent(new CustomEvent("voltline:meter-values", { detail: { reading: data, at } }));
  }

  function updateTotalPower() {
    const total = document.querySelector("[data-total-power]");
    if (!total) return;
    const cells = $$("[data-live-power]").filter((el) => el.dataset.w !== undefined);
    if (cells.length) total.textContent = kw(cells.reduce((sum, el) => sum + Number(el.dataset.w), 0));
  }

  const STATUS_CLASS = {
    Available: "ok", Preparing: "info", Charging: "charging", SuspendedEV: "warn", SuspendedEVSE: "warn",
    Finishing: "info", Reserved: "info", Unavailable: "muted", Faulted: "bad", online: "ok", offline: "muted",
  };

  function setBadge(el, text) {
    const label = el.hasAttribute("data-status") && el.textContent.includes("·") ? el.dataset.connector + " · " + text : text;
    el.textContent = label;
    el.className = "badge badge-" + (STATUS_CLASS[text] || "muted") + " flash";
  }

  function describe(event) {
    const d = event.data || {};
    switch (event.type) {
      case "command": return "answered " + d.action;
      // Told by the command's own event, with its answer: once is enough.
      case "remote_start": case "configuration.changed": case "firmware.requested": case "diagnostics.requested": return null;
      case "charge_point.connected": return "connected";
      case "charge_point.disconnected": return "disconnected";
      case "charge_point.booted": return "booted (" + [d.vendor, d.model].filter(Boolean).join(" ") + ")";
      case "charge_point.registered": return "was registered";
      case "connector.status": return "connector " + d.connector_id + " is " + d.status + (d.error_code && d.error_code !== "NoError" ? " (" + d.error_code + ")" : "");
      case "transaction.started": return "started session #" + d.transaction_id + " on connector " + d.connector_id + " for " + d.id_tag;
      case "transaction.stopped": return "stopped session #" + d.transaction_id + " (" + d.reason + ")";
      case "transaction.charging_state": return "session #" + d.transaction_id + " on EVSE " + d.evse_id + ": " + d.charging_state;
      case "meter_values": return null;
      default: return event.type.replace(/[._]/g, " ") + (d.status && !d.answer ? ": " + d.status : "");
    }
  }

  function addToFeed(event) {
    const d = event.data || {};
    const feed = document.querySelector("[data-feed]");
    const text = describe(event);
    if (!feed || !text) return;
    feed.querySelectorAll(".empty").forEach((el) => el.remove());
    const item = document.createElement("li");
    item.className = "new";
    const time = document.createElement("time");
    time.textContent = localTime(event.at);
    item.appendChild(time);
    item.append(" ");
    if (event.charge_point_id) {
      const link = document.createElement("a");
      link.href = "/charge-points/" + encodeURIComponent(event.charge_point_id);
      link.textContent = event.charge_point_id;
      item.append(link, " ");
    }
    item.append(text);
    if (d.answer) item.append(" ", answerBadge(d.answer));
    feed.prepend(item);
    while (feed.children.length > 100) feed.lastElementChild.remove();
  }

  function onEvent(event) {
    const cp = event.charge_point_id;
    const d = event.data || {};
    if (event.type === "meter_values") onMeterValues(cp, d, event.at);
    if (event.type === "connector.status") {
      // On a 2.0.1 station a connector is named by its EVSE too: connector 1 is on every EVSE.
      const evse = d.evse_id == null ? "" : String(d.evse_id);
      const here = (el) => matches(el, cp, d.connector_id) && (el.dataset.evse || "") === evse;
      $$("[data-status]").forEach((el) => { if (here(el)) setBadge(el, d.status); });
      $$("[data-connector-option]").forEach((el) => { if (here(el)) el.textContent = (el.dataset.optionLabel || d.connector_id) + " (" + d.status + ")"; });
    }
    if (event.type === "charge_point.connected" || event.type === "charge_point.disconnected") {
      const state = event.type.endsWith("disconnected") ? "offline" : "online";
      $$("[data-connection]").forEach((el) => { if (matches(el, cp)) setBadge(el, state); });
      setOnline(cp, state === "online");
    }
    addToFeed(event);
    const family = event.type.split(".")[0];
    const regions = $$("[data-region]").filter((r) => {
      const on = (r.dataset.refreshOn || "").split(/\s+/);
      return on.includes(family) && (!r.dataset.refreshCp || r.dataset.refreshCp === cp);
    });
    if (regions.length) scheduleRefresh(regions);
  }

  // The indicator says "live" only while the event stream is open and the server answers. When
  // the stream drops or the server answers errors it says so, and the stream is opened again
  // (EventSource retries a dropped connection by itself, but gives up on an HTTP error, as a
  // restarted server may answer); once it is back, the page's regions are fetched afresh, since
  // events were missed in between.
  const live = { source: null, open: false, trouble: false, retry: null, delay: 1000, missed: false };

  function showLive() {
    const state = document.getElementById("live-state");
    if (!state) return;
    const ok = live.open && !live.trouble;
    state.textContent = ok ? "live" : "disconnected — reconnecting";
    state.className = "live-dot " + (ok ? "on" : "off");
    state.dataset.state = ok ? "live" : "disconnected";
  }

  function serverTrouble() {
    if (!live.source) return;
    live.trouble = true;
    live.missed = true;
    showLive();
    reopenLive();
  }

  function serverFine() {
    if (!live.trouble) return;
    live.trouble = false;
    showLive();
  }

  function reopenLive() {
    if (live.retry) return;
    if (live.source) live.source.close();
    live.source = null;
    live.open = false;
    live.retry = setTimeout(() => { live.retry = null; openLive(); }, live.delay);
    live.delay = Math.min(live.delay * 2, 5000);
  }

  function openLive() {
    const url = document.body.dataset.live;
    const source = new EventSource(url);
    live.source = source;
    source.onopen = () => {
      live.open = true;
      live.trouble = false;
      live.delay = 1000;
      showLive();
      if (live.missed) {
        live.missed = false;
        scheduleRefresh($$("[data-region]"));
      }
    };
    source.onerror = () => {
      live.open = false;
      live.missed = true;
      showLive();
      // CLOSED: the browser gave up (an HTTP error, a login lost in a restart): try again ourselves.
      if (source.readyState === EventSource.CLOSED) {
        reopenLive();
        checkLogin();
      }
    };
    source.onmessage = (message) => {
      try { onEvent(JSON.parse(message.data)); } catch (error) { /* one bad event must not stop the stream */ }
    };
  }

  // A server restarted without a configured secret key has logged everyone out: say so.
  async function checkLogin() {
    const abort = new AbortController();
    try {
      const response = await fetch(document.body.dataset.live, {
        headers: { Accept: "application/json" }, credentials: "same-origin", signal: abort.signal,
      });
      abort.abort();  // a stream that opened: not needed, the retry opens its own
      const state = document.getElementById("live-state");
      if (response.status === 401 && state) {
        state.textContent = "disconnected — log in again";
        state.dataset.state = "login";
      }
    } catch (error) { /* the server is down: the retry says so */ }
  }

  function connectLive() {
    if (!document.body.dataset.live || !window.EventSource) return;
    openLive();
    window.addEventListener("pagehide", () => { if (live.source) live.source.close(); });
  }

  document.addEventListener("DOMContentLoaded", () => {
    $$("input[data-browser-zone]").forEach((input) => { input.value = browserZone(); });
    $$("button[data-browser-zone]").forEach((button) => {
      const select = document.getElementById(button.dataset.browserZone);
      const zone = browserZone();
      if (!select || !zone || !Array.from(select.options).some((o) => o.value === zone)) return;
      button.hidden = false;
      button.querySelector("[data-zone-name]").textContent = zone;
      button.addEventListener("click", () => { select.value = zone; });
    });
    setUpExamples();
    connectLive();
  });
})();
