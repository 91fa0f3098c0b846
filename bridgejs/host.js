/*
 * Helpdesk Apps host SDK: the Helpdesk side of the helpdesk:apps
 * postMessage protocol (bridgejs/README.md, "The protocol"). A Helpdesk front
 * end mounts each app in an iframe with window.HelpdeskHost.mount(container,
 * options) and gets an instance that answers the app's requests, within the
 * app's scope, and forwards ticket and user changes to it. Popups can be
 * shown in a floating window of the SDK's own (options.window, or
 * HelpdeskHost.openPopup): title bar, close and full-screen buttons,
 * dragged and resized with the pointer or the keyboard, kept inside the
 * viewport, remembered per app.
 *
 * Every rule of the protocol is enforced here: messages on another channel,
 * from another window than the app's iframe, from another origin than the
 * app's, or naming another appId are ignored; out-of-scope requests are
 * refused with helpdesk:error; replies go to the app's exact origin only.
 * What goes wrong is reported to the page as "error" events: the gateway's
 * helpdesk:app:error, a frame the page's own policy blocks, and a handshake
 * that does not come. The gateway's sign-in page, shown in the app's place,
 * holds the handshake with helpdesk:app:signin until the app loads.
 *
 * Styles are set through the CSSOM (element.style), never with <style>
 * elements or style attributes, so the SDK works under a Content-Security-
 * Policy without 'unsafe-inline' in style-src.
 */
(function () {
  "use strict";

  if (typeof window === "undefined" || typeof document === "undefined") return;
  if (window.HelpdeskHost) return;

  var VERSION = "1";
  var CHANNEL = "helpdesk:apps";
  var TICKET_SIDEBAR = "ticket_sidebar";
  var MAIN_MENU = "main_menu";
  var POPUP = "popup";
  var EMBED = "embed";
  var INSTANCE_EVENTS = ["ready", "resize", "fullscreen", "message", "error", "close"];
  var DEFAULT_HANDSHAKE_TIMEOUT = 10000;
  // The apps' frames are sandboxed unless mount says otherwise: they keep
  // their origin and what tools use, and lose the one power a frame of the
  // Helpdesk's own site has over it, navigating the Helpdesk page away
  // without the user's click.
  var DEFAULT_SANDBOX = "allow-scripts allow-same-origin allow-forms allow-popups allow-popups-to-escape-sandbox " +
    "allow-modals allow-downloads allow-top-navigation-by-user-activation allow-storage-access-by-user-activation";

  // The codes of helpdesk:app:error by HTTP status, for a message that
  // names a status but no code.
  var STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    502: "BAD_GATEWAY",
    503: "UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
  };

  var FULLSCREEN_STYLE = {
    position: "fixed",
    top: "0",
    left: "0",
    right: "0",
    bottom: "0",
    width: "100vw",
    height: "100vh",
    maxWidth: "none",
    maxHeight: "none",
    margin: "0",
    zIndex: "2147483647",
  };

  function isObject(v) {
    return v !== null && typeof v === "object";
  }

  function warn(msg, err) {
    try {
      if (typeof console !== "undefined" && console.warn) console.warn("[HelpdeskHost] " + msg, err === undefined ? "" : err);
    } catch (e) {
      /* nothing left to do */
    }
  }

  function randomId() {
    var bytes = new Uint8Array(12);
    if (window.crypto && window.crypto.getRandomValues) {
      window.crypto.getRandomValues(bytes);
    } else {
      for (var i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
    }
    var s = "";
    for (var j = 0; j < bytes.length; j++) s += (bytes[j] + 256).toString(16).slice(1);
    return "app-" + s;
  }

  // size reads a requested dimension: a number of px or a string such as
  // "600px" or "600". Anything else (other units, negative, NaN) is null.
  function size(v) {
    var n = null;
    if (typeof v === "number") n = v;
    else if (typeof v === "string" && /^\s*\d+(\.\d+)?\s*(px)?\s*$/i.test(v)) n = parseFloat(v);
    return n !== null && isFinite(n) && n >= 0 ? Math.round(n) : null;
  }

  function clamp(n, min, max) {
    if (typeof min === "number" && isFinite(min) && n < min) n = min;
    if (typeof max === "number" && isFinite(max) && n > max) n = max;
    return n;
  }

  // within bounds n by lo and hi; when they cross, hi wins (the viewport
  // wins over a minimum size).
  function within(n, lo, hi) {
    return Math.min(hi, Math.max(lo, n));
  }

  // dim reads a configured size in px: a finite, non-negative number, or null.
  function dim(v) {
    return typeof v === "number" && isFinite(v) && v >= 0 ? v : null;
  }

  // sizeOption turns a minSize or maxSize option, a {width, height} or a
  // function returning one, into a function that reads it now ({} when it
  // is neither, or the function fails).
  function sizeOption(v) {
    if (typeof v === "function") {
      return function () {
        try {
          var r = v();
          return isObject(r) ? r : {};
        } catch (e) {
          warn("a minSize or maxSize function failed", e);
          return {};
        }
      };
    }
    var fixed = isObject(v) ? v : {};
    return function () { return fixed; };
  }

  function sandboxedOpaque(sandbox) {
    if (sandbox === undefined || sandbox === null || sandbox === false) return false;
    return String(sandbox).toLowerCase().split(/\s+/).indexOf("allow-same-origin") < 0;
  }

  // sameOriginURL reports whether the URL string u is on origin (a URL
  // reported as just its origin included).
  function sameOriginURL(u, origin) {
    if (typeof u !== "string" || u.indexOf(origin) !== 0) return false;
    var next = u.charAt(origin.length);
    return next === "" || next === "/" || next === "?" || next === "#";
  }

  // mixedContent reports whether a page of this document cannot frame url
  // at all: an http: frame in an https: page, other than loopback.
  function mixedContent(url) {
    if (location.protocol !== "https:" || url.protocol !== "http:") return false;
    var host = url.hostname;
    return !(host === "localhost" || /\.localhost$/.test(host) || host === "[::1]" || /^127\./.test(host));
  }

  // ---- Floating windows ------------------------------------------------------

  var TITLE_HEIGHT = 40;
  // The smallest app area a user can drag a window to (minSize can raise it).
  var FLOOR = { width: 220, height: 90 };
  var DEFAULT_AREA = { width: 480, height: 360 };
  // The gap between a new window and the viewport's bottom-right corner.
  var INSET = 24;
  var KEY_STEP = 10;
  var STORAGE_PREFIX = "helpdesk-host:window:";
  var RADIUS = "10px";
  var FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
  var SVG_NS = "http://www.w3.org/2000/svg";
  var EDGES = ["n", "s", "e", "w", "ne", "nw", "se", "sw"];
  var CURSORS = { n: "ns-resize", s: "ns-resize", e: "ew-resize", w: "ew-resize", ne: "nesw-resize", sw: "nesw-resize", nw: "nwse-resize", se: "nwse-resize" };
  // Icons: paths in a 24-unit box, drawn at 16 px.
  var ICONS = {
    enter: ["M15 3h6v6", "M9 21H3v-6", "M21 3l-7 7", "M3 21l7-7"],
    exit: ["M4 14h6v6", "M20 10h-6V4", "M14 10l7-7", "M3 21l7-7"],
    close: ["M18 6 6 18", "M6 6l12 12"],
  };
  var COLORS = {
    text: "#0f172a",
    muted: "#475569",
    bar: "#f8fafc",
    line: "#e2e8f0",
    hover: "#e2e8f0",
    closeHover: "#fee2e2",
    closeText: "#b91c1c",
    ring: "rgba(37, 99, 235, 0.65)",
  };
  var SHADOW = "0 0 0 1px rgba(15, 23, 42, 0.10), 0 4px 12px rgba(15, 23, 42, 0.08), 0 18px 48px rgba(15, 23, 42, 0.22)";
  // Windows are stacked above the page; the last one used on top.
  var zTop = 2147480000;

  // css sets styles through the CSSOM, which a style-src policy allows.
  function css(el, props) {
    for (var k in props) {
      if (Object.prototype.hasOwnProperty.call(props, k)) el.style[k] = props[k];
    }
    return el;
  }

  // fresh creates an element that the page's own rules (a `button { … }`,
  // say) do not reach.
  function fresh(tag) {
    var el = document.createElement(tag);
    el.style.setProperty("all", "initial");
    el.style.boxSizing = "border-box";
    return el;
  }

  function icon(paths) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "16");
    svg.setAttribute("height", "16");
    svg.setAttribute("fill", "none");
    svg.setAttribute("stroke", "currentColor");
    svg.setAttribute("stroke-width", "2");
    svg.setAttribute("stroke-linecap", "round");
    svg.setAttribute("stroke-linejoin", "round");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    for (var i = 0; i < paths.length; i++) {
      var p = document.createElementNS(SVG_NS, "path");
      p.setAttribute("d", paths[i]);
      svg.appendChild(p);
    }
    return svg;
  }

  function focusVisible(el) {
    try {
      return el.matches(":focus-visible");
    } catch (e) {
      return true;
    }
  }

  function reducedMotion() {
    try {
      return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    } catch (e) {
      return false;
    }
  }

  // storage is localStorage, or null where it is unavailable (disabled,
  // sandboxed, a third-party context that blocks it).
  function storage() {
    try {
      var s = window.localStorage;
      return s && typeof s.getItem === "function" ? s : null;
    } catch (e) {
      return null;
    }
  }

  // loadBounds reads remembered bounds: {anchor, x, y, width, height},
  // where anchor is the viewport's corner the window keeps its distance to
  // ("top-left", "top-right", "bottom-left" or "bottom-right"), x and y
  // the distances, and width and height the app's area.
  function loadBounds(key) {
    var s = key ? storage() : null;
    if (!s) return null;
    try {
      var v = JSON.parse(s.getItem(key) || "null");
      if (!isObject(v) || !/^(top|bottom)-(left|right)$/.test(v.anchor)) return null;
      var out = { anchor: v.anchor };
      var names = ["x", "y", "width", "height"];
      for (var i = 0; i < names.length; i++) {
        var n = v[names[i]];
        if (typeof n !== "number" || !isFinite(n)) return null;
        out[names[i]] = Math.round(n);
      }
      return out.width > 0 && out.height > 0 ? out : null;
    } catch (e) {
      return null;
    }
  }

  function saveBounds(key, b) {
    var s = key ? storage() : null;
    if (!s) return;
    try {
      s.setItem(key, JSON.stringify(b));
    } catch (e) {
      /* full, or refused: the window is just not remembered */
    }
  }

  function copy(b) {
    return { left: b.left, top: b.top, width: b.width, height: b.height };
  }

  /**
   * floatingWindow shows an app's iframe in a window of its own, fixed over
   * the page. Bounds are the window's outer box in CSS px, relative to the
   * viewport; the app's area is the box less the title bar.
   *
   * cfg: {iframe, title, container, avoid, minSize, maxSize, storageKey,
   * autoFocus, onClose(reason), onFullscreen(on)}; minSize and maxSize are
   * functions (sizeOption's), read again at each use.
   */
  function floatingWindow(cfg) {
    var iframe = cfg.iframe;
    // want is where the user or the app put the window: its distances to
    // the viewport's nearest corner (so that a window in the bottom-right
    // corner stays there when the viewport changes) and its size.
    var want;
    var shown; // want, fitted to the viewport as it is now
    var full = false;
    var gesture = null;
    var opener = null;
    var ro = null;
    var removed = false;

    var win = fresh("div");
    var bar = fresh("div");
    var label = fresh("span");
    var fullBtn;
    var closeBtn;
    var body = fresh("div");
    var handles = [];

    win.setAttribute("role", "dialog");
    win.setAttribute("aria-label", cfg.title);
    win.setAttribute("tabindex", "-1");
    win.setAttribute("data-helpdesk-window", "");
    css(win, {
      display: "block",
      position: "fixed",
      zIndex: String(++zTop),
      background: "#fff",
      borderRadius: RADIUS,
      boxShadow: SHADOW,
      fontFamily: FONT,
      color: COLORS.text,
      outline: "none",
      margin: "0",
      padding: "0",
    });

    bar.setAttribute("data-helpdesk-part", "titlebar");
    bar.setAttribute("tabindex", "0");
    bar.setAttribute("role", "group");
    bar.setAttribute("aria-roledescription", "title bar");
    bar.setAttribute("aria-label", cfg.title + ": arrow keys move the window, Shift with arrow keys resizes it, Escape closes it");
    css(bar, {
      display: "flex",
      alignItems: "center",
      gap: "2px",
      position: "absolute",
      left: "0",
      top: "0",
      right: "0",
      height: TITLE_HEIGHT + "px",
      padding: "0 6px 0 14px",
      background: COLORS.bar,
      borderBottom: "1px solid " + COLORS.line,
      borderRadius: RADIUS + " " + RADIUS + " 0 0",
      fontFamily: FONT,
      userSelect: "none",
      webkitUserSelect: "none",
      touchAction: "none",
      cursor: "default",
      outline: "none",
    });

    label.setAttribute("data-helpdesk-part", "title");
    label.textContent = cfg.title;
    css(label, {
      display: "block",
      flex: "1 1 auto",
      minWidth: "0",
      overflow: "hidden",
      textOverflow: "ellipsis",
      whiteSpace: "nowrap",
      fontFamily: FONT,
      fontSize: "13px",
      fontWeight: "600",
      lineHeight: "20px",
      letterSpacing: "0.01em",
      color: COLORS.text,
    });

    function button(part, text, danger) {
      var b = fresh("button");
      b.type = "button";
      b.setAttribute("data-helpdesk-part", part);
      b.setAttribute("aria-label", text);
      b.title = text;
      css(b, {
        display: "inline-flex",
        alignItems: "center",
        justifyContent: "center",
        flex: "0 0 auto",
        width: "28px",
        height: "28px",
        padding: "0",
        margin: "0",
        border: "0",
        borderRadius: "6px",
        background: "transparent",
        color: COLORS.muted,
        cursor: "pointer",
        outline: "none",
      });
      var hover = false;
      var focused = false;
      function paint() {
        var on = hover || focused;
        b.style.background = on ? (danger ? COLORS.closeHover : COLORS.hover) : "transparent";
        b.style.color = on && danger ? COLORS.closeText : on ? COLORS.text : COLORS.muted;
        b.style.boxShadow = focused ? "inset 0 0 0 2px " + COLORS.ring : "none";
      }
      b.addEventListener("pointerenter", function () { hover = true; paint(); });
      b.addEventListener("pointerleave", function () { hover = false; paint(); });
      b.addEventListener("focus", function () { focused = focusVisible(b); paint(); });
      b.addEventListener("blur", function () { focused = false; paint(); });
      return b;
    }

    fullBtn = button("fullscreen", "Full screen", false);
    closeBtn = button("close", "Close", true);
    function paintFullButton() {
      fullBtn.textContent = "";
      fullBtn.appendChild(icon(full ? ICONS.exit : ICONS.enter));
      var text = full ? "Exit full screen" : "Full screen";
      fullBtn.setAttribute("aria-label", text);
      fullBtn.setAttribute("aria-pressed", full ? "true" : "false");
      fullBtn.title = text;
    }
    paintFullButton();
    closeBtn.appendChild(icon(ICONS.close));

    body.setAttribute("data-helpdesk-part", "body");
    css(body, {
      display: "block",
      position: "absolute",
      left: "0",
      right: "0",
      top: TITLE_HEIGHT + "px",
      bottom: "0",
      overflow: "hidden",
      background: "#fff",
      borderRadius: "0 0 " + RADIUS + " " + RADIUS,
    });
    css(iframe, {
      display: "block",
      width: "100%",
      height: "100%",
      border: "0",
      margin: "0",
      padding: "0",
      background: "#fff",
    });

    bar.appendChild(label);
    bar.appendChild(fullBtn);
    bar.appendChild(closeBtn);
    body.appendChild(iframe);
    win.appendChild(bar);
    win.appendChild(body);

    // Resize handles straddle the edges: 4 px outside, 4 px over the app.
    EDGES.forEach(function (dir) {
      var h = fresh("div");
      h.setAttribute("data-helpdesk-part", "resize-" + dir);
      h.setAttribute("aria-hidden", "true");
      var corner = dir.length === 2;
      var s = { display: "block", position: "absolute", zIndex: "2", touchAction: "none", cursor: CURSORS[dir] };
      var edge = corner ? "14px" : "8px";
      if (dir.indexOf("n") >= 0) s.top = "-4px";
      if (dir.indexOf("s") >= 0) s.bottom = "-4px";
      if (dir.indexOf("w") >= 0) s.left = "-4px";
      if (dir.indexOf("e") >= 0) s.right = "-4px";
      if (dir === "n" || dir === "s") {
        s.left = "10px";
        s.right = "10px";
        s.height = edge;
      } else if (dir === "e" || dir === "w") {
        s.top = "10px";
        s.bottom = "10px";
        s.width = edge;
      } else {
        s.width = edge;
        s.height = edge;
      }
      css(h, s);
      h.addEventListener("pointerdown", function (ev) { startGesture(ev, dir); });
      listenGesture(h);
      handles.push(h);
      win.appendChild(h);
    });

    // ---- Geometry ----

    function avoidElement() {
      var a = cfg.avoid;
      if (!a) return null;
      if (typeof a === "string") {
        try {
          return document.querySelector(a);
        } catch (e) {
          return null;
        }
      }
      return typeof a.getBoundingClientRect === "function" ? a : null;
    }

    // viewport is the area windows may use: the viewport (less scroll
    // bars), below the bottom edge of the element to avoid.
    function viewport() {
      var de = document.documentElement;
      var w = window.innerWidth || 0;
      var h = window.innerHeight || 0;
      if (de && de.clientWidth > 0 && de.clientWidth < w) w = de.clientWidth;
      if (de && de.clientHeight > 0 && de.clientHeight < h) h = de.clientHeight;
      var top = 0;
      var el = avoidElement();
      if (el) {
        var r = el.getBoundingClientRect();
        if (r.width > 0 || r.height > 0) top = Math.min(Math.max(0, Math.ceil(r.bottom)), h);
      }
      return { left: 0, top: top, right: w, bottom: h };
    }

    // limits are the bounds' limits: minSize and maxSize (of the app's
    // area) as they are now, and, unless noFloor (the app's requests are
    // not held to it), the floor of the user's resizing.
    function limits(noFloor) {
      var minSize = cfg.minSize();
      var maxSize = cfg.maxSize();
      var floor = noFloor ? { width: 0, height: 0 } : FLOOR;
      var minW = Math.max(floor.width, dim(minSize.width) || 0);
      var minH = Math.max(floor.height, dim(minSize.height) || 0) + TITLE_HEIGHT;
      var maxW = dim(maxSize.width);
      var maxH = dim(maxSize.height);
      maxW = maxW === null ? Infinity : maxW;
      maxH = maxH === null ? Infinity : maxH + TITLE_HEIGHT;
      return { minW: Math.min(minW, maxW), minH: Math.min(minH, maxH), maxW: maxW, maxH: maxH };
    }

    // fit moves b into the viewport, then shrinks it to fit.
    function fit(b) {
      var vp = viewport();
      var w = Math.max(0, Math.min(b.width, vp.right - vp.left));
      var h = Math.max(0, Math.min(b.height, vp.bottom - vp.top));
      return {
        left: Math.round(within(b.left, vp.left, vp.right - w)),
        top: Math.round(within(b.top, vp.top, vp.bottom - h)),
        width: Math.round(w),
        height: Math.round(h),
      };
    }

    function fullBounds() {
      var vp = viewport();
      return { left: vp.left, top: vp.top, width: vp.right - vp.left, height: vp.bottom - vp.top };
    }

    function apply() {
      var b = full ? fullBounds() : shown;
      css(win, { left: b.left + "px", top: b.top + "px", width: b.width + "px", height: b.height + "px" });
    }

    function area(b) {
      return { width: b.width, height: Math.max(0, b.height - TITLE_HEIGHT) };
    }

    // anchored turns bounds in the viewport into want: distances to the
    // corner nearest the window's centre.
    function anchored(b) {
      var vp = viewport();
      var right = b.left + b.width / 2 > (vp.left + vp.right) / 2;
      var bottom = b.top + b.height / 2 > (vp.top + vp.bottom) / 2;
      return {
        right: right,
        bottom: bottom,
        x: right ? vp.right - (b.left + b.width) : b.left - vp.left,
        y: bottom ? vp.bottom - (b.top + b.height) : b.top - vp.top,
        width: b.width,
        height: b.height,
      };
    }

    // placed is want's bounds in the viewport as it is now, before fitting.
    function placed(a) {
      var vp = viewport();
      return {
        left: a.right ? vp.right - a.x - a.width : vp.left + a.x,
        top: a.bottom ? vp.bottom - a.y - a.height : vp.top + a.y,
        width: a.width,
        height: a.height,
      };
    }

    function persist() {
      if (!cfg.storageKey) return;
      saveBounds(cfg.storageKey, {
        anchor: (want.bottom ? "bottom" : "top") + "-" + (want.right ? "right" : "left"),
        x: want.x,
        y: want.y,
        width: want.width,
        height: Math.max(0, want.height - TITLE_HEIGHT),
      });
    }

    // current is want's bounds in the viewport as it is now: within the
    // size limits as they are now (which may follow the viewport), then
    // fitted to the viewport. want itself is kept, for a larger viewport.
    function current() {
      var L = limits(true);
      return fit(placed({
        right: want.right,
        bottom: want.bottom,
        x: want.x,
        y: want.y,
        width: within(want.width, L.minW, L.maxW),
        height: within(want.height, L.minH, L.maxH),
      }));
    }

    function refit() {
      if (removed) return;
      shown = current();
      apply();
    }

    // The first bounds: remembered ones, or the default size in the
    // bottom-right corner.
    (function () {
      var L = limits();
      var saved = loadBounds(cfg.storageKey);
      if (saved) {
        want = {
          right: saved.anchor.indexOf("right") > 0,
          bottom: saved.anchor.indexOf("bottom") === 0,
          x: saved.x,
          y: saved.y,
          width: within(saved.width, L.minW, L.maxW),
          height: within(saved.height + TITLE_HEIGHT, L.minH, L.maxH),
        };
      } else {
        want = {
          right: true,
          bottom: true,
          x: INSET,
          y: INSET,
          width: within(DEFAULT_AREA.width, L.minW, L.maxW),
          height: within(DEFAULT_AREA.height + TITLE_HEIGHT, L.minH, L.maxH),
        };
      }
      shown = current();
    })();

    // ---- Pointer gestures ----

    function raise() {
      if (Number(win.style.zIndex) < zTop) win.style.zIndex = String(++zTop);
    }

    function inButton(target) {
      for (var n = target; n && n !== bar; n = n.parentNode) {
        if (n.nodeName === "BUTTON") return true;
      }
      return false;
    }

    function startGesture(ev, kind) {
      if (full || gesture || ev.button !== 0 || ev.isPrimary === false) return;
      if (kind === "move" && inButton(ev.target)) return;
      ev.preventDefault();
      gesture = { kind: kind, id: ev.pointerId, x: ev.clientX, y: ev.clientY, from: copy(shown), target: ev.currentTarget };
      try {
        ev.currentTarget.setPointerCapture(ev.pointerId);
      } catch (e) {
        /* a pointer that is already gone */
      }
      // The app's frame would swallow the pointer where capture is not
      // honoured across frames.
      iframe.style.pointerEvents = "none";
      raise();
      if (kind === "move") bar.focus({ preventScroll: true });
    }

    function resized(f, dir, dx, dy) {
      var L = limits();
      var vp = viewport();
      var left = f.left;
      var top = f.top;
      var right = f.left + f.width;
      var bottom = f.top + f.height;
      if (dir.indexOf("e") >= 0) right = within(right + dx, left + L.minW, Math.min(left + L.maxW, vp.right));
      if (dir.indexOf("w") >= 0) left = within(left + dx, Math.max(right - L.maxW, vp.left), right - L.minW);
      if (dir.indexOf("s") >= 0) bottom = within(bottom + dy, top + L.minH, Math.min(top + L.maxH, vp.bottom));
      if (dir.indexOf("n") >= 0) top = within(top + dy, Math.max(bottom - L.maxH, vp.top), bottom - L.minH);
      return { left: left, top: top, width: right - left, height: bottom - top };
    }

    function moveGesture(ev) {
      if (!gesture || ev.pointerId !== gesture.id) return;
      var dx = ev.clientX - gesture.x;
      var dy = ev.clientY - gesture.y;
      var f = gesture.from;
      if (gesture.kind === "move") {
        shown = fit({ left: f.left + dx, top: f.top + dy, width: f.width, height: f.height });
      } else {
        shown = fit(resized(f, gesture.kind, dx, dy));
      }
      want = anchored(shown);
      apply();
    }

    function endGesture(ev) {
      if (!gesture || ev.pointerId !== gesture.id) return;
      var target = gesture.target;
      gesture = null;
      try {
        if (target.hasPointerCapture(ev.pointerId)) target.releasePointerCapture(ev.pointerId);
      } catch (e) {
        /* already released */
      }
      iframe.style.pointerEvents = "";
      persist();
    }

    function listenGesture(el) {
      el.addEventListener("pointermove", moveGesture);
      el.addEventListener("pointerup", endGesture);
      el.addEventListener("pointercancel", endGesture);
      el.addEventListener("lostpointercapture", endGesture);
    }

    bar.addEventListener("pointerdown", function (ev) { startGesture(ev, "move"); });
    listenGesture(bar);
    bar.addEventListener("dblclick", function (ev) {
      if (!inButton(ev.target)) cfg.onFullscreen(!full);
    });
    win.addEventListener("pointerdown", raise, true);
    win.addEventListener("focusin", raise);

    // ---- Keyboard ----

    bar.addEventListener("keydown", function (ev) {
      if (ev.target !== bar || full || ev.altKey || ev.ctrlKey || ev.metaKey) return;
      var dx = 0;
      var dy = 0;
      switch (ev.key) {
        case "ArrowLeft": dx = -KEY_STEP; break;
        case "ArrowRight": dx = KEY_STEP; break;
        case "ArrowUp": dy = -KEY_STEP; break;
        case "ArrowDown": dy = KEY_STEP; break;
        default: return;
      }
      ev.preventDefault();
      var f = shown;
      if (ev.shiftKey) {
        var L = limits();
        shown = fit({
          left: f.left,
          top: f.top,
          width: within(f.width + dx, L.minW, L.maxW),
          height: within(f.height + dy, L.minH, L.maxH),
        });
      } else {
        shown = fit({ left: f.left + dx, top: f.top + dy, width: f.width, height: f.height });
      }
      want = anchored(shown);
      apply();
      persist();
    });
    var barFocused = false;
    function paintBar() {
      bar.style.boxShadow = barFocused ? "inset 0 0 0 2px " + COLORS.ring : "none";
    }
    bar.addEventListener("focus", function () { barFocused = focusVisible(bar); paintBar(); });
    bar.addEventListener("blur", function () { barFocused = false; paintBar(); });

    // Escape leaves full screen, or closes the window. Only keys pressed
    // while the focus is in the window's own parts reach here: the app's
    // document is another one.
    win.addEventListener("keydown", function (ev) {
      if (ev.key !== "Escape" || ev.defaultPrevented) return;
      ev.preventDefault();
      ev.stopPropagation();
      if (full) cfg.onFullscreen(false);
      else cfg.onClose("escape");
    });
    fullBtn.addEventListener("click", function () { cfg.onFullscreen(!full); });
    closeBtn.addEventListener("click", function () { cfg.onClose("button"); });

    // ---- The viewport ----

    window.addEventListener("resize", refit);
    window.addEventListener("scroll", refit, { passive: true });
    var avoided = avoidElement();
    if (avoided && typeof ResizeObserver === "function") {
      ro = new ResizeObserver(refit);
      ro.observe(avoided);
    }

    // ---- Open ----

    if (cfg.autoFocus) {
      var active = document.activeElement;
      opener = active && active !== document.body && active !== document.documentElement ? active : null;
    }
    apply();
    cfg.container.appendChild(win);
    if (!reducedMotion() && typeof win.animate === "function") {
      try {
        win.animate([{ opacity: 0 }, { opacity: 1 }], { duration: 120, easing: "ease-out" });
      } catch (e) {
        /* no animation */
      }
    }
    if (cfg.autoFocus) bar.focus({ preventScroll: true });

    return {
      element: win,
      bounds: function () {
        return copy(full ? fullBounds() : shown);
      },
      // request sets the app's area at the app's request (clamped to
      // minSize and maxSize already; null keeps a dimension), and returns
      // the area it gets in the viewport.
      request: function (width, height) {
        // The window grows away from its corner.
        if (width !== null) want.width = width;
        if (height !== null) want.height = height + TITLE_HEIGHT;
        shown = current();
        apply();
        persist();
        return area(shown);
      },
      setFullscreen: function (on) {
        full = on;
        win.style.borderRadius = full ? "0" : RADIUS;
        bar.style.borderRadius = full ? "0" : RADIUS + " " + RADIUS + " 0 0";
        body.style.borderRadius = full ? "0" : "0 0 " + RADIUS + " " + RADIUS;
        win.style.boxShadow = full ? "none" : SHADOW;
        handles.forEach(function (h) { h.style.display = full ? "none" : "block"; });
        paintFullButton();
        if (!full) shown = current();
        apply();
      },
      remove: function () {
        if (removed) return;
        removed = true;
        var hadFocus = false;
        try {
          hadFocus = win.contains(document.activeElement);
        } catch (e) {
          hadFocus = false;
        }
        window.removeEventListener("resize", refit);
        window.removeEventListener("scroll", refit, { passive: true });
        if (ro) ro.disconnect();
        ro = null;
        gesture = null;
        if (win.parentNode) win.parentNode.removeChild(win);
        if (hadFocus && opener && opener.isConnected !== false && typeof opener.focus === "function") {
          try {
            opener.focus({ preventScroll: true });
          } catch (e) {
            /* it can no longer take the focus */
          }
        }
      },
    };
  }

  // ---- Instances ---------------------------------------------------------------

  /**
   * @typedef {Object} MountOptions
   * @property {string} src URL of the app, resolved against document.baseURI;
   *   the app's origin is derived from it.
   * @property {string} [app] the gateway's app id; names the remembered
   *   window bounds.
   * @property {"popup"|"embed"} [mode="embed"] how the app is shown.
   * @property {"ticket_sidebar"|"main_menu"} [placement="main_menu"] where.
   * @property {Object} [user] the logged-in user: {id, name, email, role, division_id}.
   * @property {Object|null} [ticket] the open ticket (ticket_sidebar only).
   * @property {{width?: number, height?: number}|function(): {width?: number, height?: number}} [minSize]
   *   lower bounds of the app's area, px; a function is read again on each
   *   use (opening, a resize request, a window's refit to the viewport).
   * @property {{width?: number, height?: number}|function(): {width?: number, height?: number}} [maxSize]
   *   upper bounds of the app's area, px; a function likewise.
   * @property {string} [title] the iframe's title and the window's; default the app id.
   * @property {string|false} [sandbox] the iframe's sandbox attribute. Default,
   *   for an app of another origin: DEFAULT_SANDBOX, with which the app keeps
   *   its origin, scripts, forms, popups, downloads and dialogs, and may
   *   navigate the Helpdesk page only on a user's click (a frame of the
   *   Helpdesk's site could otherwise do it at any time); for one of the
   *   page's own origin, which could lift any sandbox, none; false: none. Without allow-same-origin the app's origin is
   *   opaque and nothing is posted to it.
   * @property {string} [allow] the iframe's allow (permissions policy) attribute.
   * @property {number} [handshakeTimeout=10000] ms to wait for
   *   helpdesk:app:ready before an "error" event with code TIMEOUT; 0 disables.
   * @property {boolean} [window=false] popup mode: show the app in a floating
   *   window appended to container.
   * @property {string|Element|null} [avoid] window: an element (or a selector)
   *   the window never covers: its bottom edge is the window's top limit.
   * @property {boolean} [remember=true] window: remember the window's bounds
   *   in localStorage, per app.
   * @property {boolean} [autoFocus=true] window: move the focus into the
   *   window when it opens, and back when it closes.
   */

  /**
   * Mounts an app in a new iframe in container.
   * @param {Element|string} container an element or a CSS selector.
   * @param {MountOptions} options
   */
  function mount(container, options) {
    var el = typeof container === "string" ? document.querySelector(container) : container;
    if (!el || typeof el.appendChild !== "function") throw new TypeError("HelpdeskHost.mount: container not found");
    if (!isObject(options) || typeof options.src !== "string" || options.src === "") {
      throw new TypeError("HelpdeskHost.mount: options.src is required");
    }
    return new Instance(el, options);
  }

  /**
   * Opens an app as a popup in a floating window over the page: mount on
   * document.body with mode "popup" and window true.
   * @param {MountOptions} options
   */
  function openPopup(options) {
    if (!isObject(options)) throw new TypeError("HelpdeskHost.openPopup: options are required");
    var o = {};
    Object.keys(options).forEach(function (k) { o[k] = options[k]; });
    o.mode = POPUP;
    o.window = true;
    return mount(document.body, o);
  }

  function Instance(container, options) {
    var self = this;
    var url = new URL(options.src, document.baseURI);
    var mode = options.mode === POPUP ? POPUP : EMBED;
    var placement = options.placement === TICKET_SIDEBAR ? TICKET_SIDEBAR : MAIN_MENU;
    var appId = randomId();
    var origin = sandboxedOpaque(options.sandbox) ? "null" : url.origin;
    var user = options.user === undefined ? null : options.user;
    var ticket = options.ticket === undefined ? null : options.ticket;
    // Each a function: minSize and maxSize may be functions, read at each use.
    var minSize = sizeOption(options.minSize);
    var maxSize = sizeOption(options.maxSize);
    var title = typeof options.title === "string" && options.title ? options.title : options.app ? String(options.app) : "Helpdesk app";
    var handshakeTimeout = dim(options.handshakeTimeout);
    if (handshakeTimeout === null) handshakeTimeout = DEFAULT_HANDSHAKE_TIMEOUT;
    var listeners = {};
    var connected = false;
    var destroyed = false;
    var isFullscreen = false;
    var savedStyle = null;
    var requested = { width: null, height: null };
    var loaded = false;
    var handshakeTimer = null;
    var win = null;

    var iframe = document.createElement("iframe");
    iframe.setAttribute("title", title);
    // A frame of the page's own origin could lift any sandbox: it gets
    // none unless asked.
    var sandbox = options.sandbox === undefined && url.origin !== location.origin ? DEFAULT_SANDBOX : options.sandbox;
    if (sandbox !== undefined && sandbox !== null && sandbox !== false) iframe.setAttribute("sandbox", String(sandbox));
    if (typeof options.allow === "string") iframe.setAttribute("allow", options.allow);
    iframe.setAttribute("data-helpdesk-app-id", appId);
    if (options.app) iframe.setAttribute("data-helpdesk-app", String(options.app));
    iframe.style.border = "0";
    iframe.src = url.href;

    function emit(name, detail) {
      var list = (listeners[name] || []).slice();
      for (var i = 0; i < list.length; i++) {
        try {
          list[i].call(self, detail);
        } catch (e) {
          try {
            console.error("[HelpdeskHost] a listener for " + name + " failed:", e);
          } catch (e2) {
            /* nothing left to do */
          }
        }
      }
    }

    // fail reports a failure to the page as an "error" event.
    function fail(code, source, message, status) {
      if (destroyed) return;
      var detail = { code: code, message: message, source: source };
      if (typeof status === "number") detail.status = status;
      emit("error", detail);
    }

    function stopHandshake() {
      if (handshakeTimer !== null) clearTimeout(handshakeTimer);
      handshakeTimer = null;
    }

    // startHandshake waits handshakeTimeout ms for helpdesk:app:ready.
    function startHandshake() {
      stopHandshake();
      if (handshakeTimeout > 0) handshakeTimer = setTimeout(onHandshakeTimeout, handshakeTimeout);
    }

    // post sends one message to the app, to its exact origin only.
    function post(event, payload) {
      if (destroyed || origin === "null") return;
      var w = iframe.contentWindow;
      if (!w) return;
      var msg = { channel: CHANNEL, event: event, payload: payload };
      try {
        w.postMessage(msg, origin);
      } catch (e) {
        // Data that cannot be cloned (a function in a ticket, say): send
        // its JSON form instead.
        try {
          w.postMessage(JSON.parse(JSON.stringify(msg)), origin);
        } catch (e2) {
          warn("could not post " + event, e2);
        }
      }
    }

    function reply(req, event, payload) {
      if (req.requestId !== undefined && req.requestId !== null) payload.requestId = req.requestId;
      post(event, payload);
    }

    function refuse(req, event, code, message) {
      reply(req, "helpdesk:error", { event: event, code: code, message: message });
    }

    function sendTicket(req) {
      reply(req, "helpdesk:context:ticket", { ticket: ticket });
    }

    function applySize(width, height) {
      if (width !== null) iframe.style.width = width + "px";
      if (height !== null) iframe.style.height = height + "px";
    }

    function setFullscreen(on) {
      if (on === isFullscreen) return;
      isFullscreen = on;
      if (win) {
        win.setFullscreen(on);
        return;
      }
      if (on) {
        savedStyle = iframe.style.cssText;
        Object.keys(FULLSCREEN_STYLE).forEach(function (k) {
          iframe.style[k] = FULLSCREEN_STYLE[k];
        });
      } else {
        iframe.style.cssText = savedStyle || "";
        savedStyle = null;
        // A resize requested while full screen applies now.
        applySize(requested.width, requested.height);
      }
    }

    function appError(payload) {
      var status = typeof payload.status === "number" && payload.status % 1 === 0 && payload.status >= 100 && payload.status <= 599 ? payload.status : undefined;
      var code = typeof payload.code === "string" && payload.code ? payload.code : (status && STATUS_CODES[status]) || "ERROR";
      var message = typeof payload.message === "string" ? payload.message : "";
      stopHandshake();
      // The frame shows an error page now, not the app.
      connected = false;
      fail(code, "gateway", message, status);
    }

    function handle(event, payload) {
      switch (event) {
        case "helpdesk:app:ready":
          connected = true;
          stopHandshake();
          post("helpdesk:context:user", { user: user });
          if (placement === TICKET_SIDEBAR && ticket) post("helpdesk:context:ticket", { ticket: ticket });
          post("helpdesk:context:app", { appId: appId, mode: mode });
          emit("ready", { appId: appId, mode: mode, placement: placement });
          break;
        case "helpdesk:app:error":
          appError(payload);
          break;
        case "helpdesk:app:signin":
          // The gateway's sign-in page, in the app's place: the frame is
          // live, so no handshake timeout while the user signs in. It
          // says signedIn as it reloads the frame into the app, whose
          // handshake is then awaited afresh.
          if (connected) break;
          stopHandshake();
          if (payload.signedIn === true) startHandshake();
          break;
        case "helpdesk:get:context:user":
          reply(payload, "helpdesk:context:user", { user: user });
          break;
        case "helpdesk:get:context:ticket":
          if (placement !== TICKET_SIDEBAR) {
            refuse(payload, event, "OUT_OF_SCOPE", "ticket context is only available to ticket_sidebar apps");
          } else if (!ticket) {
            refuse(payload, event, "NO_TICKET", "no ticket is open");
          } else {
            sendTicket(payload);
          }
          break;
        case "helpdesk:app:resize": {
          if (mode !== POPUP) {
            refuse(payload, event, "OUT_OF_SCOPE", "resize is only available in popup mode");
            break;
          }
          var w = size(payload.width);
          var h = size(payload.height);
          if (w === null && h === null) break;
          var lo = minSize();
          var hi = maxSize();
          if (w !== null) w = clamp(w, lo.width, hi.width);
          if (h !== null) h = clamp(h, lo.height, hi.height);
          if (win) {
            // The window also keeps the app inside the viewport.
            emit("resize", win.request(w, h));
            break;
          }
          if (w !== null) requested.width = w;
          if (h !== null) requested.height = h;
          if (!isFullscreen) applySize(w, h);
          var rect = iframe.getBoundingClientRect();
          emit("resize", {
            width: w !== null ? w : Math.round(rect.width),
            height: h !== null ? h : Math.round(rect.height),
          });
          break;
        }
        case "helpdesk:app:fullscreen":
          if (mode !== POPUP) {
            refuse(payload, event, "OUT_OF_SCOPE", "fullscreen is only available in popup mode");
            break;
          }
          setFullscreen(payload.fullscreen === true);
          emit("fullscreen", { fullscreen: isFullscreen });
          break;
        default:
        // Unknown events are ignored.
      }
    }

    function onMessage(ev) {
      try {
        if (destroyed) return;
        // The source first: only this instance's iframe speaks for the app.
        if (!ev.source || ev.source !== iframe.contentWindow) return;
        if (origin === "null" || ev.origin !== origin) return;
        var data = ev.data;
        if (!isObject(data) || data.channel !== CHANNEL || typeof data.event !== "string") return;
        var payload = isObject(data.payload) ? data.payload : {};
        // An app that has no appId yet may send null or "": both mean none.
        var claimed = payload.appId;
        if (claimed !== undefined && claimed !== null && claimed !== "" && claimed !== appId) return;
        emit("message", { event: data.event, payload: payload, origin: ev.origin });
        handle(data.event, payload);
      } catch (e) {
        warn("could not handle a message", e);
      }
    }

    // ---- Failures the page can see ----

    function onHandshakeTimeout() {
      handshakeTimer = null;
      if (destroyed || connected) return;
      fail("TIMEOUT", "handshake", loaded ?
        "the app's frame loaded but sent no helpdesk:app:ready within " + handshakeTimeout + " ms (a browser error page, a page that refused to be framed, or a page without the bridge)" :
        "the app's frame did not finish loading within " + handshakeTimeout + " ms");
    }

    function onLoad() {
      loaded = true;
    }

    function onFrameError() {
      if (connected) return;
      stopHandshake();
      fail("LOAD_FAILED", "load", "the app's frame failed to load");
    }

    // A Content-Security-Policy of the Helpdesk page (frame-src, child-src
    // or default-src) that does not allow the app's origin blocks the frame
    // and reports it to this document.
    function onViolation(ev) {
      if (destroyed || connected || ev.disposition === "report") return;
      var directive = String(ev.effectiveDirective || ev.violatedDirective || "");
      if (!/^(frame-src|child-src|default-src)\b/.test(directive)) return;
      if (ev.target !== iframe && !sameOriginURL(ev.blockedURI, url.origin)) return;
      stopHandshake();
      fail("LOAD_FAILED", "load", "the Helpdesk page's Content-Security-Policy (" + directive + ") does not allow framing " + url.origin);
    }

    if (origin === "null") {
      // A sandbox without allow-same-origin, or a data: URL: no origin to
      // post to or to check messages against.
      warn("app " + url.href + " has an opaque origin; messages to and from it are dropped");
    }
    window.addEventListener("message", onMessage);
    iframe.addEventListener("load", onLoad);
    iframe.addEventListener("error", onFrameError);
    document.addEventListener("securitypolicyviolation", onViolation);
    startHandshake();
    if (mixedContent(url)) {
      stopHandshake();
      // After mount returns, so that the page has subscribed.
      setTimeout(function () {
        fail("LOAD_FAILED", "load", "an https: page cannot frame the http: app " + url.href + " (mixed content)");
      }, 0);
    }

    if (mode === POPUP && options.window) {
      win = floatingWindow({
        iframe: iframe,
        title: title,
        container: container,
        avoid: options.avoid,
        minSize: minSize,
        maxSize: maxSize,
        storageKey: options.remember === false ? null : STORAGE_PREFIX + (options.app ? String(options.app) : url.origin + url.pathname),
        autoFocus: options.autoFocus !== false,
        onClose: function (reason) { self.close(reason); },
        onFullscreen: function (on) {
          if (destroyed || on === isFullscreen) return;
          setFullscreen(on);
          emit("fullscreen", { fullscreen: isFullscreen });
        },
      });
    } else {
      container.appendChild(iframe);
    }

    Object.defineProperties(this, {
      iframe: { value: iframe, enumerable: true },
      windowElement: { value: win ? win.element : null, enumerable: true },
      appId: { value: appId, enumerable: true },
      app: { value: options.app === undefined ? null : options.app, enumerable: true },
      origin: { value: origin, enumerable: true },
      mode: { value: mode, enumerable: true },
      placement: { value: placement, enumerable: true },
      connected: { get: function () { return connected && !destroyed; }, enumerable: true },
      fullscreen: { get: function () { return isFullscreen; }, enumerable: true },
      bounds: { get: function () { return win && !destroyed ? win.bounds() : null; }, enumerable: true },
      ticket: { get: function () { return ticket; }, enumerable: true },
      user: { get: function () { return user; }, enumerable: true },
      destroyed: { get: function () { return destroyed; }, enumerable: true },
    });

    /**
     * Stores the ticket and, for a connected ticket_sidebar app, sends it as
     * helpdesk:ticket:update. A null ticket (none open) is stored only.
     * @param {Object|null} next
     */
    this.updateTicket = function (next) {
      if (destroyed) return;
      ticket = next === undefined ? null : next;
      if (placement === TICKET_SIDEBAR && connected && ticket) post("helpdesk:ticket:update", { ticket: ticket });
    };

    /**
     * Stores the user and, for a connected app, sends helpdesk:context:user.
     * @param {Object} next
     */
    this.setUser = function (next) {
      if (destroyed) return;
      user = next === undefined ? null : next;
      if (connected) post("helpdesk:context:user", { user: user });
    };

    /**
     * Subscribes to an instance event: "ready", "resize" ({width, height}),
     * "fullscreen" ({fullscreen}), "message" (every accepted message),
     * "error" ({code, status?, message, source}) or "close" ({reason}).
     * @returns {function(): void} a function that unsubscribes.
     */
    this.on = function (name, fn) {
      if (typeof name !== "string" || typeof fn !== "function") return function () {};
      if (INSTANCE_EVENTS.indexOf(name) < 0) warn("unknown instance event " + JSON.stringify(name));
      (listeners[name] = listeners[name] || []).push(fn);
      return function () { self.off(name, fn); };
    };

    this.off = function (name, fn) {
      var list = listeners[name];
      if (!list) return;
      var i = list.indexOf(fn);
      if (i >= 0) list.splice(i, 1);
    };

    /**
     * Closes the app as its window's close button does: emits "close"
     * ({reason}), then destroys the instance.
     * @param {string} [reason="api"]
     */
    this.close = function (reason) {
      if (destroyed) return;
      emit("close", { reason: typeof reason === "string" && reason ? reason : "api" });
      self.destroy();
    };

    /**
     * Removes the message listener and the iframe (and its window, handing
     * the focus back); nothing is posted, handled or emitted afterwards.
     */
    this.destroy = function () {
      if (destroyed) return;
      destroyed = true;
      stopHandshake();
      window.removeEventListener("message", onMessage);
      document.removeEventListener("securitypolicyviolation", onViolation);
      iframe.removeEventListener("load", onLoad);
      iframe.removeEventListener("error", onFrameError);
      listeners = {};
      if (win) win.remove();
      if (iframe.parentNode) iframe.parentNode.removeChild(iframe);
    };
  }

  var api = { mount: mount, openPopup: openPopup, version: VERSION, CHANNEL: CHANNEL };
  Object.freeze(api);
  try {
    Object.defineProperty(window, "HelpdeskHost", { value: api, enumerable: false, configurable: true, writable: true });
  } catch (e) {
    /* the page froze the global object */
  }
})();
