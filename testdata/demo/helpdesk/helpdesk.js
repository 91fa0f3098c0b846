// The demo Helpdesk: mounts the apps of Caddyfile.example with host.js.
"use strict";

// DEVELOPMENT ONLY: the secret below is the demo's, from Caddyfile.example.
const DEMO_SECRET = "helpdesk-apps-demo-secret-DEVELOPMENT-ONLY";
const STATUSES = ["open", "pending", "on hold", "solved"];
const enc = new TextEncoder();
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

let user = null;
let sidebar = null;
let popup = null;
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

function mountSidebar() {
  if (sidebar) sidebar.destroy();
  sidebar = watch(HelpdeskHost.mount("#sidebar", {
    app: "orders", src: "/apps/orders/", mode: "embed", placement: "ticket_sidebar",
    title: "Order lookup", user, ticket,
  }), "orders");
}

function openPopup() {
  if (!user) return;
  if (popup) popup.destroy();
  document.getElementById("popup").hidden = false;
  popup = watch(HelpdeskHost.mount("#popup-body", {
    app: "reports", src: "/apps/reports/", mode: "popup", placement: "main_menu", title: "Team reports",
    user, minSize: { width: 320, height: 160 }, maxSize: { width: 900, height: 640 },
  }), "reports");
}

document.getElementById("open-reports").addEventListener("click", openPopup);
document.getElementById("close-popup").addEventListener("click", () => {
  if (popup) popup.destroy();
  popup = null;
  document.getElementById("popup").hidden = true;
});
document.getElementById("next-status").addEventListener("click", () => {
  ticket.status = STATUSES[(STATUSES.indexOf(ticket.status) + 1) % STATUSES.length];
  ticket.updated_at = new Date().toISOString();
  document.getElementById("ticket-status").textContent = ticket.status;
  if (sidebar) sidebar.updateTicket(ticket);
  log("orders", "host → app helpdesk:ticket:update (" + ticket.status + ")");
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
  document.getElementById("who").textContent = name + " · " + user.role + " · division " + user.division_id;
  mountSidebar();
  if (popup) openPopup();
});
