/*
 * The developer console the Helpdesk Apps Gateway serves at
 * <prefix>/_console/. It mounts an app with the host SDK
 * (<prefix>/_bridge/host.js) as the Helpdesk would, with a user and a ticket
 * the developer edits; logs the helpdesk:apps messages both ways; and polls
 * <prefix>/_api/console/trace for what the gateway did to each of the app's
 * responses: whether the shim went into the page, and why not.
 *
 * The apps are on this page's origin, under the prefix, so the page frames
 * its own origin only. Nothing an app or the API sends is ever parsed as
 * HTML: the page builds its DOM with textContent and attributes only, with
 * the helpers of base.js.
 */
(function () {
  "use strict";

  const ui = window.HelpdeskUI;
  const { $, $$, el, icon, capitalize, getJSON } = ui;

  const ME = new URL("../_api/me", location.href);
  const APPS = new URL("../_api/apps", location.href);
  const TRACE = new URL("../_api/console/trace", location.href);
  /** The gateway's prefix with a trailing slash, such as "/apps/": this page is at <prefix>/_console/. */
  const ROOT = new URL("../", location.href).pathname;
  const CUSTOM = "custom:"; // the picker's value for a custom URL: no app id has a colon
  const TRACE_EVERY = 1000;
  const TRACE_BASELINE_WAIT = 1500;
  const HANDSHAKE_WAIT = 4000; // after the frame loaded, with no ready
  const LOG_MAX = 1000;
  const DECISIONS_MAX = 500;
  const POPUP_MIN = { width: 240, height: 120 };
  const AUTO_TITLE = "Sent by host.js on its own, in answer to the app (shown by the console)";

  const MODES = { embed: "Embed", popup: "Popup" };
  const PLACEMENTS = { ticket_sidebar: "Ticket sidebar", main_menu: "Main menu" };
  const USER_FIELDS = ["id", "name", "email", "role", "division_id"];
  const TICKET_FIELDS = ["id", "subject", "status", "priority", "requester"];

  /** A realistic open ticket, as the Helpdesk sends it (protocol.d.ts). */
  const SAMPLE_TICKET = {
    id: "t-1042",
    sequential_id: 1042,
    subject: "Order 55-1234 arrived damaged",
    status: "open",
    priority: "high",
    created_at: "2026-11-20T09:12:00Z",
    updated_at: "2026-11-24T08:00:00Z",
    requester: { id: "c-77", name: "Budi Santoso", email: "budi@example.com", phone: "+62 812 0000 0000" },
    assignee: null,
    division: { id: 1, name: "Support" },
    tags: ["shipping", "damaged"],
    form_id: "f-default",
    custom_fields: [{ id: "cf-1", name: "order_number", label: "Order number", type: "text", value: "55-1234" }],
  };

  const state = {
    me: null,
    apps: [],
    inst: null, // the mounted HelpdeskHost instance
    session: null, // the current load: see load()
    sessions: 0,
    trace: { after: 0, timer: 0, stopped: "" },
    handshakeTimer: 0,
    logRows: 0,
    decisionRows: 0,
    stick: new Map(), // scroller → whether it follows new rows
    bound: false,
  };

  // ---- Words ---------------------------------------------------------------

  const pad = (n, w) => String(n).padStart(w || 2, "0");

  /** hh:mm:ss.mmm, local time. */
  function clock(d) {
    if (!(d instanceof Date) || isNaN(d)) return "";
    return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + "." + pad(d.getMilliseconds(), 3);
  }

  function list(words) {
    if (words.length < 2) return words.join("");
    return words.slice(0, -1).join(", ") + " and " + words[words.length - 1];
  }

  /** One line of JSON, for a row's preview. */
  function preview(value) {
    if (value === undefined) return "";
    let s;
    try {
      s = JSON.stringify(value);
    } catch (err) {
      s = String(value);
    }
    return s && s.length > 240 ? s.slice(0, 240) + "…" : s;
  }

  /** Pretty JSON as DOM nodes, coloured by kind. */
  function jsonView(value) {
    const pre = el("pre", { class: "json" });
    writeJSON(pre, value, 0);
    return pre;
  }

  function writeJSON(out, v, depth) {
    const punct = (s) => out.append(el("span", { class: "j-punct", text: s }));
    const inner = "  ".repeat(depth + 1);
    const outer = "  ".repeat(depth);
    if (Array.isArray(v)) {
      if (v.length === 0) return punct("[]");
      punct("[");
      v.forEach((item, i) => {
        out.append("\n" + inner);
        writeJSON(out, item, depth + 1);
        if (i < v.length - 1) punct(",");
      });
      out.append("\n" + outer);
      return punct("]");
    }
    if (v !== null && typeof v === "object") {
      const keys = Object.keys(v);
      if (keys.length === 0) return punct("{}");
      punct("{");
      keys.forEach((k, i) => {
        out.append("\n" + inner, el("span", { class: "j-key", text: JSON.stringify(k) }));
        punct(": ");
        writeJSON(out, v[k], depth + 1);
        if (i < keys.length - 1) punct(",");
      });
      out.append("\n" + outer);
      return punct("}");
    }
    if (typeof v === "string") return out.append(el("span", { class: "j-str", text: JSON.stringify(v) }));
    if (typeof v === "number") return out.append(el("span", { class: "j-num", text: String(v) }));
    return out.append(el("span", { class: "j-lit", text: v === undefined ? "undefined" : String(v) }));
  }

  // ---- Scrolling lists that follow their newest row ------------------------

  function follows(scroller) {
    return state.stick.get(scroller) !== false;
  }

  /** Shows the newest rows of scroller, unless its user scrolled up: then offers to. */
  function toBottom(scroller, fresh) {
    if (follows(scroller)) scroller.scrollTop = scroller.scrollHeight;
    else if (fresh) scroller.jump.hidden = false;
  }

  function watchScroll(scroller, jump) {
    state.stick.set(scroller, true);
    scroller.jump = jump;
    scroller.addEventListener("scroll", () => {
      if (scroller.clientHeight === 0) return;
      const bottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 32;
      state.stick.set(scroller, bottom);
      if (bottom) jump.hidden = true;
    });
    jump.addEventListener("click", () => {
      state.stick.set(scroller, true);
      jump.hidden = true;
      scroller.scrollTop = scroller.scrollHeight;
    });
  }

  // ---- Page states ---------------------------------------------------------

  const FATAL = {
    "signed-out": {
      title: "Sign in to the Helpdesk first",
      text: "The developer console works with your Helpdesk session. Sign in to the Helpdesk in this browser, then try again.",
    },
    failed: {
      title: "The console could not start",
      text: "The gateway did not answer as expected.",
    },
  };

  function showFatal(kind, detail) {
    unload();
    $("#boot").hidden = true;
    $("#console").hidden = true;
    ui.showFatal(FATAL, kind, detail);
    $("#fatal-retry").focus();
  }

  function setStatus(kind, text) {
    $("#status").dataset.state = kind;
    $("#status-text").textContent = text;
  }

  /** Shows a message over the stage; actions are [label, fn] pairs; kind names it. */
  function showAlert(tone, title, text, actions, kind) {
    const box = $("#stage-alert");
    box.dataset.tone = tone;
    box.dataset.kind = kind || "";
    $("#stage-alert-title").textContent = title;
    const body = $("#stage-alert-text");
    body.replaceChildren(text);
    for (const [label, fn] of actions || []) {
      body.append(" ", el("button", { type: "button", class: "link-btn", text: label, onclick: fn }));
    }
    box.hidden = false;
  }

  function hideAlert() {
    $("#stage-alert").hidden = true;
  }

  // ---- The signed-in user and the apps --------------------------------------

  function showUser(me) {
    const user = (me && me.user) || {};
    ui.showWho(user, [user.role ? capitalize(user.role) : "", user.email || ""].filter(Boolean).join(" · "));
    if (me && me.can_manage) {
      const link = $("#settings-link");
      if (typeof me.settings_url === "string" && /^(https?:\/\/|\/)/.test(me.settings_url)) link.href = me.settings_url;
      link.hidden = false;
    }
  }

  async function loadApps() {
    let res;
    try {
      res = await getJSON(APPS);
    } catch (err) {
      fillPicker([], "The apps could not be listed: the gateway did not answer. A custom URL still works.");
      return;
    }
    if (res.status === 401) {
      showFatal("signed-out");
      return;
    }
    if (!res.ok || !res.data) {
      fillPicker([], "The apps could not be listed (" + res.status + "). A custom URL still works.");
      return;
    }
    const apps = Array.isArray(res.data.apps) ? res.data.apps.filter((a) => a && typeof a.id === "string" && a.id) : [];
    fillPicker(apps, apps.length ? "" : "No apps are open to you. Try a custom URL.");
  }

  function fillPicker(apps, problem) {
    state.apps = apps;
    const select = $("#app-select");
    const groups = new Map();
    for (const app of apps) {
      const label = PLACEMENTS[app.placement] || capitalize(String(app.placement || "Other").replace(/_/g, " "));
      if (!groups.has(label)) groups.set(label, []);
      groups.get(label).push(el("option", { value: app.id, text: (app.name || app.id) + " · " + app.id }));
    }
    const nodes = [];
    for (const [label, options] of groups) nodes.push(el("optgroup", { label }, ...options));
    nodes.push(el("optgroup", { label: "Anything else" }, el("option", { value: CUSTOM, text: "Custom URL…" })));
    select.replaceChildren(...nodes);
    select.value = apps.length ? apps[0].id : CUSTOM;
    pickerChanged();
    if (problem) {
      const hint = $("#app-hint");
      hint.textContent = problem;
    }
  }

  function selectedApp() {
    const id = $("#app-select").value;
    return state.apps.find((a) => a.id === id) || null;
  }

  /** An app's manifest URL, absolute. */
  function appURL(app) {
    try {
      return new URL(app.url || ROOT + app.id + "/", location.href);
    } catch (err) {
      return new URL(ROOT + app.id + "/", location.href);
    }
  }

  /** Where an app is: its path on this origin, or the URL of its own host. */
  function appPath(app) {
    const url = appURL(app);
    return url.origin === location.origin ? url.pathname : url.origin + url.pathname;
  }

  function pickerChanged() {
    const custom = $("#app-select").value === CUSTOM;
    const app = selectedApp();
    $("#custom-field").hidden = !custom;
    const hint = $("#app-hint");
    if (app) {
      if (MODES[app.mode]) $("#mode").value = app.mode;
      if (PLACEMENTS[app.placement]) $("#placement").value = app.placement;
      hint.replaceChildren(el("code", { text: appPath(app) }), " · " + (MODES[app.mode] || app.mode || "") + " · " + (PLACEMENTS[app.placement] || app.placement || ""));
    } else {
      hint.textContent = "";
    }
    if (custom) {
      const input = $("#custom-url");
      if (!input.value) input.value = state.apps.length ? appPath(state.apps[0]) : ROOT;
      showCustomError("");
    }
  }

  // ---- Targets and the editors ---------------------------------------------

  /** What the custom URL points to, or a string saying what is wrong with it. */
  function customTarget(raw) {
    const example = ROOT + "crm/";
    if (!raw) return "Enter a path under " + ROOT + ", such as " + example;
    if (!/^(\/|https?:\/\/)/i.test(raw) || raw.startsWith("//")) {
      return "Enter a path that starts with " + ROOT + ", such as " + example;
    }
    let url;
    try {
      url = new URL(raw, location.href);
    } catch (err) {
      return "This is not a URL.";
    }
    if (url.origin !== location.origin) {
      // An app on a host of its own.
      const app = state.apps.find((a) => appURL(a).origin === url.origin);
      if (!app) return "The console frames the apps of this gateway only: enter a path under " + ROOT + ", or a URL on an app's own host.";
      return { src: url.href, path: url.origin + url.pathname, app: app.id, name: app.name || app.id, custom: true };
    }
    if (!url.pathname.startsWith(ROOT)) return "The path must start with " + ROOT + ", the gateway's prefix.";
    const id = url.pathname.slice(ROOT.length).split("/")[0];
    if (!id) return "Add an app's id after " + ROOT + ", such as " + example;
    if (id.startsWith("_")) return ROOT + id + "/ is the gateway's own path, not an app's.";
    return { src: url.pathname + url.search + url.hash, path: url.pathname, app: id, name: id, custom: true };
  }

  function showCustomError(text) {
    const box = $("#custom-error");
    const input = $("#custom-url");
    if (!text) {
      box.hidden = true;
      input.removeAttribute("aria-invalid");
      return;
    }
    box.replaceChildren(icon("warn"), el("span", { text }));
    box.hidden = false;
    input.setAttribute("aria-invalid", "true");
  }

  /** The target of the picker, or null (with the problem shown) when there is none. */
  function readTarget() {
    if ($("#app-select").value === CUSTOM) {
      const t = customTarget($("#custom-url").value.trim());
      if (typeof t === "string") {
        showCustomError(t);
        $("#custom-url").focus();
        return null;
      }
      showCustomError("");
      return t;
    }
    const app = selectedApp();
    if (!app) {
      $("#app-select").focus();
      return null;
    }
    // The manifest's URL is absolute; the console frames an app under the
    // prefix by its path on its own origin, where the gateway serves it,
    // and an app on a host of its own on that host.
    const url = appURL(app);
    const src = url.origin === location.origin ? url.pathname + url.search + url.hash : url.href;
    return { src, path: appPath(app), app: app.id, name: app.name || app.id, icon: app.icon || "" };
  }

  const INVALID = { invalid: true };

  /** Parses an editor: its value, or INVALID; shows what is wrong, or that it is fine. */
  function readEditor(name, focus) {
    const area = $("textarea[name=" + name + "]");
    const text = area.value.trim();
    let value;
    let error = "";
    if (text === "") {
      error = "Enter a JSON object, or null.";
    } else {
      try {
        value = JSON.parse(text);
      } catch (err) {
        error = "Not valid JSON: " + jsonError(err, text);
      }
      if (!error && (value === null ? false : typeof value !== "object" || Array.isArray(value))) {
        error = "Must be a JSON object, or null.";
      }
    }
    const msg = $("#" + name + "-msg");
    if (error) {
      area.setAttribute("aria-invalid", "true");
      msg.dataset.tone = "error";
      msg.replaceChildren(icon("warn"), el("span", { text: error }));
      if (focus) area.focus();
      return INVALID;
    }
    area.removeAttribute("aria-invalid");
    const expected = name === "user" ? USER_FIELDS : TICKET_FIELDS;
    const missing = value === null ? [] : expected.filter((k) => !(k in value));
    if (missing.length) {
      msg.dataset.tone = "warn";
      msg.replaceChildren(icon("info"), el("span", { text: "Valid JSON, but apps expect " + list(missing) + "." }));
    } else {
      msg.dataset.tone = "ok";
      const what = value === null ? (name === "user" ? "null: no user" : "null: no ticket open") : Object.keys(value).length + " fields";
      msg.replaceChildren(icon("check"), el("span", { text: "Valid JSON · " + what }));
    }
    return value;
  }

  /** A JSON.parse error, with its line and column when the engine gives a position only. */
  function jsonError(err, text) {
    const message = String((err && err.message) || err);
    const at = /at position (\d+)/.exec(message);
    if (!at || /line \d+/.test(message)) return message;
    const before = text.slice(0, Number(at[1]));
    const line = before.split("\n").length;
    const column = before.length - before.lastIndexOf("\n");
    return message + " (line " + line + ", column " + column + ")";
  }

  function resetEditor(name) {
    const value = name === "user" ? ordered((state.me && state.me.user) || null, USER_FIELDS) : SAMPLE_TICKET;
    $("textarea[name=" + name + "]").value = JSON.stringify(value, null, 2);
    readEditor(name);
    markChanges();
  }

  /** Pretty-prints an editor's JSON, when it is valid. */
  function formatEditor(name) {
    const value = readEditor(name, true);
    if (value === INVALID) return;
    const area = $("textarea[name=" + name + "]");
    area.value = JSON.stringify(value, null, 2);
    area.scrollLeft = 0;
    area.scrollTop = 0;
  }

  /** obj with the keys of first first, in that order. */
  function ordered(obj, first) {
    if (obj === null || typeof obj !== "object") return obj;
    const out = {};
    for (const k of first) if (k in obj) out[k] = obj[k];
    for (const k of Object.keys(obj)) if (!(k in out)) out[k] = obj[k];
    return out;
  }

  /** Marks the send buttons whose editor differs from what the app was last given. */
  function markChanges() {
    const inst = liveInstance();
    for (const name of ["user", "ticket"]) {
      const button = $(name === "user" ? "#send-user" : "#send-ticket");
      let changed = false;
      if (inst) {
        try {
          changed = JSON.stringify(JSON.parse($("textarea[name=" + name + "]").value)) !== JSON.stringify(inst[name]);
        } catch (err) {
          changed = false;
        }
      }
      button.classList.toggle("has-changes", changed);
      button.title = changed ? "The app has not been sent these changes" : "";
    }
  }

  // ---- The protocol log ----------------------------------------------------

  const DIRECTIONS = {
    "host→app": { cls: "dir-out", label: "host→app" },
    "app→host": { cls: "dir-in", label: "app→host" },
    sdk: { cls: "dir-sdk", label: "SDK" },
    console: { cls: "dir-console", label: "console" },
  };

  /**
   * Adds a row to the log: direction is "host→app", "app→host", "sdk" (an
   * instance event) or "console" (what the console did); opts.note replaces
   * the preview, opts.tag labels the event, opts.tone colours it.
   */
  function logRow(direction, event, payload, opts) {
    const o = opts || {};
    const dir = DIRECTIONS[direction];
    const at = new Date();
    const details = el("details");
    // The payload is drawn when first opened.
    const draw = () => {
      if (details.childElementCount === 1) details.append(jsonView(payload === undefined ? null : payload));
    };
    details.append(el("summary", { onclick: draw },
      el("span", { class: "log-time", text: clock(at) }),
      el("span", { class: "dir " + dir.cls, text: dir.label }),
      el("span", { class: "log-main" },
        el("span", { class: "log-event" }, el("span", { class: "log-name", text: event, title: event }),
          o.tag ? el("span", { class: "log-tag", text: o.tag, title: o.tagTitle }) : null),
        o.note ? el("span", { class: "log-note", text: o.note }) : el("span", { class: "log-preview", text: preview(payload) })),
      icon("chevron", "i log-caret")));
    details.addEventListener("toggle", () => {
      if (details.open) draw();
    });
    const row = el("li", { class: "log-row", "data-event": event, "data-direction": direction, "data-tone": o.tone }, details);
    row.searchText = (direction + " " + dir.label + " " + event + " " + (o.note || "") + " " + preview(payload)).toLowerCase();
    appendLog(row);
    state.logRows++;
    updateLogCount();
    return row;
  }

  /** A line across the log marking a load or a reload. */
  function logDivider(text, strong) {
    appendLog(el("li", { class: "log-divider", "data-divider": "" },
      el("span", { class: "log-time", text: clock(new Date()) }),
      el("span", { class: "log-divider-text" }, text, strong ? el("strong", { text: strong }) : null)));
  }

  function appendLog(row) {
    const log = $("#log");
    log.append(row);
    while (log.childElementCount > LOG_MAX) {
      if (log.firstElementChild.dataset.divider === undefined) state.logRows--;
      log.firstElementChild.remove();
    }
    applyFilter(row);
    $("#log-empty").hidden = true;
    toBottom($("#log-scroll"), true);
  }

  function filterText() {
    return $("#log-filter").value.trim().toLowerCase();
  }

  function applyFilter(row) {
    const q = filterText();
    if (row.dataset.divider !== undefined) {
      row.hidden = q !== "";
      return;
    }
    row.hidden = q !== "" && !row.searchText.includes(q);
  }

  function filterLog() {
    for (const row of $$("#log > li")) applyFilter(row);
    updateLogCount();
  }

  function updateLogCount() {
    const count = $("#log-count");
    count.textContent = String(state.logRows);
    if ($("#tab-log").getAttribute("aria-selected") !== "true" && state.logRows > 0) count.classList.add("is-unread");
    const q = filterText();
    const shown = q ? $$("#log > li.log-row:not([hidden])").length : state.logRows;
    $("#log-shown").textContent = q ? shown + " of " + state.logRows : "";
  }

  function clearLog() {
    $("#log").replaceChildren();
    state.logRows = 0;
    $("#log-empty").hidden = false;
    state.stick.set($("#log-scroll"), true);
    updateLogCount();
  }

  /** A message host.js sent on its own, in answer to the app. */
  function autoReply(event, payload) {
    logRow("host→app", event, payload, { tag: "auto", tagTitle: AUTO_TITLE, tone: event === "helpdesk:error" ? "error" : undefined });
  }

  // ---- Mounting ------------------------------------------------------------

  function liveInstance() {
    return state.inst && !state.inst.destroyed ? state.inst : null;
  }

  function onInstance(inst, name, fn) {
    try {
      inst.on(name, (detail) => {
        try {
          fn(detail || {});
        } catch (err) {
          console.error("[console] handling " + name + " failed:", err);
        }
      });
    } catch (err) {
      /* an SDK without this event */
    }
  }

  async function load() {
    const target = readTarget();
    if (!target) return;
    const user = readEditor("user", true);
    if (user === INVALID) return;
    const ticket = readEditor("ticket", true);
    if (ticket === INVALID) return;
    const host = window.HelpdeskHost;
    if (!host || typeof host.mount !== "function") {
      showAlert("error", "The host SDK did not load", "The console mounts apps with " + ROOT + "_bridge/host.js, which did not load. Reload the page; if it stays, check that the gateway serves it.");
      return;
    }
    unload();
    const session = {
      id: ++state.sessions, target, mode: $("#mode").value, placement: $("#placement").value,
      readyDoc: null, connected: false, main: null, mainRow: null, stalled: false, closed: false,
    };
    state.session = session;
    hideAlert();
    setStatus("loading", "Loading…");
    showTarget(session);
    $("#load").disabled = true;
    try {
      await traceBaseline(session);
    } finally {
      $("#load").disabled = false;
    }
    if (state.session !== session) return;

    const stage = $("#stage");
    $("#stage-empty").hidden = true;
    // Popups open as the Helpdesk shows them: in the SDK's floating window
    // when it has them (openPopup came with them), else in a frame here.
    session.windowed = session.mode === "popup" && typeof host.openPopup === "function";
    let container;
    let frame;
    if (session.windowed) {
      container = el("div", { class: "popup-note" },
        el("span", { class: "stage-empty-art", "aria-hidden": "true" }, icon("window")),
        el("h2", { text: target.name + " is open in a floating window" }),
        el("p", { text: "As the Helpdesk shows popups: drag it by its title bar, resize it from its edges, or make it full screen. It opens where you left it." }),
        el("p", { class: "popup-note-size" }, el("span", { id: "popup-size" })),
        el("button", { type: "button", class: "btn btn-small", id: "popup-close", onclick: closePopup }, icon("close"), "Close the window"));
      frame = container;
    } else if (session.mode === "popup") {
      container = el("div", { class: "popup-body" });
      frame = el("div", { class: "popup-window", role: "dialog", "aria-label": target.name },
        el("div", { class: "popup-titlebar" },
          icon("window"),
          el("span", { class: "popup-title", text: target.name }),
          el("span", { class: "popup-size", id: "popup-size" }),
          el("button", { type: "button", class: "icon-btn", id: "popup-close", "aria-label": "Close the popup", title: "Close the popup", onclick: closePopup }, icon("close"))),
        container);
    } else {
      container = el("div", { class: "frame-embed" });
      frame = container;
    }
    stage.append(frame);

    const options = {
      src: target.src, app: target.app, mode: session.mode, placement: session.placement,
      user, ticket, title: target.name,
    };
    if (session.windowed) {
      options.minSize = POPUP_MIN;
      options.window = true;
      options.avoid = ".topbar";
    } else if (session.mode === "popup") {
      options.minSize = POPUP_MIN;
      options.maxSize = {
        width: Math.max(POPUP_MIN.width, stage.clientWidth - 30),
        height: Math.max(POPUP_MIN.height, stage.clientHeight - 90),
      };
    }
    logDivider("Loaded ", (target.custom ? target.src : target.name) + " · " + MODES[session.mode] + " · " + PLACEMENTS[session.placement]);
    logRow("console", "HelpdeskHost.mount", options);
    let inst;
    try {
      inst = host.mount(container, options);
    } catch (err) {
      frame.remove();
      $("#stage-empty").hidden = false;
      setStatus("error", "Not mounted");
      logRow("console", "HelpdeskHost.mount", { error: String(err && err.message ? err.message : err) }, { tone: "error", note: "mount failed: " + (err && err.message ? err.message : err) });
      showAlert("error", "The app could not be mounted", String(err && err.message ? err.message : err));
      state.session = null;
      return;
    }
    state.inst = inst;
    session.frame = frame;
    onInstance(inst, "message", onAppMessage);
    onInstance(inst, "ready", onReady);
    onInstance(inst, "resize", (d) => {
      logRow("sdk", "resize", d);
      showPopupSize();
    });
    onInstance(inst, "fullscreen", (d) => logRow("sdk", "fullscreen", d));
    onInstance(inst, "error", onSDKError);
    onInstance(inst, "close", (d) => {
      logRow("sdk", "close", d);
      ended("closed", d.reason);
    });
    inst.iframe.addEventListener("load", onFrameLoad);
    showPopupSize();
    $("#reload").disabled = false;
    $("#send-user").disabled = false;
    $("#send-ticket").disabled = false;
    markChanges();
    decisionsDivider(session, "Loaded");
    updateVerdict();
    scheduleTrace(0);
  }

  /** Removes the app, if one is mounted, and stops tracing it. */
  function unload() {
    const inst = state.inst;
    state.inst = null;
    state.session = null;
    clearTimeout(state.handshakeTimer);
    stopTrace("");
    if (inst) {
      try {
        inst.destroy();
      } catch (err) {
        /* gone already */
      }
    }
    for (const node of $$("#stage > :not(#stage-empty)")) node.remove();
    $("#stage-empty").hidden = false;
    $("#reload").disabled = true;
    $("#send-user").disabled = true;
    $("#send-ticket").disabled = true;
    markChanges();
  }

  /** The app is gone (its popup closed): the stage says so, the logs stay. */
  function ended(why, reason) {
    const session = state.session;
    if (!session || session.closed) return;
    session.closed = true;
    const name = session.target.name;
    unload();
    hideAlert();
    setStatus("idle", why === "closed" ? "Closed" : "No app loaded");
    logDivider("Closed ", name + (reason ? " (" + reason + ")" : ""));
    $("#address").classList.remove("is-set");
  }

  /** Closes the popup as its close button does: close() where the SDK has it. */
  function closePopup() {
    const inst = liveInstance();
    if (!inst) return;
    if (typeof inst.close === "function") {
      logRow("console", "close", { reason: "api" }, { note: "instance.close()" });
      inst.close("api"); // emits "close", which ends the session
      if (state.inst === inst) ended("closed");
      return;
    }
    logRow("console", "destroy", undefined, { note: "the popup was closed: instance.destroy()" });
    ended("closed");
  }

  function showTarget(session) {
    const address = $("#address");
    address.classList.add("is-set");
    $("#address-text").textContent = session.target.src;
    address.title = location.origin + session.target.src;
    const chip = $("#stage-mode");
    chip.textContent = MODES[session.mode] + " · " + PLACEMENTS[session.placement];
    chip.hidden = false;
  }

  function showPopupSize() {
    const label = $("#popup-size");
    const inst = liveInstance();
    if (!label || !inst) return;
    const r = inst.iframe.getBoundingClientRect();
    label.textContent = Math.round(r.width) + " × " + Math.round(r.height);
  }

  function reloadApp() {
    const inst = liveInstance();
    const session = state.session;
    if (!inst || !session) return;
    session.connected = false;
    session.readyDoc = null;
    session.main = null;
    session.stalled = false;
    hideAlert();
    setStatus("loading", "Reloading…");
    logDivider("Reloaded ", session.target.name);
    decisionsDivider(session, "Reloaded");
    inst.iframe.src = new URL(session.target.src, location.href).href;
    updateVerdict();
  }

  // ---- What the app and the SDK say ----------------------------------------

  function frameDocument(inst) {
    try {
      return inst.iframe.contentDocument || null;
    } catch (err) {
      return null;
    }
  }

  function onAppMessage(m) {
    const event = String(m.event);
    const payload = m.payload || {};
    logRow("app→host", event, payload, { tone: event === "helpdesk:app:error" ? "error" : undefined });
    const inst = liveInstance();
    if (!inst) return;
    // What host.js answers on its own (its rules: bridgejs/README.md).
    const withId = (p) => {
      if (payload.requestId !== undefined && payload.requestId !== null) p.requestId = payload.requestId;
      return p;
    };
    const refuse = (code, message) => autoReply("helpdesk:error", withId({ event, code, message }));
    switch (event) {
      case "helpdesk:get:context:user":
        autoReply("helpdesk:context:user", withId({ user: inst.user }));
        break;
      case "helpdesk:get:context:ticket":
        if (inst.placement !== "ticket_sidebar") refuse("OUT_OF_SCOPE", "ticket context is only available to ticket_sidebar apps");
        else if (!inst.ticket) refuse("NO_TICKET", "no ticket is open");
        else autoReply("helpdesk:context:ticket", withId({ ticket: inst.ticket }));
        break;
      case "helpdesk:app:resize":
        if (inst.mode !== "popup") refuse("OUT_OF_SCOPE", "resize is only available in popup mode");
        break;
      case "helpdesk:app:fullscreen":
        if (inst.mode !== "popup") refuse("OUT_OF_SCOPE", "fullscreen is only available in popup mode");
        break;
      case "helpdesk:app:error":
        appError(payload);
        break;
      default:
    }
  }

  function onReady(d) {
    const inst = liveInstance();
    const session = state.session;
    if (!inst || !session) return;
    autoReply("helpdesk:context:user", { user: inst.user });
    if (inst.placement === "ticket_sidebar" && inst.ticket) autoReply("helpdesk:context:ticket", { ticket: inst.ticket });
    autoReply("helpdesk:context:app", { appId: d.appId, mode: d.mode });
    logRow("sdk", "ready", d);
    session.connected = true;
    session.stalled = false;
    session.readyDoc = frameDocument(inst);
    clearTimeout(state.handshakeTimer);
    if ($("#stage-alert").dataset.kind === "stalled") hideAlert();
    setStatus("connected", "Connected");
    markChanges();
    updateVerdict();
  }

  function onSDKError(d) {
    logRow("sdk", "error", d, { tone: "error" });
    const session = state.session;
    if (d.source === "handshake" || d.code === "TIMEOUT") {
      // The console's own watchdog, sooner, says more.
      if (session && !session.stalled) stalled(session);
      return;
    }
    if (d.source === "load") {
      setStatus("error", "Not loaded");
      showAlert("error", "The app's frame could not load", d.message ? capitalize(d.message) + "." : "", [], "error");
      return;
    }
    appError(d);
  }

  /** An error the app's frame reported: the gateway's error page, or the SDK. */
  function appError(p) {
    const code = p.code ? String(p.code) : "ERROR";
    const status = p.status ? " (" + p.status + ")" : "";
    setStatus("error", "App error");
    showAlert("error", "The app reported an error: " + code + status, p.message ? capitalize(p.message) + "." : "See the protocol log.",
      [["Show gateway decisions", () => selectTab($("#tab-decisions"), true)]], "error");
  }

  function onFrameLoad() {
    const inst = liveInstance();
    const session = state.session;
    if (!inst || !session) return;
    const doc = frameDocument(inst);
    logRow("console", "iframe load", { url: doc && doc.location ? doc.location.href : inst.iframe.src });
    if (session.connected && doc && doc === session.readyDoc) return; // connected before the page's load event
    session.connected = false;
    if ($("#status").dataset.state !== "error") setStatus("waiting", "Waiting for ready");
    clearTimeout(state.handshakeTimer);
    state.handshakeTimer = setTimeout(() => stalled(session), HANDSHAKE_WAIT);
    updateVerdict();
  }

  function stalled(session) {
    const inst = liveInstance();
    if (!inst || state.session !== session || session.connected) return;
    session.stalled = true;
    if ($("#status").dataset.state !== "error") setStatus("stalled", "Not connected");
    showAlert("warn", "The app has not sent helpdesk:app:ready", diagnose(inst),
      [["Show gateway decisions", () => selectTab($("#tab-decisions"), true)]], "stalled");
    logRow("console", "no ready", undefined, { tone: "warn", note: "no helpdesk:app:ready " + HANDSHAKE_WAIT / 1000 + " s after the page loaded" });
    updateVerdict();
  }

  /** Why a page of this origin sent no ready, as far as the console can see into it. */
  function diagnose(inst) {
    const doc = frameDocument(inst);
    if (!doc) return "The console cannot see into the frame. Gateway decisions show whether the shim went into the page.";
    let shim = null;
    try {
      shim = inst.iframe.contentWindow.HelpdeskApps || null;
    } catch (err) {
      shim = null;
    }
    const tag = doc.querySelector("script[data-helpdesk-origins], script[data-helpdesk-app]");
    if (!tag && !shim) {
      return "The page has no shim: the gateway did not put client.js into it. Gateway decisions say why.";
    }
    if (!shim) {
      return "The page has the shim's tag, but the shim did not run: the page's Content-Security-Policy may block it, or it failed to load. The frame's console says which.";
    }
    const config = shim.config || {};
    if (config.manualReady) return "The page was served with manual ready: it must call HelpdeskApps.ready() itself, and has not.";
    const origins = Array.isArray(config.origins) ? config.origins : [];
    if (origins.length && !origins.includes(location.origin) && !origins.some((o) => String(o).includes("*"))) {
      return "The shim talks only to " + origins.join(", ") + ", not to this console at " + location.origin +
        ". Add 'self' to the gateway's frame_ancestors to use the console.";
    }
    return "The shim is in the page but sent nothing the SDK accepted. The frame's console may say why.";
  }

  // ---- Sending -------------------------------------------------------------

  function sendTicket() {
    const inst = liveInstance();
    if (!inst) return;
    const ticket = readEditor("ticket", true);
    if (ticket === INVALID) return;
    const posted = inst.placement === "ticket_sidebar" && inst.connected && ticket !== null;
    inst.updateTicket(ticket);
    if (posted) {
      logRow("host→app", "helpdesk:ticket:update", { ticket });
    } else {
      const why = inst.placement !== "ticket_sidebar"
        ? "stored, not sent: only ticket_sidebar apps get ticket updates"
        : ticket === null ? "stored (no ticket open), not sent" : "stored, not sent: the app has not sent ready yet";
      logRow("console", "updateTicket", { ticket }, { tone: "warn", note: why });
    }
    markChanges();
  }

  function sendUser() {
    const inst = liveInstance();
    if (!inst) return;
    const user = readEditor("user", true);
    if (user === INVALID) return;
    const posted = inst.connected;
    inst.setUser(user);
    if (posted) logRow("host→app", "helpdesk:context:user", { user });
    else logRow("console", "setUser", { user }, { tone: "warn", note: "stored, not sent: the app gets it with its context once it sends ready" });
    markChanges();
  }

  // ---- Gateway decisions ---------------------------------------------------

  function traceURL(app, after) {
    const url = new URL(TRACE);
    url.search = new URLSearchParams({ app, after: String(after) }).toString();
    return url;
  }

  function setTrace(kind, text) {
    $("#trace-status").dataset.state = kind;
    $("#trace-text").textContent = text;
  }

  /** Learns the trace's newest seq before the app loads, so the table starts with this load. */
  async function traceBaseline(session) {
    const t = state.trace;
    t.stopped = "";
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), TRACE_BASELINE_WAIT);
    try {
      const res = await getJSON(traceURL(session.target.app, t.after), abort.signal);
      if (state.session !== session) return;
      if (!traceAnswered(res)) return;
      const data = res.data;
      if (data && Number.isFinite(data.seq)) t.after = data.seq;
    } catch (err) {
      /* the polls will retry */
    } finally {
      clearTimeout(timer);
    }
  }

  function scheduleTrace(delay) {
    const t = state.trace;
    clearTimeout(t.timer);
    if (t.stopped || !state.session) return;
    t.timer = setTimeout(pollTrace, delay);
  }

  async function pollTrace() {
    const session = state.session;
    const t = state.trace;
    if (!session || t.stopped) return;
    let res;
    try {
      res = await getJSON(traceURL(session.target.app, t.after));
    } catch (err) {
      if (state.session !== session) return;
      setTrace("retry", "Trace unreachable, retrying…");
      scheduleTrace(TRACE_EVERY * 2);
      return;
    }
    if (state.session !== session || t.stopped) return;
    if (!traceAnswered(res)) return;
    const data = res.data;
    if (!data || typeof data !== "object") {
      setTrace("retry", "The trace answered no JSON, retrying…");
      scheduleTrace(TRACE_EVERY * 2);
      return;
    }
    // A gateway that restarted counts from the start again.
    if (Number.isFinite(data.seq) && data.seq < t.after) t.after = 0;
    const entries = (Array.isArray(data.entries) ? data.entries : [])
      .filter((e) => e && typeof e === "object" && Number(e.seq) > t.after)
      .sort((a, b) => a.seq - b.seq);
    for (const e of entries) {
      addDecision(session, e);
      t.after = Math.max(t.after, Number(e.seq));
    }
    if (Number.isFinite(data.seq)) t.after = Math.max(t.after, data.seq);
    setTrace("on", "Live · " + session.target.app + " · every second");
    if (entries.length) updateVerdict();
    scheduleTrace(TRACE_EVERY);
  }

  /** Handles the trace's refusals; true when the answer has entries to read. */
  function traceAnswered(res) {
    if (res.ok) return true;
    switch (res.status) {
      case 401:
        showFatal("signed-out");
        break;
      case 403:
        stopTrace("forbidden");
        break;
      case 404:
        stopTrace("disabled");
        break;
      default:
        setTrace("retry", "The trace answered " + res.status + ", retrying…");
        scheduleTrace(TRACE_EVERY * 2);
    }
    return false;
  }

  const TRACE_STOPS = {
    forbidden: {
      title: "Only admins and owners may use the console",
      text: "The gateway shows its decisions to the Helpdesk's admins and owners only. The protocol log still works.",
      status: "Not allowed",
    },
    disabled: {
      title: "The console is not enabled",
      text: "This gateway keeps no trace of its decisions: the console is turned off in its configuration. The protocol log still works.",
      status: "Not enabled",
    },
  };

  function stopTrace(why) {
    const t = state.trace;
    clearTimeout(t.timer);
    t.timer = 0;
    t.stopped = why || "stopped";
    const stop = TRACE_STOPS[why];
    if (stop) {
      setTrace("error", stop.status);
      const empty = $("#decisions-empty");
      empty.dataset.tone = "error";
      $("#decisions-empty-icon use").setAttribute("href", "#i-lock");
      $("#decisions-empty-title").textContent = stop.title;
      $("#decisions-empty-text").textContent = stop.text;
      empty.hidden = false;
      $("#decisions-table").hidden = state.decisionRows === 0;
      $("#verdict").hidden = true;
      $("#decisions-count").classList.add("is-alert");
    } else {
      setTrace("off", state.decisionRows ? "Stopped" : "Not polling");
    }
  }

  function resetDecisionsEmpty() {
    const empty = $("#decisions-empty");
    delete empty.dataset.tone;
    $("#decisions-empty-icon use").setAttribute("href", "#i-globe");
    $("#decisions-empty-title").textContent = "No requests yet";
    $("#decisions-empty-text").textContent = "The app's requests show here as the gateway serves them, with whether the shim went in, and why not.";
    $("#decisions-count").classList.remove("is-alert");
  }

  function decisionsDivider(session, what) {
    if (TRACE_STOPS[state.trace.stopped]) return;
    resetDecisionsEmpty();
    $("#decisions-empty").hidden = state.decisionRows > 0;
    setTrace("on", "Live · " + session.target.app + " · every second");
    const body = $("#decisions");
    body.append(el("tr", { class: "decision-divider" },
      el("td", { colspan: 3 }, el("div", { class: "log-divider" },
        el("span", { class: "log-time", text: clock(new Date()) }),
        el("span", { class: "log-divider-text" }, what + " ", el("strong", { text: session.target.src }))))));
    $("#decisions-table").hidden = false;
    toBottom($("#decisions-scroll"));
  }

  const STATUS_CLASS = (s) => (s >= 200 && s < 600 ? "code-status code-" + Math.floor(s / 100) : "code-status");
  const isRedirect = (e) => Number(e.status) >= 300 && Number(e.status) < 400;
  const names = (v) => (Array.isArray(v) ? v.filter((x) => x !== null && x !== undefined).map(String) : []);

  /** A path's text, which may break after its slashes only. */
  function breakable(path) {
    const parts = [];
    path.split(/(?<=\/)/).forEach((part, i) => {
      if (i > 0) parts.push(el("wbr"));
      parts.push(part);
    });
    return parts;
  }

  function mediaType(ct) {
    return String(ct || "").split(";")[0].trim();
  }

  function addDecision(session, e) {
    const injected = e.shim === true;
    const status = Number(e.status) || 0;
    const path = String(e.path || "");
    const cookies = names(e.cookies);
    const dropped = names(e.dropped_headers);
    const notes = names(e.notes);
    const tags = [];
    if (e.document) tags.push(el("span", { class: "tag tag-doc", text: isRedirect(e) ? "document · redirect" : "document" }));
    if (mediaType(e.content_type)) tags.push(el("span", { class: "tag", text: mediaType(e.content_type) }));
    if (e.rewrite) tags.push(el("span", { class: "tag", text: "links rewritten" }));
    if (e.location) tags.push(el("span", { class: "tag", title: "Location: " + e.location, text: "→ " + String(e.location).split(" → ").pop() }));
    if (cookies.length) tags.push(el("span", { class: "tag", title: cookies.join("\n"), text: cookies.length === 1 ? "1 cookie" : cookies.length + " cookies" }));
    if (dropped.length) tags.push(el("span", { class: "tag tag-warn", title: "Dropped: " + dropped.join(", "), text: "dropped " + dropped.join(", ") }));
    if (notes.length) tags.push(el("span", { class: "tag", title: notes.join("\n"), text: notes.length === 1 ? "1 note" : notes.length + " notes" }));
    const at = new Date(e.at);
    const row = el("tr", {
      class: "decision" + (e.document ? " is-doc" : ""), tabindex: "0", "aria-expanded": "false",
      "data-seq": e.seq, "data-path": path, "data-status": status, "data-document": e.document ? "true" : "false",
      "data-injected": injected ? "true" : "false",
    },
    el("td", null, el("span", { class: STATUS_CLASS(status), text: status ? String(status) : "—" })),
    el("td", null,
      el("div", { class: "req-line" },
        el("span", { class: "req-method", text: String(e.method || "") }),
        el("span", { class: "req-path", title: path }, ...breakable(path))),
      el("div", { class: "req-meta" }, el("span", { class: "log-time", title: String(e.at || ""), text: clock(at) }), ...tags)),
    el("td", null,
      el("span", { class: "shim " + (injected ? "shim-yes" : "shim-no") }, icon(injected ? "check" : "cross"), injected ? "Injected" : "Not injected"),
      el("span", { class: "reason", text: String(e.body || (injected ? "shim injected" : "no reason given")) }),
      injected && e.shim_as ? el("span", { class: "shim-as", text: "as " + e.shim_as }) : null));
    row.entry = e;
    row.addEventListener("click", () => toggleDecision(row));
    row.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") {
        ev.preventDefault();
        toggleDecision(row);
      }
    });
    const body = $("#decisions");
    body.append(row);
    state.decisionRows++;
    while (state.decisionRows > DECISIONS_MAX) {
      const first = body.querySelector("tr.decision");
      if (first.nextElementSibling && first.nextElementSibling.classList.contains("decision-detail")) first.nextElementSibling.remove();
      first.remove();
      state.decisionRows--;
    }
    // The main document: the page the frame shows, the newest document
    // request of this load that is not a redirect.
    if (e.document && !isRedirect(e)) {
      if (session.mainRow) {
        session.mainRow.classList.remove("is-main");
        delete session.mainRow.dataset.main;
        const old = $(".tag-main", session.mainRow);
        if (old) old.remove();
      }
      session.main = e;
      session.mainRow = row;
      row.classList.add("is-main");
      row.dataset.main = "true";
      const doc = $(".tag-doc", row);
      if (doc) doc.remove(); // the main document is one
      $(".req-meta", row).prepend(el("span", { class: "tag tag-main", text: "Main document" }));
      if (!injected && $("#tab-decisions").getAttribute("aria-selected") !== "true") $("#decisions-count").classList.add("is-alert");
    }
    $("#decisions-empty").hidden = true;
    $("#decisions-table").hidden = false;
    const count = $("#decisions-count");
    count.textContent = String(state.decisionRows);
    if ($("#tab-decisions").getAttribute("aria-selected") !== "true") count.classList.add("is-unread");
    toBottom($("#decisions-scroll"), true);
  }

  function toggleDecision(row) {
    const next = row.nextElementSibling;
    if (next && next.classList.contains("decision-detail")) {
      next.remove();
      row.classList.remove("is-open");
      row.setAttribute("aria-expanded", "false");
      return;
    }
    const e = row.entry;
    const items = [];
    const add = (term, value, prose) => {
      if (value === undefined || value === null || value === "" || (Array.isArray(value) && value.length === 0)) return;
      const dd = Array.isArray(value)
        ? el("dd", null, el("ul", null, ...value.map((v) => el("li", { text: v }))))
        : el("dd", { class: prose ? "prose" : undefined, text: String(value) });
      items.push(el("dt", { text: term }), dd);
    };
    add("Request", String(e.method || "") + " " + String(e.path || ""));
    add("Status", e.status);
    add("At", e.at);
    add("Content type", e.content_type);
    add("Document", e.document ? "yes: a page or a frame loaded it" : "no: a fetch, XHR or subresource", true);
    add("Shim", (e.shim ? "injected" : "not injected") + (e.body ? ": " + e.body : ""), true);
    add("Shim as", e.shim_as, true);
    add("Links rewritten", e.rewrite ? "yes" : "no", true);
    add("Cookies", names(e.cookies));
    add("Dropped headers", names(e.dropped_headers));
    add("Location", e.location);
    add("Notes", names(e.notes));
    add("Seq", e.seq);
    row.after(el("tr", { class: "decision-detail" }, el("td", { colspan: 3 }, el("dl", { class: "detail-list" }, ...items))));
    row.classList.add("is-open");
    row.setAttribute("aria-expanded", "true");
  }

  function clearDecisions() {
    $("#decisions").replaceChildren();
    state.decisionRows = 0;
    $("#decisions-count").textContent = "0";
    $("#decisions-count").classList.remove("is-unread", "is-alert");
    $("#decisions-table").hidden = true;
    if (!state.trace.stopped || !TRACE_STOPS[state.trace.stopped]) resetDecisionsEmpty();
    $("#decisions-empty").hidden = false;
    if (state.session) state.session.mainRow = null;
    state.stick.set($("#decisions-scroll"), true);
  }

  /** The answer to "why is my app not connected?", above the table. */
  function updateVerdict() {
    const box = $("#verdict");
    const session = state.session;
    if (!session || TRACE_STOPS[state.trace.stopped]) {
      box.hidden = true;
      return;
    }
    const main = session.main;
    let tone;
    let title;
    let text;
    let glyph = "info";
    if (!main) {
      tone = "muted";
      title = session.connected ? "Connected" : "Waiting for the app's page";
      text = session.connected
        ? "The app sent helpdesk:app:ready."
        : "The gateway's decisions about " + session.target.src + " show here once it is requested.";
    } else if (main.shim === true) {
      glyph = "check";
      if (session.connected) {
        tone = "ok";
        title = "Shim injected, app connected";
        text = "The gateway put the shim into " + main.path + ", and the app sent helpdesk:app:ready.";
      } else if (session.stalled) {
        tone = "warn";
        glyph = "warn";
        title = "Shim injected, but no ready";
        text = "The gateway put the shim into " + main.path + ", but the app sent no helpdesk:app:ready. See the message over the stage.";
      } else {
        tone = "ok";
        title = "Shim injected";
        text = "The gateway put the shim into " + main.path + ". Waiting for helpdesk:app:ready…";
      }
    } else {
      tone = "bad";
      glyph = "cross";
      title = "No shim in the main document: the app cannot connect";
      text = capitalize(String(main.body || "the gateway gave no reason")) + " (" + main.status + " " + mediaType(main.content_type) + ", " + main.path + ").";
    }
    box.dataset.tone = tone;
    $(".verdict-icon", box).replaceChildren(icon(glyph));
    $("#verdict-title").textContent = title;
    $("#verdict-text").textContent = text;
    box.hidden = false;
  }

  // ---- Tabs ----------------------------------------------------------------

  function selectTab(tab, focus) {
    ui.selectTab(tab, focus);
    $(".count", tab).classList.remove("is-unread", "is-alert");
    const scroller = tab.id === "tab-log" ? $("#log-scroll") : $("#decisions-scroll");
    toBottom(scroller);
  }

  // ---- Start ---------------------------------------------------------------

  async function start() {
    $("#fatal").hidden = true;
    $("#console").hidden = true;
    $("#boot").hidden = false;
    let res;
    try {
      res = await getJSON(ME);
    } catch (err) {
      showFatal("failed", "The gateway could not be reached.");
      return;
    }
    if (res.status === 401) {
      showFatal("signed-out");
      return;
    }
    if (!res.ok || !res.data || typeof res.data !== "object") {
      showFatal("failed", "Asking who you are answered " + res.status + ".");
      return;
    }
    state.me = res.data;
    showUser(state.me);
    if (!$("textarea[name=user]").value) resetEditor("user");
    if (!$("textarea[name=ticket]").value) resetEditor("ticket");
    $("#custom-url").placeholder = ROOT + "crm/orders?id=42";
    $("#custom-hint").replaceChildren("Any path under ", el("code", { text: ROOT }), ". Requests of the app it names are traced.");
    $("#boot").hidden = true;
    $("#console").hidden = false;
    if (!window.HelpdeskHost) {
      showAlert("error", "The host SDK did not load", "The console mounts apps with " + ROOT + "_bridge/host.js, which did not load. Reload the page; if it stays, check that the gateway serves it.");
    }
    await loadApps();
  }

  /** Ctrl+Enter (⌘+Enter) in an editor sends it, or loads the app when none is. */
  function onEditorKey(name) {
    return (ev) => {
      if (ev.key !== "Enter" || !(ev.ctrlKey || ev.metaKey)) return;
      ev.preventDefault();
      if (!liveInstance()) load();
      else if (name === "user") sendUser();
      else sendTicket();
    };
  }

  function bind() {
    $("#controls").addEventListener("submit", (ev) => {
      ev.preventDefault();
      load();
    });
    $("#app-select").addEventListener("change", pickerChanged);
    $("#custom-url").addEventListener("input", () => showCustomError(""));
    $("#reload").addEventListener("click", reloadApp);
    $("#send-user").addEventListener("click", sendUser);
    $("#send-ticket").addEventListener("click", sendTicket);
    $("#reset-user").addEventListener("click", () => resetEditor("user"));
    $("#reset-ticket").addEventListener("click", () => resetEditor("ticket"));
    $("#format-user").addEventListener("click", () => formatEditor("user"));
    $("#format-ticket").addEventListener("click", () => formatEditor("ticket"));
    for (const name of ["user", "ticket"]) {
      const area = $("textarea[name=" + name + "]");
      let timer = 0;
      area.addEventListener("input", () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          readEditor(name);
          markChanges();
        }, 150);
      });
      area.addEventListener("keydown", onEditorKey(name));
    }
    $("#stage-alert-close").addEventListener("click", hideAlert);
    $("#log-filter").addEventListener("input", filterLog);
    $("#log-clear").addEventListener("click", clearLog);
    $("#decisions-clear").addEventListener("click", clearDecisions);
    $("#fatal-retry").addEventListener("click", start);
    ui.bindTabs(selectTab);
    watchScroll($("#log-scroll"), $("#log-jump"));
    watchScroll($("#decisions-scroll"), $("#decisions-jump"));
    window.addEventListener("resize", () => {
      showPopupSize();
      // A list that follows its newest rows keeps them in view.
      for (const scroller of [$("#log-scroll"), $("#decisions-scroll")]) toBottom(scroller, false);
    });
  }

  bind();
  start();
})();
