/*
 * Helpdesk Apps client shim: the app side of the helpdesk:apps postMessage
 * protocol (DESIGN.md §7). The gateway injects it into every HTML page of an
 * app:
 *
 *   <script src="/apps/_bridge/client.js?v=HASH"
 *           data-helpdesk-app="crm"
 *           data-helpdesk-origins="https://helpdesk.example.com"
 *           data-auto-resize="true" data-manual-ready="true"></script>
 *
 * It connects a page to the Helpdesk that frames it with no change to the
 * page, and gives apps that want one a small API: window.HelpdeskApps.
 *
 * What it never does: post to "*", accept a message from anything but the
 * parent window on an allowed origin, define a global other than
 * HelpdeskApps, let an exception escape into the page, or do anything
 * observable when the page is not framed.
 */
(function () {
  "use strict";

  if (typeof window === "undefined" || typeof document === "undefined") return;
  // A second copy (an app that loads the shim itself as well) is a no-op;
  // so is a page that owns a global of that name.
  if (window.HelpdeskApps) return;

  var VERSION = "1";
  var CHANNEL = "helpdesk:apps";

  /** Events the Helpdesk sends to an app. */
  var HOST_EVENTS = [
    "helpdesk:context:user",
    "helpdesk:context:ticket",
    "helpdesk:context:app",
    "helpdesk:ticket:update",
    "helpdesk:error",
  ];

  // Re-sending ready: first after READY_FIRST ms, doubling up to READY_MAX,
  // giving up READY_GIVE_UP ms after the first attempt.
  var READY_FIRST = 100;
  var READY_MAX = 2000;
  var READY_GIVE_UP = 30000;
  var DEFAULT_TIMEOUT = 5000;
  var RESIZE_DEBOUNCE = 50;

  var script = document.currentScript || document.querySelector("script[data-helpdesk-origins]");

  function attr(name) {
    try {
      return script && script.getAttribute ? script.getAttribute(name) : null;
    } catch (e) {
      return null;
    }
  }

  // A boolean data attribute is on when present, unless it says "false".
  function flag(name) {
    var v = attr(name);
    return v !== null && v.toLowerCase() !== "false";
  }

  function warn(msg, err) {
    try {
      if (typeof console !== "undefined" && console.warn) console.warn("[HelpdeskApps] " + msg, err === undefined ? "" : err);
    } catch (e) {
      /* nothing left to do */
    }
  }

  function isObject(v) {
    return v !== null && typeof v === "object";
  }

  // ---- Origins -------------------------------------------------------------

  var DEFAULT_PORTS = { http: "80", https: "443" };

  // parseOrigin splits "scheme://host[:port]" into its parts, lower-cased,
  // with the default port made explicit; null when it is not an origin.
  function parseOrigin(s) {
    var m = /^([a-z][a-z0-9+.-]*):\/\/(\[[0-9a-f:.]+\]|[^\/:?#@\[\]\s]+)(?::(\d{1,5}|\*))?\/?$/i.exec(s);
    if (!m) return null;
    var scheme = m[1].toLowerCase();
    var port = m[3] || DEFAULT_PORTS[scheme] || "";
    return { scheme: scheme, host: m[2].toLowerCase(), port: port };
  }

  // compileOrigins turns the data-helpdesk-origins list into matchers. The
  // keyword self (quoted or not) is the page's own origin; other keywords
  // such as 'none' allow nothing.
  function compileOrigins(list) {
    var out = [];
    var seen = {};
    list.split(/\s+/).forEach(function (token) {
      if (!token) return;
      var t = token.replace(/^'(.*)'$/, "$1");
      if (t.toLowerCase() === "self") {
        if (!location.origin || location.origin === "null") return;
        t = location.origin;
      } else if (t !== token) {
        return; // 'none' and other keywords
      }
      var o = parseOrigin(t);
      if (!o || (o.scheme !== "http" && o.scheme !== "https")) {
        warn("ignoring invalid origin " + JSON.stringify(token));
        return;
      }
      var wildcard = o.host.indexOf("*.") === 0;
      if (o.host.indexOf("*") > (wildcard ? 0 : -1)) {
        warn("ignoring invalid origin " + JSON.stringify(token));
        return;
      }
      o.wildcard = wildcard || o.port === "*";
      o.origin = o.wildcard ? null : serialize(o);
      var key = o.scheme + "://" + o.host + ":" + o.port;
      if (seen[key]) return;
      seen[key] = true;
      out.push(o);
    });
    return out;
  }

  // serialize writes an origin as browsers do in event.origin: no default port.
  function serialize(o) {
    var port = o.port && o.port !== DEFAULT_PORTS[o.scheme] ? ":" + o.port : "";
    return o.scheme + "://" + o.host + port;
  }

  function matches(pattern, origin) {
    if (pattern.scheme !== origin.scheme) return false;
    if (pattern.port !== "*" && pattern.port !== origin.port) return false;
    if (pattern.host.indexOf("*.") === 0) {
      var suffix = pattern.host.slice(1); // ".example.com"
      return origin.host.length > suffix.length && origin.host.slice(-suffix.length) === suffix;
    }
    return pattern.host === origin.host;
  }

  function allowed(origin) {
    if (typeof origin !== "string") return false;
    var o = parseOrigin(origin);
    if (!o) return false;
    for (var i = 0; i < allowList.length; i++) {
      if (matches(allowList[i], o)) return true;
    }
    return false;
  }

  // ---- Configuration and state ---------------------------------------------

  var originsAttr = attr("data-helpdesk-origins");
  var allowList = compileOrigins(originsAttr === null ? "self" : originsAttr);
  var exactOrigins = allowList.filter(function (o) { return !o.wildcard; }).map(function (o) { return o.origin; });

  var config = Object.freeze({
    app: attr("data-helpdesk-app") || "",
    origins: Object.freeze(allowList.map(function (o) { return o.origin || serialize(o); })),
    autoResize: flag("data-auto-resize"),
    manualReady: flag("data-manual-ready"),
  });

  var framed = false;
  try {
    framed = window.parent !== window && window.parent != null;
  } catch (e) {
    framed = false;
  }

  // pinned is the one origin the Helpdesk is known to have; until it is
  // known, candidates are the exact origins messages go to.
  var pinned = null;
  var candidates = [];
  if (allowList.length === 1 && !allowList[0].wildcard) {
    pinned = allowList[0].origin;
  } else if (allowList.length > 0) {
    var ancestor = null;
    try {
      ancestor = location.ancestorOrigins && location.ancestorOrigins.length ? location.ancestorOrigins[0] : null;
    } catch (e) {
      ancestor = null;
    }
    if (ancestor && ancestor !== "null" && allowed(ancestor)) {
      pinned = ancestor;
    } else {
      candidates = exactOrigins.slice();
    }
  }

  var state = { appId: null, mode: null, user: null, ticket: null, connected: false };
  var destroyed = false;
  var listeners = {};
  var pending = {}; // requestId → {event, kind, resolve, reject, timer}
  var seq = 0;
  var nonce = Math.random().toString(36).slice(2, 10);
  var readyTimer = null;
  var readyDelay = READY_FIRST;
  var readyStarted = 0;
  var readyWaiters = [];

  function codedError(code, message, extra) {
    var err = new Error(message || code);
    err.name = "HelpdeskAppsError";
    err.code = code;
    if (extra) {
      Object.keys(extra).forEach(function (k) {
        if (extra[k] !== undefined) err[k] = extra[k];
      });
    }
    return err;
  }

  // ---- Posting -------------------------------------------------------------

  // post sends one message to the Helpdesk with appId added, to the pinned
  // origin or else to each exact candidate (the browser drops the ones that
  // are not the parent's origin). It reports whether anything was posted.
  function post(event, payload) {
    if (!framed || destroyed) return false;
    var body = {};
    if (isObject(payload)) {
      Object.keys(payload).forEach(function (k) {
        if (payload[k] !== undefined) body[k] = payload[k];
      });
    }
    if (state.appId != null && body.appId === undefined) body.appId = state.appId;
    var msg = { channel: CHANNEL, event: event, payload: body };
    var targets = pinned ? [pinned] : candidates;
    var sent = false;
    for (var i = 0; i < targets.length; i++) {
      try {
        window.parent.postMessage(msg, targets[i]);
        sent = true;
      } catch (e) {
        warn("could not post " + event, e);
      }
    }
    return sent;
  }

  // ---- Ready ---------------------------------------------------------------

  function sendReady() {
    readyTimer = null;
    if (destroyed || state.connected) return;
    post("helpdesk:app:ready", {});
    var elapsed = Date.now() - readyStarted;
    if (elapsed + readyDelay > READY_GIVE_UP) {
      failReady(codedError("TIMEOUT", "the Helpdesk did not answer helpdesk:app:ready"));
      return;
    }
    readyTimer = setTimeout(sendReady, readyDelay);
    readyDelay = Math.min(readyDelay * 2, READY_MAX);
  }

  // startReady sends ready now and again with backoff until context:app.
  function startReady() {
    if (!framed || destroyed) return;
    if (readyTimer !== null) clearTimeout(readyTimer);
    state.connected = false;
    readyDelay = READY_FIRST;
    readyStarted = Date.now();
    sendReady();
  }

  function failReady(err) {
    var waiters = readyWaiters;
    readyWaiters = [];
    waiters.forEach(function (w) { w.reject(err); });
  }

  // quiet marks a promise as handled, so that a caller who ignores it gets
  // no "unhandled rejection" report; callers who chain on it still see the
  // rejection.
  function quiet(p) {
    p.catch(function () {});
    return p;
  }

  /**
   * Sends helpdesk:app:ready now (and again with backoff until the Helpdesk
   * answers). Pages served with data-manual-ready call it once they can
   * receive context.
   * @returns {Promise<{appId: string, mode: string}>} the app context.
   */
  function ready() {
    return quiet(new Promise(function (resolve, reject) {
      if (destroyed) return reject(codedError("DESTROYED", "HelpdeskApps was destroyed"));
      if (!framed) return reject(codedError("NOT_FRAMED", "the page is not framed by a Helpdesk"));
      readyWaiters.push({ resolve: resolve, reject: reject });
      startReady();
    }));
  }

  // ---- Requests ------------------------------------------------------------

  function settle(id, err, value) {
    var p = pending[id];
    if (!p) return;
    delete pending[id];
    clearTimeout(p.timer);
    if (err) p.reject(err);
    else p.resolve(value);
  }

  function request(event, kind, options) {
    return new Promise(function (resolve, reject) {
      if (destroyed) return reject(codedError("DESTROYED", "HelpdeskApps was destroyed", { event: event }));
      if (!framed) return reject(codedError("NOT_FRAMED", "the page is not framed by a Helpdesk", { event: event }));
      var timeout = options && typeof options.timeout === "number" && options.timeout >= 0 ? options.timeout : DEFAULT_TIMEOUT;
      var id = "hd-" + nonce + "-" + ++seq;
      pending[id] = {
        event: event,
        kind: kind,
        resolve: resolve,
        reject: reject,
        timer: setTimeout(function () {
          settle(id, codedError("TIMEOUT", event + ": no answer within " + timeout + " ms", { event: event, requestId: id }));
        }, timeout),
      };
      post(event, { requestId: id });
    });
  }

  // resend posts the pending requests again: sent before the Helpdesk
  // listened, they may have been lost.
  function resendPending() {
    Object.keys(pending).forEach(function (id) {
      post(pending[id].event, { requestId: id });
    });
  }

  // answer settles the requests a reply is for: the one whose requestId it
  // echoes, or, for a reply without requestId, every pending one of its kind.
  function answer(kind, payload, value, err) {
    var rid = payload.requestId;
    if (rid !== undefined && rid !== null) {
      if (pending[rid] && (kind === null || pending[rid].kind === kind)) settle(rid, err, value);
      return;
    }
    Object.keys(pending).forEach(function (id) {
      if (kind === null ? pending[id].event === payload.event : pending[id].kind === kind) settle(id, err, value);
    });
  }

  // ---- Events --------------------------------------------------------------

  function on(event, fn) {
    if (typeof event !== "string" || typeof fn !== "function") return function () {};
    (listeners[event] = listeners[event] || []).push(fn);
    return function () { off(event, fn); };
  }

  function off(event, fn) {
    var list = listeners[event];
    if (!list) return;
    var i = list.indexOf(fn);
    if (i >= 0) list.splice(i, 1);
  }

  function emit(event, payload) {
    var list = (listeners[event] || []).slice();
    for (var i = 0; i < list.length; i++) {
      try {
        list[i].call(null, payload);
      } catch (e) {
        try {
          console.error("[HelpdeskApps] a listener for " + event + " failed:", e);
        } catch (e2) {
          /* nothing left to do */
        }
      }
    }
    if (HOST_EVENTS.indexOf(event) >= 0 && typeof CustomEvent === "function") {
      try {
        window.dispatchEvent(new CustomEvent(event, { detail: payload }));
      } catch (e) {
        warn("could not dispatch " + event, e);
      }
    }
  }

  // ---- Receiving -----------------------------------------------------------

  function onMessage(ev) {
    try {
      receive(ev);
    } catch (e) {
      warn("could not handle a message", e);
    }
  }

  function receive(ev) {
    if (destroyed || !framed) return;
    if (ev.source !== window.parent) return;
    if (pinned ? ev.origin !== pinned : !allowed(ev.origin)) return;
    var data = ev.data;
    if (!isObject(data) || data.channel !== CHANNEL || typeof data.event !== "string") return;
    if (!pinned) {
      pinned = ev.origin;
      candidates = [];
    }
    var payload = isObject(data.payload) ? data.payload : {};
    switch (data.event) {
      case "helpdesk:context:app": {
        if (typeof payload.appId === "string" && payload.appId !== "") state.appId = payload.appId;
        if (typeof payload.mode === "string") state.mode = payload.mode;
        var wasConnected = state.connected;
        state.connected = true;
        if (readyTimer !== null) {
          clearTimeout(readyTimer);
          readyTimer = null;
        }
        var waiters = readyWaiters;
        readyWaiters = [];
        var ctx = { appId: state.appId, mode: state.mode };
        waiters.forEach(function (w) { w.resolve(ctx); });
        if (!wasConnected) resendPending();
        resizer.connected();
        break;
      }
      case "helpdesk:context:user":
        if ("user" in payload) state.user = payload.user;
        answer("user", payload, payload.user);
        break;
      case "helpdesk:context:ticket":
        if ("ticket" in payload) state.ticket = payload.ticket;
        answer("ticket", payload, payload.ticket);
        break;
      case "helpdesk:ticket:update":
        if ("ticket" in payload) state.ticket = payload.ticket;
        break;
      case "helpdesk:error":
        answer(null, payload, undefined, codedError(
          typeof payload.code === "string" && payload.code ? payload.code : "ERROR",
          typeof payload.message === "string" && payload.message ? payload.message : "the Helpdesk refused " + payload.event,
          { event: payload.event, requestId: payload.requestId }
        ));
        break;
    }
    emit(data.event, payload);
  }

  // ---- Display -------------------------------------------------------------

  function px(v) {
    if (typeof v === "number") return isFinite(v) ? Math.round(v) + "px" : undefined;
    if (typeof v === "string") return v;
    return undefined;
  }

  /**
   * Asks the Helpdesk to resize the app's popup window. Numbers are px;
   * strings such as "600px" are passed as given. Either may be omitted.
   * @param {number|string} [width]
   * @param {number|string} [height]
   */
  function resize(width, height) {
    if (destroyed) return;
    post("helpdesk:app:resize", { width: px(width), height: px(height) });
  }

  /**
   * Asks the Helpdesk to show the app's popup full screen, or to restore it.
   * @param {boolean} [on=true]
   */
  function fullscreen(on) {
    if (destroyed) return;
    post("helpdesk:app:fullscreen", { fullscreen: on === undefined ? true : !!on });
  }

  // resizer keeps the Helpdesk's popup as tall as the content, growing and
  // shrinking. It measures the content, not <html>, whose height follows the
  // iframe's own and would never let it shrink.
  var resizer = (function () {
    var on = false;
    var ro = null;
    var mo = null;
    var timer = null;
    var last = null;

    function contentHeight() {
      var body = document.body;
      if (!body) return null;
      var scrollY = window.pageYOffset || 0;
      var bottom = 0;
      var nodes = body.childNodes;
      for (var i = 0; i < nodes.length; i++) {
        var node = nodes[i];
        if (node.nodeType === 3) {
          // Text directly in <body>.
          if (!/\S/.test(node.nodeValue || "")) continue;
          var range = document.createRange();
          range.selectNodeContents(node);
          bottom = Math.max(bottom, range.getBoundingClientRect().bottom);
          continue;
        }
        if (node.nodeType !== 1) continue;
        var cs = getComputedStyle(node);
        // A fixed element sits on the viewport, whose height is the iframe's
        // own: counting it would keep the iframe from ever shrinking.
        if (cs.display === "none" || cs.position === "fixed") continue;
        var rect = node.getBoundingClientRect();
        if (rect.width === 0 && rect.height === 0) continue;
        bottom = Math.max(bottom, rect.bottom + (parseFloat(cs.marginBottom) || 0));
      }
      var bs = getComputedStyle(body);
      var extra = (parseFloat(bs.paddingBottom) || 0) + (parseFloat(bs.borderBottomWidth) || 0) + (parseFloat(bs.marginBottom) || 0);
      var de = getComputedStyle(document.documentElement);
      extra += (parseFloat(de.paddingBottom) || 0) + (parseFloat(de.borderBottomWidth) || 0);
      return Math.ceil(bottom + scrollY + extra);
    }

    function measure() {
      timer = null;
      if (!on || destroyed) return;
      if (!state.connected || state.mode === "embed") return;
      var h = contentHeight();
      if (h === null || h === last) return;
      last = h;
      post("helpdesk:app:resize", { height: h + "px" });
    }

    function schedule() {
      if (!on || destroyed || timer !== null) return;
      timer = setTimeout(measure, RESIZE_DEBOUNCE);
    }

    function observe() {
      if (!on || !document.body) return;
      if (typeof ResizeObserver === "function" && !ro) {
        ro = new ResizeObserver(schedule);
        ro.observe(document.body);
      }
      if (typeof MutationObserver === "function" && !mo) {
        mo = new MutationObserver(schedule);
        mo.observe(document.body, { childList: true, subtree: true, characterData: true, attributes: true });
      }
      schedule();
    }

    function start() {
      if (on || destroyed) return;
      on = true;
      last = null;
      window.addEventListener("resize", schedule);
      window.addEventListener("load", schedule);
      if (document.body) observe();
      else document.addEventListener("DOMContentLoaded", observe);
    }

    function stop() {
      on = false;
      if (ro) ro.disconnect();
      if (mo) mo.disconnect();
      ro = mo = null;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      window.removeEventListener("resize", schedule);
      window.removeEventListener("load", schedule);
      document.removeEventListener("DOMContentLoaded", observe);
    }

    return {
      start: start,
      stop: stop,
      // connected re-sends the height: a (re)connected Helpdesk has not seen it.
      connected: function () {
        last = null;
        schedule();
      },
      get on() { return on; },
    };
  })();

  /**
   * Turns auto-resize on or off: while on, the shim sends
   * helpdesk:app:resize with the content's height whenever it changes.
   * @param {boolean} [enable=true]
   */
  function autoResize(enable) {
    if (destroyed || !framed) return;
    if (enable === undefined || enable) resizer.start();
    else resizer.stop();
  }

  // ---- Life cycle ----------------------------------------------------------

  function onLoaded() {
    document.removeEventListener("DOMContentLoaded", onLoaded);
    try {
      if (!config.manualReady) startReady();
    } catch (e) {
      warn("could not send ready", e);
    }
  }

  /**
   * Removes every listener, observer and timer; pending requests reject
   * with code DESTROYED. The page keeps working; HelpdeskApps stays defined.
   */
  function destroy() {
    if (destroyed) return;
    destroyed = true;
    window.removeEventListener("message", onMessage);
    document.removeEventListener("DOMContentLoaded", onLoaded);
    if (readyTimer !== null) clearTimeout(readyTimer);
    readyTimer = null;
    resizer.stop();
    var err = codedError("DESTROYED", "HelpdeskApps was destroyed");
    Object.keys(pending).forEach(function (id) { settle(id, err); });
    failReady(err);
    listeners = {};
  }

  var api = {};
  var getters = {
    appId: function () { return state.appId; },
    mode: function () { return state.mode; },
    user: function () { return state.user; },
    ticket: function () { return state.ticket; },
    connected: function () { return state.connected; },
    framed: function () { return framed; },
    config: function () { return config; },
    version: function () { return VERSION; },
  };
  Object.keys(getters).forEach(function (k) {
    Object.defineProperty(api, k, { get: getters[k], enumerable: true });
  });
  api.ready = ready;
  /**
   * Requests the logged-in user.
   * @param {{timeout?: number}} [options] timeout in ms; default 5000.
   */
  api.getUser = function (options) { return request("helpdesk:get:context:user", "user", options); };
  /**
   * Requests the current ticket (ticket_sidebar apps only).
   * @param {{timeout?: number}} [options] timeout in ms; default 5000.
   */
  api.getTicket = function (options) { return request("helpdesk:get:context:ticket", "ticket", options); };
  api.on = on;
  api.off = off;
  api.resize = resize;
  api.fullscreen = fullscreen;
  api.autoResize = autoResize;
  api.destroy = destroy;
  Object.freeze(api);

  try {
    Object.defineProperty(window, "HelpdeskApps", { value: api, enumerable: false, configurable: true, writable: true });
  } catch (e) {
    return; // the page froze the global object: stay out of its way
  }

  if (!framed) return;
  window.addEventListener("message", onMessage);
  if (config.autoResize) resizer.start();
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", onLoaded);
  else onLoaded();
})();
