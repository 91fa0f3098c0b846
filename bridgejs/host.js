/*
 * Helpdesk Apps host SDK: the Helpdesk side of the helpdesk:apps
 * postMessage protocol (DESIGN.md §7). A Helpdesk front end mounts each app
 * in an iframe with window.HelpdeskHost.mount(container, options) and gets an
 * instance that answers the app's requests, within the app's scope, and
 * forwards ticket and user changes to it.
 *
 * Every rule of the protocol is enforced here: messages on another channel,
 * from another window than the app's iframe, from another origin than the
 * app's, or naming another appId are ignored; out-of-scope requests are
 * refused with helpdesk:error; replies go to the app's exact origin only.
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
  var INSTANCE_EVENTS = ["ready", "resize", "fullscreen", "message"];

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

  function sandboxedOpaque(sandbox) {
    if (sandbox === undefined || sandbox === null || sandbox === false) return false;
    return String(sandbox).toLowerCase().split(/\s+/).indexOf("allow-same-origin") < 0;
  }

  /**
   * @typedef {Object} MountOptions
   * @property {string} src URL of the app, resolved against document.baseURI;
   *   the app's origin is derived from it.
   * @property {string} [app] the gateway's app id; informational.
   * @property {"popup"|"embed"} [mode="embed"] how the app is shown.
   * @property {"ticket_sidebar"|"main_menu"} [placement="main_menu"] where.
   * @property {Object} [user] the logged-in user: {id, name, email, role, division_id}.
   * @property {Object|null} [ticket] the open ticket (ticket_sidebar only).
   * @property {{width?: number, height?: number}} [minSize] lower bounds of resize requests, px.
   * @property {{width?: number, height?: number}} [maxSize] upper bounds of resize requests, px.
   * @property {string} [title] the iframe's title (accessibility); default the app id.
   * @property {string} [sandbox] the iframe's sandbox attribute, if any. Without
   *   allow-same-origin the app's origin is opaque and nothing is posted to it.
   * @property {string} [allow] the iframe's allow (permissions policy) attribute.
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

  function Instance(container, options) {
    var self = this;
    var url = new URL(options.src, document.baseURI);
    var mode = options.mode === POPUP ? POPUP : EMBED;
    var placement = options.placement === TICKET_SIDEBAR ? TICKET_SIDEBAR : MAIN_MENU;
    var appId = randomId();
    var origin = sandboxedOpaque(options.sandbox) ? "null" : url.origin;
    var user = options.user === undefined ? null : options.user;
    var ticket = options.ticket === undefined ? null : options.ticket;
    var minSize = isObject(options.minSize) ? options.minSize : {};
    var maxSize = isObject(options.maxSize) ? options.maxSize : {};
    var listeners = {};
    var connected = false;
    var destroyed = false;
    var isFullscreen = false;
    var savedStyle = null;
    var requested = { width: null, height: null };

    var iframe = document.createElement("iframe");
    iframe.setAttribute("title", typeof options.title === "string" && options.title ? options.title : options.app || "Helpdesk app");
    if (options.sandbox !== undefined && options.sandbox !== null && options.sandbox !== false) {
      iframe.setAttribute("sandbox", String(options.sandbox));
    }
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

    function handle(event, payload) {
      switch (event) {
        case "helpdesk:app:ready":
          connected = true;
          post("helpdesk:context:user", { user: user });
          if (placement === TICKET_SIDEBAR && ticket) post("helpdesk:context:ticket", { ticket: ticket });
          post("helpdesk:context:app", { appId: appId, mode: mode });
          emit("ready", { appId: appId, mode: mode, placement: placement });
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
          if (w !== null) w = clamp(w, minSize.width, maxSize.width);
          if (h !== null) h = clamp(h, minSize.height, maxSize.height);
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

    if (origin === "null") {
      // A sandbox without allow-same-origin, or a data: URL: no origin to
      // post to or to check messages against.
      warn("app " + url.href + " has an opaque origin; messages to and from it are dropped");
    }
    window.addEventListener("message", onMessage);
    container.appendChild(iframe);

    Object.defineProperties(this, {
      iframe: { value: iframe, enumerable: true },
      appId: { value: appId, enumerable: true },
      app: { value: options.app === undefined ? null : options.app, enumerable: true },
      origin: { value: origin, enumerable: true },
      mode: { value: mode, enumerable: true },
      placement: { value: placement, enumerable: true },
      connected: { get: function () { return connected && !destroyed; }, enumerable: true },
      fullscreen: { get: function () { return isFullscreen; }, enumerable: true },
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
     * "fullscreen" ({fullscreen}) or "message" (every accepted message).
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

    /** Removes the message listener and the iframe; nothing is posted or handled afterwards. */
    this.destroy = function () {
      if (destroyed) return;
      destroyed = true;
      window.removeEventListener("message", onMessage);
      listeners = {};
      if (iframe.parentNode) iframe.parentNode.removeChild(iframe);
    };
  }

  var api = { mount: mount, version: VERSION, CHANNEL: CHANNEL };
  Object.freeze(api);
  try {
    Object.defineProperty(window, "HelpdeskHost", { value: api, enumerable: false, configurable: true, writable: true });
  } catch (e) {
    /* the page froze the global object */
  }
})();
