// The demo Helpdesk: its menus follow the gateway's manifest of the apps the
// signed-in user may open (/apps/_api/apps), and it mounts each app with
// host.js: main-menu apps from buttons in the header, ticket-sidebar apps in
// the aside, next to the ticket.
"use strict";

// DEVELOPMENT ONLY: the secret below is the demo's, from Caddyfile.example.
const DEMO_SECRET = "helpdesk-apps-demo-secret-DEVELOPMENT-ONLY";
const MANIFEST_URL = "/apps/_api/apps";
const ME_URL = "/apps/_api/me";
const SETTINGS_URL = "/apps/_admin/";
const REFRESH_EVERY = 5000;
const POPUP_MIN = { width: 320, height: 160 };
const POPUP_MAX = { width: 900, height: 640 };
const STATUSES = ["open", "pending", "on hold", "solved"];
const enc = new TextEncoder();
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

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
const ticket = {
  id: "t-1042", sequential_id: 1042, subject: "Order 55-1234 arrived damaged", status: "open", priority: "high",
  created_at: "2026-11-20T09:12:00Z", updated_at: "2026-11-24T08:00:00Z",
  requester: { id: "c-77", name: "Budi Santoso", email: "budi@example.com", phone: "+62 812 0000 0000" },
  assignee: null, division: { id: 1, name: "Support" }, tags: ["shipping", "damaged"], form_id: "f-default",
  custom_fields: [{ id: "cf-1", name: "order_number", label: "Order number", type: "text", value: "55-1234" }],
};

async function signToken(claims) {
  const head = b64url(enc.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const body = b64url(enc.encode(JSON.stringify(claims)));
  const key = await crypto.subtle.importKey("raw", enc.encode(DEMO_SECRET),
    { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const sig = await crypto.subtle.sign("HMAC", key, enc.encode(head + "." + body));
  return head + "." + body + "." + b64url(sig);
}

function log(app, text) {
  const li = document.createElement("li");
  li.textContent = app + ": " + text;
  const list = document.getElementById("log");
  list.prepend(li);
  while (list.children.length > 60) list.lastChild.remove();
}

function watch(instance, name) {
  instance.on("message", (m) => log(name, "app → host " + m.event));
  instance.on("ready", (r) => log(name, "connected as " + r.appId + " (" + r.mode + ")"));
  instance.on("resize", (r) => log(name, "resized to " + r.width + " × " + r.height));
  return instance;
}

// ---- Mounting ----------------------------------------------------------------

// mount mounts app in container, with the ticket when it is a sidebar app.
function mount(container, app, extra) {
  const options = {
    app: app.id, src: app.url, mode: app.mode, placement: app.placement, title: app.name, user,
  };
  if (app.placement === "ticket_sidebar") options.ticket = ticket;
  return { app, instance: watch(HelpdeskHost.mount(container, Object.assign(options, extra)), app.id) };
}

function unmount(mounted) {
  if (mounted) mounted.instance.destroy();
  return null;
}

// sameApp reports whether a mounted app is still app, as the manifest lists it.
function sameApp(mounted, app) {
  return Boolean(mounted && app && mounted.app.id === app.id && mounted.app.url === app.url && mounted.app.mode === app.mode);
}

function openPopup(app) {
  if (!user) return;
  popup = unmount(popup);
  document.getElementById("popup-title").textContent = app.name;
  document.getElementById("popup-where").textContent = describe(app);
  document.getElementById("popup").hidden = false;
  popup = mount("#popup-body", app, { minSize: POPUP_MIN, maxSize: POPUP_MAX });
  markOpen();
}

function closePopup() {
  popup = unmount(popup);
  document.getElementById("popup").hidden = true;
  markOpen();
}

function openPanel(app) {
  if (!user) return;
  panel = unmount(panel);
  document.getElementById("panel-title").textContent = app.name;
  document.getElementById("panel-where").textContent = describe(app);
  document.getElementById("panel").hidden = false;
  panel = mount("#panel-body", app);
  markOpen();
}

function closePanel() {
  panel = unmount(panel);
  document.getElementById("panel").hidden = true;
  markOpen();
}

function mountSidebar(app) {
  sidebar = unmount(sidebar);
  sidebarChoice = app.id;
  sidebar = mount("#sidebar", app);
  markOpen();
}

// open opens an app from its menu entry: popup apps in the floating popup,
// the others in the main panel or, for sidebar apps, in the aside.
function open(app) {
  if (app.mode === "popup") openPopup(app);
  else if (app.placement === "ticket_sidebar") mountSidebar(app);
  else openPanel(app);
}

function describe(app) {
  return (app.placement === "ticket_sidebar" ? "ticket sidebar" : "main menu") + " · " + app.mode;
}

// ---- Menus -------------------------------------------------------------------

function entry(app, cls) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = cls;
  button.dataset.app = app.id;
  button.title = app.name + " (" + describe(app) + ")";
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
  const menu = document.getElementById("menu");
  menu.replaceChildren(...apps.filter((a) => a.placement === "main_menu").map((a) => entry(a, "menu-app")));
  const side = apps.filter((a) => a.placement === "ticket_sidebar");
  document.getElementById("sidebar-tabs").replaceChildren(...side.map((a) => entry(a, "tab")));
  document.getElementById("sidebar-empty").hidden = side.length > 0 || !user;
  markOpen();
}

// markOpen shows which entries' apps are open.
function markOpen() {
  for (const button of document.querySelectorAll("[data-app]")) {
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

// ---- The gateway's API ---------------------------------------------------------

async function getJSON(url) {
  const res = await fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
  if (res.status === 401) return null;
  if (!res.ok) throw new Error(url + " answered " + res.status);
  return res.json();
}

function showUser(u) {
  document.getElementById("who").textContent = u ? u.name + " · " + u.role + " · division " + u.division_id : "not signed in";
}

function showSettings(canManage, url) {
  let link = document.getElementById("settings-link");
  if (!canManage) {
    if (link) link.remove();
    return;
  }
  if (!link) {
    link = document.createElement("a");
    link.id = "settings-link";
    link.href = url || SETTINGS_URL;
    link.textContent = "Settings";
    document.getElementById("who").after(link);
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
        user = null;
        showUser(null);
        showSettings(false);
        applyManifest([]);
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

document.getElementById("close-popup").addEventListener("click", closePopup);
document.getElementById("close-panel").addEventListener("click", closePanel);
document.getElementById("next-status").addEventListener("click", () => {
  ticket.status = STATUSES[(STATUSES.indexOf(ticket.status) + 1) % STATUSES.length];
  ticket.updated_at = new Date().toISOString();
  document.getElementById("ticket-status").textContent = ticket.status;
  for (const mounted of [sidebar, popup]) {
    if (mounted && mounted.app.placement === "ticket_sidebar") {
      mounted.instance.updateTicket(ticket);
      log(mounted.app.id, "host → app helpdesk:ticket:update (" + ticket.status + ")");
    }
  }
});

document.getElementById("signin").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const name = String(f.get("name"));
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

window.addEventListener("focus", refresh);
setInterval(refresh, REFRESH_EVERY);
refresh();
