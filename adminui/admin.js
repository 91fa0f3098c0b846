/*
 * Settings › Integrations › Apps: the page the Helpdesk Apps Gateway serves
 * at <prefix>/_admin/ to the Helpdesk's admins and owners. It lists the apps
 * by placement and lets them be added, edited, starred, activated or
 * deactivated, reordered and deleted, through the admin API it finds next to
 * itself, at <prefix>/_api/admin/.
 *
 * Every write carries If-Match with the ETag of the list on screen, and
 * writes run one at a time, so a 412 always means that someone else changed
 * the apps: the page says so and keeps whatever the user typed.
 *
 * Nothing the API returns is ever parsed as HTML: the page builds its DOM
 * with textContent and attributes only, with the helpers of base.js.
 */
(function () {
  "use strict";

  const ui = window.HelpdeskUI;
  const { $, $$, el, icon, capitalize } = ui;

  const API = new URL("../_api/admin/", location.href);
  const ME = new URL("../_api/me", location.href);
  const APPS_PATH = new URL("../", location.href).pathname;
  const MERGE_PATCH = "application/merge-patch+json";
  const CLUSTER_EVERY = 15000;
  const TOAST_FOR = 3500;

  const PLACEMENTS = {
    main_menu: { label: "Main menu", text: "Buttons in the Helpdesk's header, on every page.", icon: "menu" },
    ticket_sidebar: { label: "Ticket sidebar", text: "Shown next to the open ticket, with its details.", icon: "sidebar" },
  };
  const MODES = { embed: "Embedded", popup: "Popup" };
  const FLAGS = ["inject", "auto_resize", "rewrite_links", "isolate_cookies"];
  const FIELD_LABELS = {
    id: "ID", name: "Name", icon: "Icon", placement: "Placement", mode: "Opens as", roles: "Roles",
    divisions: "Divisions", upstream: "Upstream", order: "Position", favorite: "Favorite", disabled: "Active",
    inject: "Connect to the Helpdesk", auto_resize: "Fit the popup", manual_ready: "Manual ready",
    rewrite_links: "Keep links inside", isolate_cookies: "Isolate cookies", ids: "Order",
  };

  const state = {
    etag: "", // the ETag of the list on screen: every write sends it as If-Match
    list: null, // the last list of apps the API returned
    me: null,
    editing: null, // the app the form edits, as it was when opened; null when adding one
    queue: Promise.resolve(), // writes, one at a time
    deleting: null,
    exportURL: "",
    auditLoaded: false,
    accessTimer: 0,
    clusterTimer: 0,
  };

  function field(name) {
    return $("#app-form").elements.namedItem(name);
  }

  // ---- Words ---------------------------------------------------------------

  const placementLabel = (p) => (PLACEMENTS[p] ? PLACEMENTS[p].label : capitalize(String(p).replace(/_/g, " ")));
  const appName = (app) => app.name || app.id;
  const plural = (n, one, many) => n + " " + (n === 1 ? one : many);
  /** The API's messages are lower-case, as Go errors are: they are shown as sentences. */
  const sentence = (s) => (s ? capitalize(String(s)) : "");

  function roleLabel(role, many) {
    const word = capitalize(String(role));
    return many ? word + "s" : word;
  }

  /** An id for a name: "Order lookup" → "order-lookup". */
  const slug = (name) => name.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64);

  /** "Agents, Supervisors · Division 1", or "Everyone". */
  function accessSummary(app) {
    const roles = app.roles || [];
    const divisions = app.divisions || [];
    if (roles.length === 0 && divisions.length === 0) return "Everyone";
    const who = roles.length ? roles.map((r) => roleLabel(r, true)).join(", ") : "All roles";
    if (divisions.length === 0) return who;
    return who + " · " + (divisions.length === 1 ? "Division " : "Divisions ") + divisions.join(", ");
  }

  function formatValue(key, v) {
    if (v === undefined || v === null || v === "") return "none";
    if (key === "disabled") return v ? "off" : "on";
    if (typeof v === "boolean") return v ? "on" : "off";
    if (Array.isArray(v)) return v.length ? v.join(", ") : "none";
    if (typeof v === "object") return JSON.stringify(v);
    if (key === "placement") return placementLabel(v);
    if (key === "mode") return MODES[v] || v;
    return String(v);
  }

  const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

  function timeAgo(iso) {
    const at = new Date(iso);
    if (isNaN(at)) return { text: String(iso || ""), title: "" };
    const seconds = Math.round((at.getTime() - Date.now()) / 1000);
    const steps = [[60, "second"], [60, "minute"], [24, "hour"], [7, "day"]];
    let value = seconds;
    for (const [size, unit] of steps) {
      if (Math.abs(value) < size) {
        return { text: unit === "second" && Math.abs(value) < 30 ? "just now" : relative.format(value, unit), title: absolute.format(at) };
      }
      value = Math.round(value / size);
    }
    return { text: absolute.format(at), title: absolute.format(at) };
  }

  // ---- The API -------------------------------------------------------------

  /** An error answer of the API: an RFC 9457 problem. */
  class ApiError extends Error {
    constructor(status, problem) {
      super(capitalize(String(problem.detail || problem.title || "The request failed (" + status + ").")));
      this.status = status;
      this.problem = problem;
      this.handled = false;
    }
  }

  async function call(method, path, body, contentType) {
    const headers = { Accept: "application/json, application/problem+json" };
    if (method !== "GET") headers["If-Match"] = state.etag;
    if (body !== undefined) headers["Content-Type"] = contentType || "application/json";
    let res;
    try {
      res = await fetch(new URL(path, API), {
        method, headers, credentials: "same-origin", cache: "no-store",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, { title: "Network error", detail: "The gateway could not be reached. Check your connection and try again." });
    }
    let data = null;
    if (res.status !== 204 && /json/.test(res.headers.get("Content-Type") || "")) {
      data = await res.json().catch(() => null);
    }
    if (!res.ok) {
      throw new ApiError(res.status, data && typeof data === "object" ? data : { title: res.statusText || "Error " + res.status });
    }
    return { status: res.status, etag: res.headers.get("ETag") || "", data: data || {} };
  }

  /** Fetches the list of apps, and shows it. */
  async function loadApps() {
    const res = await call("GET", "apps");
    setList(res.data, res.etag);
  }

  function setList(list, etag) {
    state.list = {
      revision: list.revision,
      placements: Array.isArray(list.placements) ? list.placements : Object.keys(PLACEMENTS),
      roles: Array.isArray(list.roles) ? list.roles : [],
      upstreams: Array.isArray(list.upstreams) ? list.upstreams : [],
      apps: Array.isArray(list.apps) ? list.apps : [],
      orphans: Array.isArray(list.orphans) ? list.orphans : [],
    };
    state.etag = etag || '"' + list.revision + '"';
    hideStale();
    $("#add-app").disabled = false;
    $("#export").disabled = false;
    renderApps();
    fillAccessRoles();
    loadInstances();
    if (state.auditLoaded) loadAudit();
    if ($("#access-results").childElementCount) checkAccess();
  }

  /**
   * Queues a write. When it succeeds, the list is fetched again (unless
   * keepList), so that the list on screen and its ETag match. Errors the
   * page answers itself (412, 401, 403, 503, no network) are marked handled.
   */
  function write(method, path, body, options) {
    const opts = options || {};
    const run = async () => {
      try {
        const res = await call(method, path, body, opts.contentType);
        if (!opts.keepList) await loadApps().catch(listNotRefreshed);
        if (!opts.dryRun) $("#notice").hidden = true;
        return res;
      } catch (err) {
        handleError(err);
        throw err;
      }
    };
    const done = state.queue.then(run, run);
    state.queue = done.catch(() => undefined);
    return done;
  }

  function listNotRefreshed(err) {
    handleError(err);
    if (!err.handled) toast("Saved, but the list could not be refreshed: " + err.message, "error");
  }

  function handleError(err) {
    if (!(err instanceof ApiError)) throw err;
    switch (err.status) {
      case 412:
      case 428:
        showStale(err.problem.revision);
        break;
      case 401:
        showFatal("signed-out");
        break;
      case 403:
        showFatal("forbidden");
        break;
      case 0:
      case 502:
      case 503:
      case 504:
        toast(err.status === 0 ? err.message : "The apps settings are busy or unavailable. Try again in a moment.", "error");
        break;
      default:
        return;
    }
    err.handled = true;
  }

  // ---- Page states ---------------------------------------------------------

  const FATAL = {
    forbidden: {
      title: "You can't manage apps",
      text: "Only the Helpdesk's admins and owners can add and change apps. Ask one of them if your team needs an app.",
    },
    "signed-out": {
      title: "Your session has ended",
      text: "Sign in to the Helpdesk again, then come back to this page.",
    },
    unavailable: {
      title: "Apps settings are unavailable",
      text: "The gateway couldn't read the apps settings just now. Try again in a moment.",
      retry: true,
    },
    failed: {
      title: "Something went wrong",
      text: "The apps settings could not be loaded.",
      retry: true,
    },
  };

  function showFatal(kind, detail) {
    for (const dialog of $$("dialog[open]")) dialog.close();
    $("#page").hidden = true;
    const f = ui.showFatal(FATAL, kind, detail);
    $("#fatal-retry").hidden = !f.retry;
    clearInterval(state.clusterTimer);
    (f.retry ? $("#fatal-retry") : $("#fatal-back")).focus();
  }

  function showStale(revision) {
    const known = Number.isFinite(Number(revision)) && revision !== undefined && revision !== null;
    $("#stale-text").textContent = "Someone else changed the apps" + (known ? " (revision " + revision + ")" : "") +
      ". Reload to see their changes.";
    const banner = $("#stale-banner");
    banner.hidden = false;
    placeStaleBanner();
  }

  function hideStale() {
    $("#stale-banner").hidden = true;
  }

  /** Keeps the banner where it can be read and used: in the form while it is open. */
  function placeStaleBanner() {
    const banner = $("#stale-banner");
    const slot = $("#app-dialog").open ? $("#form-banner-slot") : $("#banner-slot");
    if (banner.parentElement !== slot) slot.append(banner);
  }

  async function reloadAfterStale() {
    const button = $("#stale-reload");
    button.disabled = true;
    try {
      await loadApps();
      if ($("#app-dialog").open) refreshEditing();
      toast("Apps reloaded");
    } catch (err) {
      handleError(err);
      if (!err.handled) toast(err.message, "error");
    } finally {
      button.disabled = false;
    }
  }

  let toastTimer = 0;
  function toast(text, kind) {
    const t = $("#toast");
    t.replaceChildren(icon(kind === "error" ? "warn" : "check"), el("span", { text }));
    t.className = "toast is-visible" + (kind === "error" ? " toast-error" : "");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.className = "toast"; }, kind === "error" ? TOAST_FOR * 2 : TOAST_FOR);
  }

  /** Shows warnings of a write, which do not block it, until dismissed. */
  function showWarnings(what, warnings) {
    const list = (warnings || []).filter(Boolean);
    const notice = $("#notice");
    if (list.length === 0) {
      notice.hidden = true;
      return;
    }
    $("#notice-body").replaceChildren(
      el("p", { text: what + ", with " + plural(list.length, "warning", "warnings") + ":" }),
      el("ul", null, ...list.map((w) => el("li", { text: sentence(w) }))),
    );
    notice.hidden = false;
  }

  // ---- The list ------------------------------------------------------------

  function renderApps() {
    const root = $("#groups");
    const focus = rememberFocus();
    root.removeAttribute("aria-busy");
    const { apps, placements } = state.list;
    const groups = placements.slice();
    for (const app of apps) if (!groups.includes(app.placement)) groups.push(app.placement);
    if (apps.length === 0) {
      root.replaceChildren(emptyState());
    } else {
      root.replaceChildren(...groups.map((p) => renderGroup(p, apps.filter((a) => a.placement === p))));
    }
    renderOrphans();
    restoreFocus(focus);
  }

  function emptyState() {
    return el("div", { class: "card empty" },
      el("span", { class: "empty-art", "aria-hidden": "true" }, icon("apps", "empty-icon")),
      el("h2", { text: "No apps yet" }),
      el("p", { text: "Apps put your team's tools, such as a CRM or an order lookup, right inside the Helpdesk, in the main menu or next to each ticket." }),
      el("button", { type: "button", class: "btn btn-primary", onclick: () => openForm(null) }, icon("plus"), "Add your first app"));
  }

  function renderGroup(placement, apps) {
    const info = PLACEMENTS[placement] || { label: placementLabel(placement), text: "", icon: "apps" };
    const headingId = "group-" + placement;
    const section = el("section", { class: "card group", "data-placement": placement, "aria-labelledby": headingId },
      el("div", { class: "group-head" },
        el("span", { class: "group-icon", "aria-hidden": "true" }, icon(info.icon)),
        el("div", null,
          el("h2", { id: headingId }, info.label, el("span", { class: "count", text: String(apps.length) })),
          info.text ? el("p", { text: info.text }) : null)));
    if (apps.length === 0) {
      section.append(el("p", { class: "group-empty", text: "No apps here yet." }));
      return section;
    }
    section.append(el("div", { class: "row row-head", "aria-hidden": "true" },
      el("span"), el("span"), el("span", { text: "App" }), el("span", { text: "Opens as" }),
      el("span", { text: "Who can open it" }), el("span", { text: "Source" }), el("span", { class: "center", text: "Favorite" }),
      el("span", { class: "center", text: "Active" }), el("span")));
    const list = el("ul", { class: "rows", "aria-label": info.label + " apps" });
    for (const app of apps) list.append(renderRow(app));
    section.append(list);
    return section;
  }

  function isLocked(app, name) {
    return (app.locked || []).includes(name);
  }

  function renderRow(app) {
    const name = appName(app);
    const fromCaddyfile = app.source === "caddyfile";
    const row = el("li", { class: "row" + (app.disabled ? " is-inactive" : "") + (app.favorite ? " is-favorite" : ""), "data-app": app.id });
    row.dataset.favorite = app.favorite ? "true" : "false";

    const handle = el("button", {
      type: "button", class: "handle", "aria-label": "Move " + name, "aria-describedby": "reorder-help",
      title: "Drag to reorder", disabled: isLocked(app, "order"),
    }, icon("grip"));
    handle.addEventListener("pointerdown", (ev) => startDrag(ev, row));
    handle.addEventListener("keydown", (ev) => {
      if ((ev.key === "ArrowUp" || ev.key === "ArrowDown") && !ev.shiftKey && !ev.ctrlKey && !ev.metaKey) {
        ev.preventDefault();
        moveByKey(row, ev.key === "ArrowUp" ? -1 : 1);
      }
    });
    row.addEventListener("keydown", (ev) => {
      if (ev.altKey && (ev.key === "ArrowUp" || ev.key === "ArrowDown") && ev.target !== handle) {
        ev.preventDefault();
        moveByKey(row, ev.key === "ArrowUp" ? -1 : 1);
      }
    });

    const title = el("div", { class: "app-title" },
      el("span", { class: "app-name", text: name }),
      el("span", { class: "app-id", text: app.host || app.id, title: app.host ? app.id + ", on a host of its own" : "" }));
    const cell = el("div", { class: "cell-app" }, title);
    if (app.problem) cell.append(el("p", { class: "problem" }, icon("warn"), el("span", { text: "Not served: " + app.problem })));

    const star = el("button", {
      type: "button", class: "star icon-btn", "aria-pressed": app.favorite ? "true" : "false",
      "aria-label": "Favorite: " + name, title: app.favorite ? "Remove from favorites" : "Mark as favorite",
      disabled: isLocked(app, "favorite"),
    }, icon("star"));
    star.addEventListener("click", () => patchApp(app, { favorite: !app.favorite }, star));

    const active = el("button", {
      type: "button", class: "active-toggle", role: "switch", "aria-checked": app.disabled ? "false" : "true",
      "aria-label": "Active: " + name, title: app.disabled ? "Inactive: hidden from everyone" : "Active",
      disabled: isLocked(app, "disabled"),
    }, el("span", { class: "thumb" }));
    active.addEventListener("click", () => patchApp(app, { disabled: !app.disabled }, active));

    const actions = el("div", { class: "actions" },
      el("button", { type: "button", class: "btn btn-small edit", "aria-label": "Edit " + name, onclick: () => openForm(app) }, "Edit"));
    if (fromCaddyfile) {
      actions.append(el("span", { class: "icon-btn-placeholder", "aria-hidden": "true" }));
    } else {
      actions.append(el("button", {
        type: "button", class: "icon-btn delete", "aria-label": "Delete " + name, title: "Delete",
        onclick: () => confirmDelete(app),
      }, icon("trash")));
    }

    row.append(
      handle,
      appAvatar(app),
      cell,
      el("span", { class: "cell-mode", text: MODES[app.mode] || app.mode || "" }),
      el("span", { class: "cell-access", text: accessSummary(app), title: accessSummary(app) }),
      el("span", { class: "cell-source" }, fromCaddyfile
        ? el("span", { class: "badge badge-caddyfile", title: "Set in the Caddyfile" }, icon("lock"), "Caddyfile")
        : el("span", { class: "badge badge-runtime", text: "Added here" })),
      el("span", { class: "center" }, star),
      el("span", { class: "center" }, active),
      actions,
    );
    return row;
  }

  /** The app's icon, or its initial on a colour of its id. */
  function appAvatar(app, cls) {
    const box = el("span", { class: "app-icon" + (cls ? " " + cls : ""), "aria-hidden": "true" });
    const initial = () => {
      let hash = 0;
      for (const ch of String(app.id)) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
      box.classList.add("tone-" + (hash % 6));
      box.replaceChildren(document.createTextNode(appName(app).trim().charAt(0).toUpperCase() || "?"));
    };
    if (app.icon && /^(https?:|\/)/i.test(app.icon)) {
      const img = el("img", { src: app.icon, alt: "", width: 32, height: 32, loading: "lazy", referrerpolicy: "no-referrer" });
      img.addEventListener("error", initial, { once: true });
      box.append(img);
    } else {
      initial();
    }
    return box;
  }

  function renderOrphans() {
    const orphans = state.list.orphans;
    $("#orphans").hidden = orphans.length === 0;
    $("#orphan-list").replaceChildren(...orphans.map((o) => {
      const kept = Object.keys(o.overrides || {}).map((k) => (FIELD_LABELS[k] || k) + ": " + formatValue(k, o.overrides[k]));
      return el("li", { class: "orphan", "data-app": o.id },
        el("div", null, el("span", { class: "app-id", text: o.id }), el("p", { class: "hint", text: kept.join(" · ") || "No settings" })),
        el("button", { type: "button", class: "btn btn-small delete", onclick: () => confirmDelete({ id: o.id, orphan: true }) }, "Remove"));
    }));
  }

  function rememberFocus() {
    const active = document.activeElement;
    const row = active && active.closest && active.closest("[data-app]");
    if (!row || !$("#groups").contains(row)) return null;
    const cls = ["handle", "star", "active-toggle", "edit", "delete"].find((c) => active.classList.contains(c));
    return cls ? { id: row.dataset.app, cls } : null;
  }

  function restoreFocus(focus) {
    if (!focus) return;
    const row = $$("#groups [data-app]").find((r) => r.dataset.app === focus.id);
    const target = row && $("." + focus.cls, row);
    if (target && !target.disabled) target.focus();
  }

  // ---- Writes from the list ------------------------------------------------

  async function patchApp(app, patch, button) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    const name = appName(app);
    try {
      await write("PATCH", "apps/" + encodeURIComponent(app.id), patch, { contentType: MERGE_PATCH });
      if ("favorite" in patch) toast(patch.favorite ? name + " is now a favorite" : name + " is no longer a favorite");
      else toast(patch.disabled ? name + " is deactivated: hidden from everyone" : name + " is active");
    } catch (err) {
      if (!err.handled) toast(err.message, "error");
      renderApps();
    }
  }

  function confirmDelete(app) {
    state.deleting = app;
    const name = appName(app);
    $("#confirm-title").textContent = app.orphan ? "Remove leftover settings?" : "Delete " + name + "?";
    $("#confirm-text").textContent = app.orphan
      ? "The settings kept for " + app.id + " will be removed."
      : "It disappears from the Helpdesk for everyone, and its settings are removed. To hide it for a while instead, deactivate it.";
    $("#confirm-ok").textContent = app.orphan ? "Remove" : "Delete app";
    $("#confirm-dialog").showModal();
    $("#confirm-dialog [data-close]").focus();
  }

  async function deleteConfirmed(ev) {
    ev.preventDefault();
    const app = state.deleting;
    const button = $("#confirm-ok");
    if (!app) return;
    button.disabled = true;
    try {
      await write("DELETE", "apps/" + encodeURIComponent(app.id));
      $("#confirm-dialog").close();
      toast(app.orphan ? "Leftover settings removed" : "Deleted " + appName(app));
    } catch (err) {
      $("#confirm-dialog").close();
      if (!err.handled) toast(err.message, "error");
    } finally {
      button.disabled = false;
      state.deleting = null;
    }
  }

  // ---- Reordering ----------------------------------------------------------

  /** The rows a row may move among: its group's, favorites or not as it is. */
  function peers(row) {
    return $$(":scope > .row", row.parentElement).filter((r) => r.dataset.favorite === row.dataset.favorite);
  }

  function idsOf(list) {
    return $$(":scope > .row", list).map((r) => r.dataset.app);
  }

  function startDrag(ev, row) {
    if (ev.button !== 0 || ev.currentTarget.disabled) return;
    ev.preventDefault();
    const handle = ev.currentTarget;
    const list = row.parentElement;
    const before = idsOf(list).join("\n");
    const grabY = ev.clientY - row.getBoundingClientRect().top;
    handle.setPointerCapture(ev.pointerId);
    handle.focus();
    row.classList.add("is-dragging");
    list.classList.add("is-sorting");

    const follow = (y) => {
      row.style.transform = "";
      const natural = row.getBoundingClientRect().top;
      row.style.transform = "translateY(" + Math.round(y - grabY - natural) + "px)";
    };
    const move = (e) => {
      const group = peers(row);
      const others = group.filter((r) => r !== row);
      let target = null;
      for (const r of others) {
        const box = r.getBoundingClientRect();
        if (e.clientY < box.top + box.height / 2) {
          target = r;
          break;
        }
      }
      if (target) {
        if (row.nextElementSibling !== target) list.insertBefore(row, target);
      } else if (others.length) {
        const last = others[others.length - 1];
        if (last.nextElementSibling !== row) last.after(row);
      }
      follow(e.clientY);
    };
    const end = (e) => {
      handle.removeEventListener("pointermove", move);
      handle.removeEventListener("pointerup", end);
      handle.removeEventListener("pointercancel", end);
      row.style.transform = "";
      row.classList.remove("is-dragging");
      list.classList.remove("is-sorting");
      const after = idsOf(list);
      if (e.type === "pointerup" && after.join("\n") !== before) saveOrder(row, after);
      else if (after.join("\n") !== before) renderApps();
    };
    handle.addEventListener("pointermove", move);
    handle.addEventListener("pointerup", end);
    handle.addEventListener("pointercancel", end);
  }

  function moveByKey(row, step) {
    const group = peers(row);
    const at = group.indexOf(row);
    const to = at + step;
    if (to < 0 || to >= group.length) return;
    // The other row moves, so that the focus stays where it is.
    if (step < 0) row.after(group[to]);
    else row.before(group[to]);
    saveOrder(row, idsOf(row.parentElement));
  }

  async function saveOrder(row, ids) {
    const placement = row.closest("[data-placement]").dataset.placement;
    const name = $(".app-name", row).textContent;
    const position = ids.indexOf(row.dataset.app) + 1;
    try {
      const res = await write("PUT", "order/" + encodeURIComponent(placement), { ids }, { keepList: true });
      setList(res.data, res.etag);
      toast("Reordered: " + name + " is now " + position + " of " + ids.length);
    } catch (err) {
      if (!err.handled) toast(err.message, "error");
      renderApps();
    }
  }

  // ---- The form ------------------------------------------------------------

  function fillRoles(selected) {
    const roles = state.list.roles.slice();
    for (const r of selected) if (!roles.includes(r)) roles.push(r);
    $("#f-roles").replaceChildren(...roles.map((role) => el("label", { class: "pill-check" },
      el("input", { type: "checkbox", name: "roles", value: role, checked: selected.includes(role) }),
      el("span", { text: roleLabel(role) }))));
  }

  function openForm(app) {
    const form = $("#app-form");
    state.editing = app ? JSON.parse(JSON.stringify(app)) : null;
    form.reset();
    clearErrors();
    $("#form-check").hidden = true;
    const editing = state.editing || {
      id: "", name: "", icon: "", placement: state.list.placements[0] || "main_menu", mode: "embed",
      roles: [], divisions: [], upstream: "", inject: true, auto_resize: false, rewrite_links: false, isolate_cookies: false,
    };
    $("#app-dialog-title").textContent = app ? "Edit " + appName(app) : "Add app";
    $("#app-dialog-sub").textContent = app
      ? (app.source === "caddyfile" ? "Set in the Caddyfile. Locked settings can only be changed there." : "Served at " + APPS_PATH + app.id + "/")
      : "Show one of your tools inside the Helpdesk.";
    $("#save-app").textContent = app ? "Save changes" : "Add app";

    fillRoles(editing.roles || []);
    field("id").value = editing.id || "";
    delete field("id").dataset.edited;
    field("name").value = editing.name || "";
    field("icon").value = editing.icon || "";
    field("divisions").value = (editing.divisions || []).join(", ");
    field("upstream").value = editing.upstream || "";
    for (const r of $$("input[name=placement]", form)) r.checked = r.value === editing.placement;
    for (const r of $$("input[name=mode]", form)) r.checked = r.value === editing.mode;
    for (const f of FLAGS) field(f).checked = Boolean(editing[f]);

    const fromCaddyfile = Boolean(app && app.source === "caddyfile");
    $("[data-field=id]", form).hidden = Boolean(app);
    $("#check-app").hidden = fromCaddyfile;
    const upstreams = state.list.upstreams;
    $("#hint-upstream").textContent = fromCaddyfile
      ? "The Caddyfile sets how this app is reached."
      : upstreams.length
        ? "Allowed: " + upstreams.join(", ") + "."
        : "No upstream is allowed for apps added here: ask whoever runs the gateway.";

    for (const wrap of $$(".field[data-field]", form)) {
      const name = wrap.dataset.field;
      const locked = name !== "id" && app !== null && (isLocked(app, name) || (name === "upstream" && fromCaddyfile));
      for (const input of $$("input, select, textarea", wrap)) input.disabled = locked;
      wrap.classList.toggle("is-locked", locked);
      let note = $(".lock-note", wrap);
      if (locked && !note) {
        note = el("span", { class: "lock-note" }, icon("lock"), "Set in the Caddyfile");
        const label = $("label, .label", wrap);
        if (wrap.classList.contains("check")) wrap.append(note);
        else label.after(note);
      }
      if (note) note.hidden = !locked;
    }

    const dialog = $("#app-dialog");
    dialog.showModal();
    dialog.querySelector(".dialog-body").scrollTop = 0;
    placeStaleBanner();
    const first = $$("input, select, textarea", form).find((i) => !i.disabled && !i.closest("[hidden]"));
    if (first) first.focus();
  }

  function closeForm() {
    $("#app-dialog").close();
  }

  function onFormClosed() {
    state.editing = null;
    placeStaleBanner();
  }

  /** The body the form would send: the app as it was, with what the user may change set from the form. */
  function readForm() {
    const form = $("#app-form");
    const app = state.editing;
    const checked = (name) => { const r = $$("input[name=" + name + "]", form).find((i) => i.checked); return r ? r.value : ""; };
    const values = {
      name: field("name").value.trim(),
      icon: field("icon").value.trim(),
      placement: checked("placement"),
      mode: checked("mode"),
      roles: $$("input[name=roles]", form).filter((i) => i.checked).map((i) => i.value),
      divisions: field("divisions").value.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean),
    };
    for (const f of FLAGS) values[f] = field(f).checked;
    if (!app) {
      const body = Object.assign({ id: field("id").value.trim() }, values, {
        upstream: field("upstream").value.trim(), favorite: false, disabled: false, manual_ready: false,
      });
      const peersOrder = state.list.apps.filter((a) => a.placement === body.placement).map((a) => a.order || 0);
      body.order = peersOrder.length ? Math.max(...peersOrder) + 1 : 0;
      return body;
    }
    const body = JSON.parse(JSON.stringify(app));
    delete body.source;
    delete body.locked;
    delete body.problem;
    if (app.source !== "caddyfile") values.upstream = field("upstream").value.trim();
    for (const [k, v] of Object.entries(values)) {
      if (!isLocked(app, k)) body[k] = v;
    }
    return body;
  }

  async function submitForm(dryRun) {
    clearErrors();
    $("#form-check").hidden = true;
    const body = readForm();
    const creating = !state.editing;
    const path = (creating ? "apps" : "apps/" + encodeURIComponent(state.editing.id)) + (dryRun ? "?dry_run=true" : "");
    const name = body.name || body.id;
    setFormBusy(true);
    try {
      const res = await write(creating ? "POST" : "PUT", path, body, { keepList: dryRun, dryRun });
      const warnings = res.data.warnings || [];
      if (dryRun) {
        showCheck(warnings);
        return;
      }
      closeForm();
      toast(creating ? "Added " + name : "Saved " + name);
      showWarnings(creating ? "Added " + name : "Saved " + name, warnings);
    } catch (err) {
      if (err instanceof ApiError && !err.handled) showProblem(err);
      else if (!(err instanceof ApiError)) throw err;
    } finally {
      setFormBusy(false);
    }
  }

  function setFormBusy(busy) {
    const form = $("#app-form");
    form.setAttribute("aria-busy", busy ? "true" : "false");
    $("#save-app").disabled = busy;
    $("#check-app").disabled = busy;
  }

  function showCheck(warnings) {
    const box = $("#form-check");
    box.classList.toggle("form-message-ok", warnings.length === 0);
    if (warnings.length === 0) {
      box.replaceChildren(icon("check"), el("span", { text: "Everything looks fine: the app can be saved." }));
    } else {
      box.replaceChildren(icon("warn"), el("div", null,
        el("p", { text: "It can be saved, but:" }),
        el("ul", null, ...warnings.map((w) => el("li", { text: sentence(w) })))));
    }
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  }

  /** Parses an RFC 6901 JSON pointer into its tokens. */
  function pointerTokens(pointer) {
    if (typeof pointer !== "string" || !pointer.startsWith("/")) return [];
    return pointer.slice(1).split("/").map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
  }

  /** Shows a problem's errors next to the fields they name, and the rest above the form. */
  function showProblem(err) {
    const form = $("#app-form");
    const problem = err.problem || {};
    const errors = Array.isArray(problem.errors) ? problem.errors : [];
    const body = readForm();
    const general = [];
    let first = null;
    for (const e of errors) {
      const [name, index] = pointerTokens(e.pointer);
      const wrap = name ? $(".field[data-field=\"" + CSS.escape(name) + "\"]", form) : null;
      if (!wrap || wrap.hidden || wrap.classList.contains("is-locked")) {
        general.push(sentence(e.detail || problem.detail));
        continue;
      }
      let targets = $$("input, select, textarea", wrap);
      if (name === "roles" && index !== undefined && Array.isArray(body.roles)) {
        const role = body.roles[Number(index)];
        const match = targets.filter((i) => i.value === role);
        if (match.length) targets = match;
      }
      setFieldError(wrap, targets, sentence(e.detail) || "This value is not valid.");
      first = first || targets[0];
    }
    if (general.length || !first) {
      const lines = general.length ? general : [sentence(problem.detail || problem.title || err.message)];
      const box = $("#form-error");
      box.replaceChildren(icon("warn"), el("div", null, ...lines.filter(Boolean).map((l) => el("p", { text: l }))));
      box.hidden = false;
      if (!first) box.scrollIntoView({ block: "nearest" });
    }
    if (first) first.focus();
  }

  function setFieldError(wrap, targets, message) {
    const name = wrap.dataset.field;
    const id = "error-" + name;
    let msg = $("#" + CSS.escape(id));
    if (!msg) {
      msg = el("p", { class: "field-error", id });
      wrap.append(msg);
    }
    msg.replaceChildren(icon("warn"), el("span", { text: msg.dataset.text ? msg.dataset.text + " " + message : message }));
    msg.dataset.text = msg.dataset.text ? msg.dataset.text + " " + message : message;
    wrap.classList.add("has-error");
    const described = wrap.getAttribute("role") ? [wrap] : targets;
    for (const t of targets) t.setAttribute("aria-invalid", "true");
    for (const t of described) {
      const ids = (t.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
      if (!ids.includes(id)) t.setAttribute("aria-describedby", ids.concat(id).join(" "));
    }
  }

  function clearFieldError(wrap) {
    const id = "error-" + wrap.dataset.field;
    const msg = $("#" + CSS.escape(id));
    if (msg) msg.remove();
    wrap.classList.remove("has-error");
    for (const t of [wrap, ...$$("input, select, textarea", wrap)]) {
      t.removeAttribute("aria-invalid");
      const ids = (t.getAttribute("aria-describedby") || "").split(/\s+/).filter((x) => x && x !== id);
      if (ids.length) t.setAttribute("aria-describedby", ids.join(" "));
      else t.removeAttribute("aria-describedby");
    }
  }

  function clearErrors() {
    for (const wrap of $$("#app-form .field[data-field]")) clearFieldError(wrap);
    $("#form-error").hidden = true;
  }

  /** After a reload, tells whether the app being edited changed meanwhile; the form keeps what was typed. */
  function refreshEditing() {
    if (!state.editing) return;
    const now = state.list.apps.find((a) => a.id === state.editing.id);
    const box = $("#form-error");
    if (!now) {
      box.replaceChildren(icon("warn"), el("p", { text: "Someone else deleted this app. Saving will fail; add it again instead." }));
      box.hidden = false;
      return;
    }
    const changed = Object.keys(FIELD_LABELS).filter((k) => JSON.stringify(now[k]) !== JSON.stringify(state.editing[k]));
    state.editing = JSON.parse(JSON.stringify(now));
    if (changed.length) {
      box.replaceChildren(icon("warn"), el("p", {
        text: "Someone else changed " + changed.map((k) => FIELD_LABELS[k]).join(", ") +
          ". Your edits are kept here: saving replaces their version.",
      }));
      box.hidden = false;
    }
  }

  // ---- Who can see this ----------------------------------------------------

  function fillAccessRoles() {
    const select = $("#access-role");
    const current = select.value || (state.me && state.me.user && state.me.user.role) || "agent";
    select.replaceChildren(...state.list.roles.map((r) => el("option", { value: r, text: roleLabel(r) })));
    if (state.list.roles.includes(current)) select.value = current;
  }

  async function checkAccess() {
    const role = $("#access-role").value;
    const division = $("#access-division").value.trim();
    const results = $("#access-results");
    results.setAttribute("aria-busy", "true");
    const query = new URLSearchParams({ role, division });
    try {
      const res = await call("GET", "access?" + query);
      renderAccess(res.data);
    } catch (err) {
      handleError(err);
      if (!err.handled) $("#access-summary").textContent = err.message;
    } finally {
      results.removeAttribute("aria-busy");
    }
  }

  function renderAccess(data) {
    const apps = Array.isArray(data.apps) ? data.apps : [];
    const visible = apps.filter((a) => a.visible).length;
    const who = "A" + (/^[aeiou]/i.test(data.role || "") ? "n " : " ") + String(data.role || "user").toLowerCase() +
      (data.division ? " in division " + data.division : " with no division");
    $("#access-summary").textContent = apps.length
      ? who + " sees " + visible + " of " + plural(apps.length, "app", "apps") + "."
      : "There are no apps yet.";
    $("#access-results").replaceChildren(...apps.map((a) => el("li", { class: "access-row" + (a.visible ? " is-visible" : " is-hidden"), "data-app": a.id },
      appAvatar(state.list.apps.find((x) => x.id === a.id) || a, "app-icon-small"),
      el("div", { class: "access-app" },
        el("span", { class: "app-name", text: appName(a) }),
        el("span", { class: "app-meta", text: placementLabel(a.placement) })),
      el("span", { class: "access-status" },
        el("span", { class: "pill " + (a.visible ? "pill-ok" : "pill-muted") }, icon(a.visible ? "check" : "hidden"), a.visible ? "Can open" : "Hidden"),
        a.visible ? null : el("span", { class: "reason", text: a.reason ? capitalize(a.reason) : "" })))));
  }

  // ---- Activity ------------------------------------------------------------

  const ACTIONS = { create: "added", replace: "edited", delete: "deleted", import: "imported", order: "reordered" };

  function describeAction(entry) {
    const after = entry.after || {};
    const before = entry.before || {};
    if (entry.action === "patch") {
      if ("favorite" in after && after.favorite !== before.favorite) return after.favorite ? "starred" : "unstarred";
      if ("disabled" in after && after.disabled !== before.disabled) return after.disabled ? "deactivated" : "activated";
      return "changed";
    }
    return ACTIONS[entry.action] || entry.action;
  }

  function targetName(entry) {
    if (entry.action === "order") return PLACEMENTS[entry.target] ? placementLabel(entry.target) : entry.target;
    const app = state.list && state.list.apps.find((a) => a.id === entry.target);
    const named = (entry.after && entry.after.name) || (entry.before && entry.before.name) || (app && app.name);
    return named || entry.target;
  }

  function changes(entry) {
    const list = (v) => (Array.isArray(v) ? { ids: v } : v || {});
    const before = list(entry.before);
    const after = list(entry.after);
    if (entry.action === "create" || entry.action === "delete") return [];
    const keys = Array.from(new Set([...Object.keys(before), ...Object.keys(after)]))
      .filter((k) => !["source", "locked", "problem", "revision"].includes(k))
      .filter((k) => formatValue(k, before[k]) !== formatValue(k, after[k]));
    return keys.map((k) => ({ key: k, from: formatValue(k, before[k]), to: formatValue(k, after[k]) }));
  }

  async function loadAudit() {
    state.auditLoaded = true;
    const list = $("#audit");
    try {
      const res = await call("GET", "audit?limit=50");
      renderAudit(res.data.entries || []);
    } catch (err) {
      handleError(err);
      if (!err.handled) list.replaceChildren(el("li", { class: "audit-empty", text: err.message }));
    } finally {
      list.removeAttribute("aria-busy");
    }
  }

  function renderAudit(entries) {
    const list = $("#audit");
    if (entries.length === 0) {
      list.replaceChildren(el("li", { class: "audit-empty", text: "No changes yet." }));
      return;
    }
    list.replaceChildren(...entries.map((e) => {
      const user = e.user || {};
      const when = timeAgo(e.at);
      const diff = changes(e);
      const item = el("li", { class: "audit-entry", "data-action": e.action, "data-target": e.target },
        el("span", { class: "avatar avatar-small", "aria-hidden": "true", text: (user.name || "?").charAt(0).toUpperCase() }),
        el("div", { class: "audit-main" },
          el("p", { class: "audit-line" },
            el("strong", { text: user.name || user.id || "Someone" }),
            user.role ? el("span", { class: "audit-role", text: " (" + user.role + ")" }) : null,
            " " + describeAction(e) + " ",
            el("strong", { text: targetName(e) })),
          el("p", { class: "audit-meta" },
            el("time", { datetime: e.at, title: when.title, text: when.text }),
            e.from ? " · from " + e.from : "",
            e.revision !== undefined ? " · revision " + e.revision : "")));
      if (diff.length) {
        $(".audit-main", item).append(el("ul", { class: "audit-diff" }, ...diff.map((d) => el("li", null,
          el("span", { class: "diff-key", text: FIELD_LABELS[d.key] || d.key }),
          el("span", { class: "diff-from", text: d.from }),
          el("span", { class: "diff-arrow", "aria-label": "changed to", text: "→" }),
          el("span", { class: "diff-to", text: d.to })))));
      }
      return item;
    }));
  }

  // ---- Cluster -------------------------------------------------------------

  async function loadInstances() {
    try {
      const res = await call("GET", "instances");
      renderInstances(res.data);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) handleError(err);
    }
  }

  function renderInstances(data) {
    const instances = Array.isArray(data.instances) ? data.instances : [];
    const revision = data.revision;
    const lagging = instances.filter((i) => i.revision !== revision || i.stale);
    const failing = instances.filter((i) => i.error);
    let tone = "ok";
    let text;
    if (data.storage_error) {
      tone = "bad";
      text = "Settings storage unavailable";
    } else if (instances.length === 0) {
      tone = "muted";
      text = "No instances reporting";
    } else if (failing.length) {
      tone = "bad";
      text = plural(failing.length, "instance", "instances") + " failed to apply revision " + revision;
    } else if (lagging.length) {
      tone = "warn";
      text = lagging.length + " of " + plural(instances.length, "instance", "instances") + " behind revision " + revision;
    } else {
      text = instances.length === 1
        ? "1 instance, on revision " + revision
        : instances.length + " instances, all on revision " + revision;
    }
    $("#cluster").hidden = false;
    $("#cluster-dot").className = "dot dot-" + tone;
    $("#cluster-summary").textContent = text;
    const rows = instances.map((i) => {
      const seen = timeAgo(i.seen_at);
      const status = i.error ? i.error : i.stale ? "Not seen lately" : i.revision !== revision ? "Updating" : "Up to date";
      return el("tr", { class: i.error ? "is-bad" : i.stale || i.revision !== revision ? "is-warn" : "" },
        el("td", null, el("span", { text: i.host || i.id }), i.pid ? el("span", { class: "muted", text: " · pid " + i.pid }) : null,
          i.self ? el("span", { class: "badge badge-self", text: "this one" }) : null),
        el("td", { text: String(i.revision) }),
        el("td", null, el("time", { datetime: i.seen_at, title: seen.title, text: seen.text })),
        el("td", { text: status }));
    });
    if (data.storage_error) rows.unshift(el("tr", { class: "is-bad" }, el("td", { colspan: 4, text: data.storage_error })));
    $("#cluster-rows").replaceChildren(...rows);
  }

  // ---- Export --------------------------------------------------------------

  async function openExport() {
    const button = $("#export");
    button.disabled = true;
    try {
      const res = await call("GET", "export");
      if (state.exportURL) URL.revokeObjectURL(state.exportURL);
      const json = JSON.stringify(res.data, null, 2);
      state.exportURL = URL.createObjectURL(new Blob([json + "\n"], { type: "application/json" }));
      const link = $("#export-download");
      link.href = state.exportURL;
      link.download = "helpdesk-apps-revision-" + (res.data.revision !== undefined ? res.data.revision : "export") + ".json";
      $("#export-caddyfile").value = res.data.caddyfile || "# No apps were added here: there is nothing to move into the Caddyfile.\n";
      $("#export-copied").textContent = "";
      $("#export-dialog").showModal();
      $("#export-copy").focus();
    } catch (err) {
      handleError(err);
      if (!err.handled) toast(err.message, "error");
    } finally {
      button.disabled = false;
    }
  }

  async function copyCaddyfile() {
    const area = $("#export-caddyfile");
    try {
      await navigator.clipboard.writeText(area.value);
    } catch (err) {
      area.select();
      document.execCommand("copy");
    }
    $("#export-copied").textContent = "Copied to the clipboard.";
  }

  // ---- Tabs ----------------------------------------------------------------

  function selectTab(tab, focus) {
    ui.selectTab(tab, focus);
    if (tab.id === "tab-audit") loadAudit();
    if (tab.id === "tab-access" && !$("#access-results").childElementCount && state.list) checkAccess();
  }

  // ---- The signed-in user --------------------------------------------------

  async function loadMe() {
    try {
      const res = await ui.getJSON(ME);
      if (!res.ok || res.data === null) return;
      state.me = res.data;
    } catch (err) {
      return;
    }
    const user = (state.me && state.me.user) || {};
    if (!ui.showWho(user, user.role ? roleLabel(user.role) : "")) return;
    if (!$("#access-division").value && user.division_id !== undefined && user.division_id !== null) {
      $("#access-division").value = String(user.division_id);
    }
    if (state.list) fillAccessRoles();
  }

  // ---- Start ---------------------------------------------------------------

  async function start() {
    $("#page").hidden = false;
    $("#fatal").hidden = true;
    const me = loadMe();
    try {
      await loadApps();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.status === 401) showFatal("signed-out");
      else if (err.status === 403) showFatal("forbidden");
      else if (err.status === 503 || err.status === 0) showFatal("unavailable");
      else showFatal("failed", err.message);
      return;
    }
    await me;
    loadInstances();
    clearInterval(state.clusterTimer);
    state.clusterTimer = setInterval(() => {
      if (document.visibilityState === "visible") loadInstances();
    }, CLUSTER_EVERY);
  }

  function bind() {
    const back = $("#back-link").getAttribute("href");
    $("#fatal-back").setAttribute("href", back);
    $("#add-app").addEventListener("click", () => openForm(null));
    $("#export").addEventListener("click", openExport);
    $("#export-copy").addEventListener("click", copyCaddyfile);
    $("#stale-reload").addEventListener("click", reloadAfterStale);
    $("#notice-close").addEventListener("click", () => { $("#notice").hidden = true; });
    $("#fatal-retry").addEventListener("click", start);
    $("#audit-refresh").addEventListener("click", loadAudit);

    const form = $("#app-form");
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      submitForm(false);
    });
    $("#check-app").addEventListener("click", () => submitForm(true));
    form.addEventListener("input", (ev) => {
      const wrap = ev.target.closest(".field[data-field]");
      if (wrap && wrap.classList.contains("has-error")) clearFieldError(wrap);
      if (ev.target === field("id")) field("id").dataset.edited = "true";
      if (ev.target === field("name") && !state.editing && !field("id").dataset.edited) field("id").value = slug(field("name").value);
    });
    $("#app-dialog").addEventListener("close", onFormClosed);
    $("#confirm-form").addEventListener("submit", deleteConfirmed);
    for (const button of $$("dialog [data-close]")) {
      button.addEventListener("click", () => button.closest("dialog").close());
    }

    ui.bindTabs(selectTab);
    $("#access-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      checkAccess();
    });
    $("#access-role").addEventListener("change", checkAccess);
    $("#access-division").addEventListener("input", () => {
      clearTimeout(state.accessTimer);
      state.accessTimer = setTimeout(checkAccess, 300);
    });
  }

  bind();
  start();
})();
