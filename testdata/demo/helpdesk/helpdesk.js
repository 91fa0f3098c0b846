// The demo Helpdesk: an agent workspace (an inbox, a ticket, the ticket's
// apps) whose menus follow the gateway's manifest of the apps the signed-in
// user may open (/apps/_api/apps). It mounts each app with host.js:
// main-menu apps from buttons in the header (in a popup, or in a panel over
// the workspace), ticket-sidebar apps in the aside, next to the ticket, which
// they receive as context and as helpdesk:ticket:update when it changes.
// Popups are host.js's floating windows (HelpdeskHost.openPopup): dragged by
// their title bar, resized from their edges, closed with Escape or their
// close button, and reopened where the user left them.
/* global HelpdeskHost, DEMO_TICKETS */
"use strict";

// DEVELOPMENT ONLY: the secret below is the demo's, from Caddyfile.example.
const DEMO_SECRET = "helpdesk-apps-demo-secret-DEVELOPMENT-ONLY";
const MANIFEST_URL = "/apps/_api/apps";
const ME_URL = "/apps/_api/me";
const SETTINGS_URL = "/apps/_admin/";
const REFRESH_EVERY = 5000;
const POPUP_MIN = { width: 320, height: 160 };
const POPUP_MAX_WIDTH = 900;
// host.js opens a new window this far from the viewport's bottom-right
// corner (bridgejs/README.md), with a title bar this tall above the app
// (TITLE_HEIGHT in bridgejs/host.js).
const WINDOW_INSET = 24;
const WINDOW_TITLE_BAR = 40;
// The gap the popup keeps, by default, to the ticket and the sidebar's tabs.
const POPUP_GAP = 8;
const STATUSES = ["open", "pending", "on hold", "solved"];
const PRIORITIES = ["low", "normal", "high", "urgent"];
const TEAMMATES = [
  { id: "u-rina-wijaya", name: "Rina Wijaya", email: "rina.wijaya@example.com" },
  { id: "u-tom-becker", name: "Tom Becker", email: "tom.becker@example.com" },
];
const enc = new TextEncoder();
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const $ = (sel) => document.querySelector(sel);

let user = null;
let apps = []; // the manifest's apps, in its order
let manifestKey = "[]";
// The mounted apps: each is { app, instance }, or null.
let sidebar = null;
let popup = null;
let panel = null;
let sidebarChoice = null; // the id of the sidebar app last chosen
let refreshing = false;
let again = false;
let filter = "open";
let logged = 0;

// The tickets, and the one open in the ticket view.
const entries = DEMO_TICKETS;
let current = entries[0];

async function signToken(claims) {
  const head = b64url(enc.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const body = b64url(enc.encode(JSON.stringify(claims)));
  const key = await crypto.subtle.importKey("raw", enc.encode(DEMO_SECRET),
    { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const sig = await crypto.subtle.sign("HMAC", key, enc.encode(head + "." + body));
  return head + "." + body + "." + b64url(sig);
}

// ---- Small helpers -------------------------------------------------------------

function el(tag, cls, text) {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text !== undefined) n.textContent = text;
  return n;
}

function cap(s) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function initials(name) {
  const parts = String(name || "?").trim().split(/\s+/);
  return (parts[0].charAt(0) + (parts.length > 1 ? parts[parts.length - 1].charAt(0) : "")).toUpperCase();
}

// hue gives a name a stable colour for its avatar.
function hue(name) {
  let h = 0;
  for (const c of String(name)) h = (h * 31 + c.charCodeAt(0)) % 360;
  return h;
}

function avatar(node, name) {
  node.textContent = initials(name);
  node.style.setProperty("--h", hue(name));
}

function ago(iso) {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return "just now";
  if (s < 3600) return Math.floor(s / 60) + " min ago";
  if (s < 86400) return Math.floor(s / 3600) + " h ago";
  const d = Math.floor(s / 86400);
  return d === 1 ? "yesterday" : d + " days ago";
}

function clock(iso) {
  return new Date(iso).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

function orderNumber(ticket) {
  const f = ticket.custom_fields.find((c) => c.name === "order_number");
  return f ? f.value : "";
}

function log(app, text) {
  const li = el("li");
  li.append(el("b", "", app), ": " + text);
  li.title = new Date().toLocaleTimeString();
  const list = $("#log");
  list.prepend(li);
  while (list.children.length > 80) list.lastChild.remove();
  $("#log-count").textContent = String(++logged);
}

function watch(instance, name) {
  instance.on("message", (m) => log(name, "app → host " + m.event));
  // What kept the app from showing: the gateway's error page (an agent
  // opening an app it may not open), a frame that cannot load, no handshake.
  instance.on("error", (e) => log(name, "error " + e.code + (e.status ? " " + e.status : "") + ": " + e.message));
  instance.on("ready", (r) => log(name, "connected as " + r.appId + " (" + r.mode + ")"));
  instance.on("resize", (r) => log(name, "resized to " + r.width + " × " + r.height));
  instance.on("fullscreen", (r) => log(name, r.fullscreen ? "full screen" : "back from full screen"));
  return instance;
}

// ---- Mounting ----------------------------------------------------------------

// mount mounts app in container, with the open ticket when it is a sidebar app.
function mount(container, app) {
  const options = {
    app: app.id, src: app.url, mode: app.mode, placement: app.placement, title: app.name, user,
  };
  if (app.placement === "ticket_sidebar") options.ticket = current.ticket;
  const box = $(container);
  const instance = watch(HelpdeskHost.mount(box, options), app.id);
  // data-state: for styling, and for the demo's browser test.
  box.dataset.state = "loading";
  instance.on("ready", () => { box.dataset.state = "connected"; });
  return { app, instance };
}

function unmount(mounted) {
  if (mounted) mounted.instance.destroy();
  return null;
}

// sameApp reports whether a mounted app is still app, as the manifest lists it.
function sameApp(mounted, app) {
  return Boolean(mounted && app && mounted.app.id === app.id && mounted.app.url === app.url && mounted.app.mode === app.mode);
}

// popupMax is the largest app area of a popup: host.js opens it in the
// bottom-right corner, and grows it upwards as its app asks for room; at
// most this large, it stays over the ticket's apps, clear of the ticket
// and its controls on the left and of the sidebar's tabs above. The user
// may still drag it anywhere below the header, and resize it up to this.
// host.js calls it (maxSize) again whenever it refits the window, so that
// after the browser window shrinks the popup still stays below the tabs.
function popupMax() {
  const vw = document.documentElement.clientWidth || window.innerWidth;
  const vh = document.documentElement.clientHeight || window.innerHeight;
  const side = $(".side").getBoundingClientRect();
  const tabs = $(".side-head").getBoundingClientRect();
  const width = vw - WINDOW_INSET - side.left - POPUP_GAP;
  const height = vh - WINDOW_INSET - tabs.bottom - POPUP_GAP - WINDOW_TITLE_BAR;
  return {
    width: Math.max(POPUP_MIN.width, Math.min(POPUP_MAX_WIDTH, Math.floor(width))),
    height: Math.max(POPUP_MIN.height, Math.floor(height)),
  };
}

// openPopup opens app in host.js's floating window, below the header,
// which it never covers; it closes with Escape or its close button.
function openPopup(app) {
  if (!user) return;
  popup = unmount(popup);
  const options = {
    app: app.id, src: app.url, placement: app.placement, title: app.name, user,
    minSize: POPUP_MIN, maxSize: popupMax, avoid: "header.topbar",
  };
  if (app.placement === "ticket_sidebar") options.ticket = current.ticket;
  const instance = watch(HelpdeskHost.openPopup(options), app.id);
  const opened = { app, instance };
  instance.on("close", (c) => {
    log(app.id, "closed (" + c.reason + ")");
    if (popup === opened) popup = null;
    markOpen();
  });
  popup = opened;
  markOpen();
}

function closePopup() {
  popup = unmount(popup);
  markOpen();
}

function openPanel(app) {
  if (!user) return;
  panel = unmount(panel);
  $("#panel-title").textContent = app.name;
  $("#panel-where").textContent = describe(app);
  $("#panel").hidden = false;
  panel = mount("#panel-body", app);
  markOpen();
}

function closePanel() {
  panel = unmount(panel);
  $("#panel").hidden = true;
  markOpen();
}

function mountSidebar(app) {
  sidebar = unmount(sidebar);
  sidebarChoice = app.id;
  sidebar = mount("#sidebar", app);
  markOpen();
}

// open opens an app from its menu entry: popup apps in a floating window,
// the others in the main panel or, for sidebar apps, in the aside.
function open(app) {
  if (app.mode === "popup") openPopup(app);
  else if (app.placement === "ticket_sidebar") mountSidebar(app);
  else openPanel(app);
}

function describe(app) {
  return (app.placement === "ticket_sidebar" ? "Ticket sidebar" : "Main menu") + " · " + app.mode;
}

// ---- Menus -------------------------------------------------------------------

// icon is the app's icon from the manifest, or its initial. Neither adds
// text to its menu entry, which reads as the app's name.
function icon(app) {
  const fallback = () => {
    const span = el("span", "app-icon app-initial");
    span.dataset.initial = initials(app.name).charAt(0);
    span.style.setProperty("--h", hue(app.id));
    return span;
  };
  if (!app.icon) return fallback();
  const img = el("img", "app-icon");
  img.alt = "";
  img.src = app.icon;
  img.addEventListener("error", () => img.replaceWith(fallback()), { once: true });
  return img;
}

function entry(app, cls) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = cls;
  button.dataset.app = app.id;
  button.title = app.name + " (" + describe(app).toLowerCase() + ")";
  button.append(icon(app));
  if (app.favorite) {
    const star = document.createElement("span");
    star.className = "fav";
    star.setAttribute("aria-label", "favorite");
    star.textContent = "★ ";
    button.append(star);
  }
  button.append(app.name);
  button.addEventListener("click", () => open(app));
  return button;
}

function renderMenus() {
  const menu = $("#menu");
  menu.replaceChildren(...apps.filter((a) => a.placement === "main_menu").map((a) => entry(a, "menu-app")));
  $("#menu-divider").hidden = menu.children.length === 0;
  const side = apps.filter((a) => a.placement === "ticket_sidebar");
  $("#sidebar-tabs").replaceChildren(...side.map((a) => entry(a, "tab")));
  const empty = !sidebar;
  $("#sidebar-empty").hidden = !empty;
  $("#sidebar-empty-text").textContent = !user
    ? "Sign in to see the apps of this ticket."
    : side.length ? "Choose an app above." : "No ticket sidebar app is available to you.";
  markOpen();
}

// markOpen shows which entries' apps are open.
function markOpen() {
  for (const button of document.querySelectorAll("[data-app]")) {
    if (button.tagName !== "BUTTON") continue;
    const id = button.dataset.app;
    const inAside = button.classList.contains("tab");
    const shown = [popup, panel, inAside ? sidebar : null].some((m) => m && m.app.id === id);
    button.setAttribute("aria-pressed", shown ? "true" : "false");
  }
}

// applyManifest makes the menus and the mounted apps follow the manifest:
// an app it no longer lists is closed, one whose URL or mode changed is
// mounted again.
function applyManifest(list) {
  const key = JSON.stringify(list);
  if (key === manifestKey) return;
  manifestKey = key;
  apps = list;
  log("helpdesk", "apps: " + (apps.map((a) => a.id).join(", ") || "none"));
  const byId = (m) => m && apps.find((a) => a.id === m.app.id);

  if (popup && !sameApp(popup, byId(popup))) {
    if (byId(popup)) openPopup(byId(popup));
    else closePopup();
  }
  if (panel && !sameApp(panel, byId(panel))) {
    if (byId(panel) && byId(panel).mode !== "popup") openPanel(byId(panel));
    else closePanel();
  }
  const side = apps.filter((a) => a.placement === "ticket_sidebar" && a.mode !== "popup");
  const chosen = side.find((a) => a.id === sidebarChoice) || side[0];
  if (!chosen) sidebar = unmount(sidebar);
  else if (!sameApp(sidebar, chosen)) mountSidebar(chosen);
  renderMenus();
}

// remountAll mounts the open apps again, for a new user.
function remountAll() {
  if (sidebar) mountSidebar(sidebar.app);
  if (popup) openPopup(popup.app);
  if (panel) openPanel(panel.app);
}

// ---- Tickets -------------------------------------------------------------------

function statusPill(status) {
  return el("span", "pill st-" + status.replace(/\s+/g, "-"), cap(status));
}

function priorityTag(priority) {
  return el("span", "prio prio-" + priority, cap(priority));
}

function shownEntries() {
  const q = $("#search").value.trim().toLowerCase();
  return entries.filter((e) => {
    const t = e.ticket;
    if (filter === "open" && t.status === "solved" && e !== current) return false;
    if (!q) return true;
    return [String(t.sequential_id), t.subject, t.requester.name, t.requester.email, orderNumber(t)]
      .some((s) => s.toLowerCase().includes(q));
  });
}

function renderList() {
  const shown = shownEntries();
  $("#ticket-list").replaceChildren(...shown.map((e) => {
    const t = e.ticket;
    const button = el("button", "tkt");
    button.type = "button";
    button.dataset.ticket = String(t.sequential_id);
    if (e === current) button.setAttribute("aria-current", "true");
    const top = el("div", "tkt-top");
    top.append(el("span", "tkt-req", t.requester.name), el("span", "tkt-time", ago(t.updated_at)));
    const meta = el("div", "tkt-meta");
    meta.append(statusPill(t.status), priorityTag(t.priority), el("span", "tkt-id", "#" + t.sequential_id + " · " + orderNumber(t)));
    button.append(top, el("div", "tkt-subj", t.subject), meta);
    button.addEventListener("click", () => selectTicket(e));
    const li = el("li");
    li.append(button);
    return li;
  }));
  const unsolved = entries.filter((e) => e.ticket.status !== "solved").length;
  $("#queue-count").textContent = String(unsolved);
  $("#queue-empty").hidden = shown.length > 0;
}

function fillSelect(select, values, chosen) {
  select.replaceChildren(...values.map((v) => {
    const o = el("option", "", v.label);
    o.value = v.value;
    o.selected = v.value === chosen;
    return o;
  }));
}

function people() {
  const list = TEAMMATES.slice();
  if (user && !list.some((p) => p.id === user.id)) list.unshift({ id: user.id, name: user.name, email: user.email });
  return list;
}

function renderTicket() {
  const t = current.ticket;
  $("#ticket-number").textContent = "#" + t.sequential_id;
  $("#ticket-channel").textContent = current.channel;
  $("#ticket-created").textContent = "Created " + ago(t.created_at);
  $("#ticket-subject").textContent = t.subject;
  avatar($("#requester-avatar"), t.requester.name);
  $("#requester-name").textContent = t.requester.name;
  $("#requester-contact").textContent = t.requester.email + " · " + t.requester.phone;
  $("#ticket-tags").replaceChildren(...t.tags.map((tag) => el("li", "tag", tag)));
  fillSelect($("#ticket-status"), STATUSES.map((s) => ({ value: s, label: cap(s) })), t.status);
  fillSelect($("#ticket-priority"), PRIORITIES.map((p) => ({ value: p, label: cap(p) })), t.priority);
  fillSelect($("#ticket-assignee"), [{ value: "", label: "Unassigned" }]
    .concat(people().map((p) => ({ value: p.id, label: p.name + (user && p.id === user.id ? " (you)" : "") }))),
  t.assignee ? t.assignee.id : "");
  $("#ticket-status").dataset.status = t.status.replace(/\s+/g, "-");
  if (document.activeElement !== $("#ticket-order")) $("#ticket-order").value = orderNumber(t);
  fillSelect($("#reply-status"), STATUSES.map((s) => ({ value: s, label: cap(s) })), t.status === "open" ? "pending" : t.status);
  $("#reply-as").textContent = user ? "Replying as " + user.name : "Sign in to reply";
  $("#send-reply").disabled = !user;
  renderConversation();
}

function renderConversation() {
  const list = $("#conversation");
  list.replaceChildren(...current.messages.map((m) => {
    const li = el("li", "msg msg-" + m.from);
    const head = el("div", "msg-head");
    const who = el("span", "avatar");
    avatar(who, m.author);
    const label = m.from === "note" ? "Internal note" : m.from === "agent" ? "Agent" : "Requester";
    head.append(who, el("b", "", m.author), el("span", "msg-kind", label), el("time", "msg-time", clock(m.at)));
    li.append(head, el("p", "msg-body", m.body));
    return li;
  }));
  list.scrollTop = list.scrollHeight;
}

// pushTicket sends the open ticket to the mounted ticket sidebar apps, as
// helpdesk:ticket:update.
function pushTicket(why) {
  for (const mounted of [sidebar, popup, panel]) {
    if (!mounted || mounted.app.placement !== "ticket_sidebar") continue;
    mounted.instance.updateTicket(current.ticket);
    if (mounted.instance.connected) log(mounted.app.id, "host → app helpdesk:ticket:update (#" + current.ticket.sequential_id + " " + why + ")");
  }
}

function selectTicket(e) {
  if (e === current) return;
  current = e;
  history.replaceState(null, "", "#ticket-" + e.ticket.sequential_id);
  renderList();
  renderTicket();
  pushTicket("opened");
}

// changeTicket applies an agent's change to the open ticket, and tells its apps.
function changeTicket(why, apply) {
  if (apply(current.ticket) === false) return;
  current.ticket.updated_at = new Date().toISOString();
  renderList();
  renderTicket();
  pushTicket(why);
}

function person(id) {
  return people().find((p) => p.id === id) || null;
}

function applyOrderNumber() {
  const value = $("#ticket-order").value.trim();
  changeTicket("order number " + (value || "cleared"), (t) => {
    const f = t.custom_fields.find((c) => c.name === "order_number");
    if (f.value === value) return false;
    f.value = value;
  });
}

// ---- The gateway's API ---------------------------------------------------------

async function getJSON(url) {
  const res = await fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
  if (res.status === 401) return null;
  if (!res.ok) throw new Error(url + " answered " + res.status);
  return res.json();
}

function showUser(u) {
  $("#who").replaceChildren();
  if (!u) {
    $("#who").textContent = "not signed in";
    $("#who-avatar").textContent = "?";
    $("#who-avatar").style.removeProperty("--h");
    document.body.dataset.signedIn = "false";
  } else {
    // Reads "Ana Agent · agent · division 1"; shown on two lines.
    $("#who").append(el("span", "who-name", u.name), el("span", "who-sep", " · "),
      el("span", "who-role", u.role + " · division " + u.division_id));
    avatar($("#who-avatar"), u.name);
    document.body.dataset.signedIn = "true";
    // The development-only form shows who is signed in, unless being edited.
    const form = $("#signin");
    if (!form.contains(document.activeElement)) {
      form.elements.name.value = u.name;
      form.elements.role.value = u.role;
      form.elements.division_id.value = String(u.division_id);
    }
  }
  renderTicket();
}

function showSettings(canManage, url) {
  let link = $("#settings-link");
  if (!canManage) {
    if (link) link.remove();
    return;
  }
  if (!link) {
    link = el("a", "btn btn-quiet");
    link.id = "settings-link";
    link.href = url || SETTINGS_URL;
    link.title = "Settings › Integrations › Apps";
    link.innerHTML = '<svg class="i" aria-hidden="true"><use href="#i-gear"/></svg>';
    link.append("Settings");
    $("#account").append(link);
  }
}

// refresh fetches the manifest and the user as the gateway sees them. The
// session cookie outlives the page, so a reload stays signed in. A refresh
// asked for while one is under way (the session may have changed) fetches
// again once it ends, and the older answers are dropped.
async function refresh() {
  if (refreshing) {
    again = true;
    return;
  }
  refreshing = true;
  try {
    do {
      again = false;
      const [me, manifest] = await Promise.all([getJSON(ME_URL), getJSON(MANIFEST_URL)]);
      if (again) continue;
      if (!me) {
        if (user) showUser(null);
        user = null;
        showSettings(false);
        applyManifest([]);
        renderMenus();
        continue;
      }
      // The session may have changed in another tab: follow the gateway.
      if (!user || user.id !== me.user.id || user.role !== me.user.role ||
          String(user.division_id) !== String(me.user.division_id)) {
        const had = user !== null;
        user = me.user;
        showUser(user);
        if (had) remountAll();
      }
      showSettings(me.can_manage === true, me.settings_url);
      applyManifest(manifest && Array.isArray(manifest.apps) ? manifest.apps : []);
    } while (again);
  } catch (err) {
    log("helpdesk", "could not refresh the apps: " + err.message);
  } finally {
    refreshing = false;
  }
}

// ---- The page ------------------------------------------------------------------

$("#close-panel").addEventListener("click", closePanel);

$("#ticket-status").addEventListener("change", (ev) => {
  changeTicket("status " + ev.target.value, (t) => { t.status = ev.target.value; });
});
$("#ticket-priority").addEventListener("change", (ev) => {
  changeTicket("priority " + ev.target.value, (t) => { t.priority = ev.target.value; });
});
$("#ticket-assignee").addEventListener("change", (ev) => {
  const p = person(ev.target.value);
  changeTicket("assigned to " + (p ? p.name : "nobody"), (t) => { t.assignee = p; });
});
$("#ticket-order").addEventListener("change", applyOrderNumber);
$("#ticket-props").addEventListener("submit", (ev) => {
  ev.preventDefault();
  applyOrderNumber();
});

$("#composer").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = $("#reply").value.trim();
  if (!user || !text) {
    $("#reply").focus();
    return;
  }
  const status = $("#reply-status").value;
  current.messages.push({ from: "agent", author: user.name, at: new Date().toISOString(), body: text });
  $("#reply").value = "";
  changeTicket("replied, " + status, (t) => {
    t.status = status;
    if (!t.assignee) t.assignee = { id: user.id, name: user.name, email: user.email };
  });
});

for (const chip of document.querySelectorAll("[data-filter]")) {
  chip.addEventListener("click", () => {
    filter = chip.dataset.filter;
    for (const c of document.querySelectorAll("[data-filter]")) c.setAttribute("aria-pressed", String(c === chip));
    renderList();
  });
}
$("#search").addEventListener("input", renderList);

$("#signin").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const name = String(f.get("name")).trim() || "Ana Agent";
  const slug = name.toLowerCase().replace(/\W+/g, "-");
  const now = Math.floor(Date.now() / 1000);
  user = { id: "u-" + slug, name, email: slug.replace(/-/g, ".") + "@example.com",
    role: String(f.get("role")), division_id: Number(f.get("division_id")) };
  const token = await signToken({ iss: "helpdesk-demo", sub: user.id, name: user.name, email: user.email,
    role: user.role, division_id: user.division_id, iat: now, exp: now + 8 * 3600 });
  document.cookie = "hd_session=" + token + "; Path=/; SameSite=Lax";
  showUser(user);
  remountAll();
  await refresh();
});

// The ticket in the address (#ticket-1044) is the one opened, so that a
// reload keeps it.
const wanted = /^#ticket-(\d+)$/.exec(location.hash);
current = (wanted && entries.find((e) => String(e.ticket.sequential_id) === wanted[1])) || entries[0];
renderList();
showUser(null);
renderMenus();
setInterval(renderList, 60 * 1000); // the "5 min ago"s

window.addEventListener("focus", refresh);
setInterval(refresh, REFRESH_EVERY);
refresh();
