/*
 * What the gateway's pages share: the settings page (admin.js) and the
 * developer console (console.js) run this first, then their own script,
 * which takes these helpers from window.HelpdeskUI.
 *
 * Both pages build their DOM with textContent and attributes only: nothing
 * an API or an app sends is ever parsed as HTML.
 */
(function () {
  "use strict";

  const SVG_NS = "http://www.w3.org/2000/svg";

  // ---- DOM helpers ----------------------------------------------------------

  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));

  /** Creates an element: props are attributes, but for class, text and on* listeners. */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child !== null && child !== undefined && child !== false) node.append(child);
    }
    return node;
  }

  /** An icon of the page's sprite. */
  function icon(name, cls) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("class", cls || "i");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const use = document.createElementNS(SVG_NS, "use");
    use.setAttribute("href", "#i-" + name);
    svg.append(use);
    return svg;
  }

  const capitalize = (s) => String(s).charAt(0).toUpperCase() + String(s).slice(1);

  // ---- The gateway's API ----------------------------------------------------

  /**
   * GETs url, a JSON endpoint of the gateway, with the user's cookies and
   * never from a cache: its status, whether it is ok, and its JSON, or null.
   */
  async function getJSON(url, signal) {
    const res = await fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" }, signal });
    let data = null;
    if (/json/.test(res.headers.get("Content-Type") || "")) data = await res.json().catch(() => null);
    return { status: res.status, ok: res.ok, data };
  }

  // ---- Parts both pages have ------------------------------------------------

  /** Shows the signed-in user at the end of the top bar, with detail under the name; false when the user has no name or id. */
  function showWho(user, detail) {
    const name = user.name || user.id || "";
    if (!name) return false;
    $("#who-avatar").textContent = String(name).charAt(0).toUpperCase();
    $("#who-name").textContent = name;
    $("#who-role").textContent = detail;
    $("#who").hidden = false;
    return true;
  }

  /** Shows the full-page message messages[kind], { title, text }, with detail after its text; returns it. */
  function showFatal(messages, kind, detail) {
    const f = messages[kind];
    $("#fatal").hidden = false;
    $("#fatal").dataset.kind = kind;
    $("#fatal-title").textContent = f.title;
    $("#fatal-text").textContent = detail ? f.text + " " + detail : f.text;
    return f;
  }

  /** Selects tab, and shows the panel it controls only. */
  function selectTab(tab, focus) {
    for (const t of $$("[role=tab]")) {
      const on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      $("#" + t.getAttribute("aria-controls")).hidden = !on;
    }
    if (focus) tab.focus();
  }

  /** Lets the mouse and the arrow, Home and End keys select the page's tabs, with select(tab, focus). */
  function bindTabs(select) {
    for (const tab of $$("[role=tab]")) {
      tab.addEventListener("click", () => select(tab, false));
      tab.addEventListener("keydown", (ev) => {
        const tabs = $$("[role=tab]");
        const at = tabs.indexOf(tab);
        const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 }[ev.key];
        if (next === undefined) return;
        ev.preventDefault();
        select(tabs[(next + tabs.length) % tabs.length], true);
      });
    }
  }

  window.HelpdeskUI = Object.freeze({ $, $$, el, icon, capitalize, getJSON, showWho, showFatal, selectTab, bindTabs });
})();
