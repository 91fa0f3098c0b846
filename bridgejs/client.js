/*
 * Helpdesk Apps client shim: the app side of the helpdesk:apps postMessage
 * protocol (bridgejs/README.md, "The protocol"). The gateway injects it into every HTML page of an
 * app:
 *
 *   <script src="/apps/_bridge/client.js?v=HASH"
 *           data-helpdesk-app="crm"
 *           data-helpdesk-origins="https://helpdesk.example.com"
 *           data-auto-resize="true" data-manual-ready="true"
 *           data-rewrite-links="true" data-helpdesk-prefix="/apps/crm"
 *           data-helpdesk-root="/apps"></script>
 *
 * It connects a page to the Helpdesk that frames it with no change to the
 * page, and gives apps that want one a small API: window.HelpdeskApps.
 * With data-rewrite-links it also keeps the URLs the page builds in
 * JavaScript under the app's path (see links below).
 *
 * What it never does: post to "*", accept a message from anything but the
 * parent window on an allowed origin, define a global other than
 * HelpdeskApps, let an exception escape into the page, or do anything
 * observable when the page is not framed (link rewriting aside: the page
 * lives under the app's path framed or not).
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

  // pathAttr reads a path attribute such as data-helpdesk-prefix: "" when
  // absent, null when it is not a path; without its trailing slashes.
  function pathAttr(name) {
    var v = attr(name);
    if (v === null || v === "") return "";
    v = v.replace(/\/+$/, "");
    if (v !== "" && !/^\/[^?#\s\\]*$/.test(v)) {
      warn("ignoring invalid " + name + " " + JSON.stringify(attr(name)));
      return null;
    }
    return v;
  }

  // Link rewriting: the app's path (data-helpdesk-prefix, like /apps/crm)
  // and the gateway's (data-helpdesk-root, like /apps), whose paths are
  // never moved.
  var linkPrefix = pathAttr("data-helpdesk-prefix");
  var linkRoot = pathAttr("data-helpdesk-root");
  var rewriteLinks = flag("data-rewrite-links");
  if (rewriteLinks && !linkPrefix) {
    warn("data-rewrite-links without a valid data-helpdesk-prefix: links are not rewritten");
    rewriteLinks = false;
  }
  // Isolated cookies: the prefix of the app's cookie jar
  // (data-isolate-cookies, like hda.crm.), under the app's path.
  var cookiePrefix = attr("data-isolate-cookies") || "";
  if (cookiePrefix && (!/^hda\.[a-z0-9][a-z0-9-]*\.$/.test(cookiePrefix) || !linkPrefix)) {
    warn("ignoring data-isolate-cookies " + JSON.stringify(cookiePrefix) + " (or its data-helpdesk-prefix)");
    cookiePrefix = "";
  }

  var config = Object.freeze({
    app: attr("data-helpdesk-app") || "",
    origins: Object.freeze(allowList.map(function (o) { return o.origin || serialize(o); })),
    autoResize: flag("data-auto-resize"),
    manualReady: flag("data-manual-ready"),
    rewriteLinks: rewriteLinks,
    prefix: rewriteLinks || cookiePrefix ? linkPrefix : null,
    root: rewriteLinks && linkRoot ? linkRoot : null,
    isolateCookies: cookiePrefix || null,
  });

  // The gateway's own sign-in: the user the Helpdesk reports is checked
  // against the one signed in to the gateway, at data-signin-check (a path
  // of this origin), by the fetch the page had before the shim patched it.
  var signinCheck = pathAttr("data-signin-check");
  var nativeFetch = typeof window.fetch === "function" ? window.fetch.bind(window) : null;
  var checkedUser = null;

  // checkUser posts the user's id and e-mail once for each user; when the
  // gateway ends its session over a mismatch (409), the page reloads into
  // the gateway's sign-in page, which says why.
  function checkUser(user) {
    if (!signinCheck || !nativeFetch || !isObject(user)) return;
    var who = { id: user.id == null ? "" : String(user.id), email: user.email == null ? "" : String(user.email) };
    var key = who.id + "\n" + who.email;
    if (key === checkedUser) return;
    checkedUser = key;
    nativeFetch(signinCheck, {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" }, body: JSON.stringify(who),
    }).then(function (res) {
      if (res.status === 409) location.reload();
    }, function () { /* the check is advisory: the app goes on */ });
  }

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
        checkUser(payload.user);
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

  // ---- Link rewriting --------------------------------------------------------

  // links keeps a tool that believes it owns "/" inside the app's path. The
  // gateway moves the URLs of its HTML, CSS, redirects and cookies; URLs the
  // page builds in JavaScript are out of the gateway's reach, so the shim
  // moves them where the page uses them: fetch, XMLHttpRequest, WebSocket,
  // EventSource, workers, history, window.open, forms, element URL
  // properties and attributes, HTML set through innerHTML and its kin and,
  // with the Navigation API, assignments to location (document.cookie
  // paths: cookies, below). Nothing is patched unless the gateway asked for
  // it (data-rewrite-links). See README.md for what cannot be reached.
  var links = (function () {
    var XHTML = "http://www.w3.org/1999/xhtml";
    var prefix = config.prefix;
    var root = config.root;
    var appPath = prefix + "/";
    var slice = Array.prototype.slice;
    var NativeURL = typeof URL === "function" ? URL : null;
    var nativeGetAttribute = typeof Element === "function" ? Element.prototype.getAttribute : null;
    var nativeSetAttribute = typeof Element === "function" ? Element.prototype.setAttribute : null;
    var installed = false;

    // URL-valued attributes, by HTML element.
    var URL_ATTRS = {
      a: ["href"], area: ["href"], base: ["href"], link: ["href", "imagesrcset"],
      img: ["src", "srcset"], source: ["src", "srcset"], video: ["src", "poster"], audio: ["src"],
      track: ["src"], iframe: ["src"], frame: ["src"], embed: ["src"], object: ["data"],
      script: ["src"], form: ["action"], input: ["formaction", "src"], button: ["formaction"],
    };
    var SRCSET = { srcset: true, imagesrcset: true };
    var ATTR_NAMES = {};
    Object.keys(URL_ATTRS).forEach(function (tag) {
      URL_ATTRS[tag].forEach(function (name) { ATTR_NAMES[name] = true; });
    });
    var SELECTOR = Object.keys(ATTR_NAMES).map(function (n) { return "[" + n + "]"; }).join(",");

    function under(p, dir) {
      return p === dir || p.slice(0, dir.length + 1) === dir + "/";
    }

    // move returns s, a URL string, moved under the app's path, or null
    // when it stays: it is not same-origin (ws: and wss: count as http: and
    // https:), or its path is already the app's or the gateway's.
    function move(s) {
      var u = new NativeURL(s, document.baseURI);
      var scheme = u.protocol;
      if (scheme === "ws:") scheme = "http:";
      else if (scheme === "wss:") scheme = "https:";
      else if (scheme !== "http:" && scheme !== "https:") return null;
      if (scheme !== location.protocol || u.host !== location.host) return null;
      var p = u.pathname;
      if (under(p, prefix) || (root && p.slice(0, root.length + 1) === root + "/")) return null;
      u.pathname = prefix + p;
      // A root-relative reference stays one.
      if (/^[\t\n\f\r ]*\/(?![\/\\\t\n\r])/.test(s)) return u.pathname + u.search + u.hash;
      return u.href;
    }

    /**
     * Moves a same-origin URL outside the app's path under it. Strings, URL
     * and Location objects are understood; anything else, and any URL that
     * needs no change, is returned as it was given (the same value, not a
     * copy). A moved root-relative reference stays root-relative; others
     * become absolute.
     * @param {*} url
     * @returns {*}
     */
    function toApp(url) {
      if (!config.rewriteLinks || !NativeURL) return url;
      try {
        var s;
        if (typeof url === "string") s = url;
        else if (url instanceof NativeURL || (typeof Location === "function" && url instanceof Location)) s = url.href;
        else return url;
        var moved = move(s);
        return moved === null ? url : moved;
      } catch (e) {
        return url;
      }
    }

    // srcset moves each URL of a srcset value, keeping its descriptors and
    // separators byte for byte (HTML's "parse a srcset attribute").
    function srcset(v) {
      if (typeof v !== "string") return v;
      var out = "";
      var changed = false;
      var i = 0;
      var n = v.length;
      var space = /[\t\n\f\r ]/;
      while (i < n) {
        var j = i;
        while (j < n && (space.test(v.charAt(j)) || v.charAt(j) === ",")) j++;
        out += v.slice(i, j);
        if ((i = j) >= n) break;
        while (j < n && !space.test(v.charAt(j))) j++;
        var url = v.slice(i, j);
        var trail = /,*$/.exec(url)[0];
        url = url.slice(0, url.length - trail.length);
        var moved = toApp(url);
        if (moved !== url) changed = true;
        out += moved + trail;
        i = j;
        if (trail) continue;
        for (var depth = 0; j < n; j++) {
          var c = v.charAt(j);
          if (c === "(") depth++;
          else if (c === ")" && depth) depth--;
          else if (c === "," && !depth) break;
        }
        out += v.slice(i, j);
        i = j;
      }
      return changed ? out : v;
    }

    // attrValue returns value, to be set as attribute name of el, moved when
    // it is one of el's URL attributes.
    function attrValue(el, name, value) {
      try {
        if (typeof name !== "string") return value;
        var lname = name.toLowerCase();
        if (!ATTR_NAMES[lname] || !el || el.namespaceURI !== XHTML) return value;
        var names = URL_ATTRS[el.localName];
        if (!names || names.indexOf(lname) < 0) return value;
        return SRCSET[lname] ? srcset(value) : toApp(value);
      } catch (e) {
        return value;
      }
    }

    // fixElement moves the URL attributes of el that need it.
    function fixElement(el) {
      if (el.namespaceURI !== XHTML) return;
      var names = URL_ATTRS[el.localName];
      if (!names) return;
      for (var i = 0; i < names.length; i++) {
        var v = nativeGetAttribute.call(el, names[i]);
        if (v === null) continue;
        var moved = SRCSET[names[i]] ? srcset(v) : toApp(v);
        if (moved !== v) nativeSetAttribute.call(el, names[i], moved);
      }
    }

    // fixTree fixes node and its descendants.
    function fixTree(node) {
      try {
        if (!node || (node.nodeType !== 1 && node.nodeType !== 9 && node.nodeType !== 11)) return;
        if (node.nodeType === 1) fixElement(node);
        var found = node.querySelectorAll(SELECTOR);
        for (var i = 0; i < found.length; i++) fixElement(found[i]);
        if (node.nodeType === 1 && node.localName === "template" && node.content) fixTree(node.content);
      } catch (e) {
        warn("could not rewrite links", e);
      }
    }

    // fixBetween fixes the siblings after `after` (from parent's first
    // child when null) up to, not including, `before`.
    function fixBetween(parent, after, before) {
      if (!parent) return;
      for (var n = after ? after.nextSibling : parent.firstChild; n && n !== before; n = n.nextSibling) fixTree(n);
    }

    // ---- Patching helpers ----

    function describe(fn, like) {
      try {
        Object.defineProperty(fn, "name", { value: like.name, configurable: true });
        Object.defineProperty(fn, "length", { value: like.length, configurable: true });
      } catch (e) {
        /* cosmetic only */
      }
      return fn;
    }

    // method replaces obj[name] with make(original); false when it cannot.
    function method(obj, name, make) {
      try {
        if (!obj) return false;
        var d = Object.getOwnPropertyDescriptor(obj, name);
        if (!d || typeof d.value !== "function" || !(d.writable || d.configurable)) return false;
        Object.defineProperty(obj, name, {
          value: describe(make(d.value), d.value),
          writable: d.writable, enumerable: d.enumerable, configurable: d.configurable,
        });
        return true;
      } catch (e) {
        warn("could not patch " + name, e);
        return false;
      }
    }

    // argument patches obj[name] so that its argument at index goes
    // through convert first. this, the other arguments, the return value
    // and exceptions are the original's.
    function argument(obj, name, index, convert) {
      return method(obj, name, function (orig) {
        return function () {
          var args = arguments;
          if (args.length > index) {
            var v = args[index];
            var moved = convert(v);
            if (moved !== v) {
              args = slice.call(arguments);
              args[index] = moved;
            }
          }
          return orig.apply(this, args);
        };
      });
    }

    // after patches obj[name] to call fix(this, arguments, state) once the
    // original returned; before(this, arguments) runs first and gives state.
    function after(obj, name, before, fix) {
      return method(obj, name, function (orig) {
        return function () {
          var state;
          try {
            state = before ? before(this, arguments) : undefined;
          } catch (e) {
            state = undefined;
          }
          var result = orig.apply(this, arguments);
          try {
            fix(this, arguments, state, result);
          } catch (e) {
            warn("could not rewrite links", e);
          }
          return result;
        };
      });
    }

    // setter replaces the setter of accessor proto[name]; set(el, value,
    // nativeSet) does the setting.
    function setter(proto, name, set) {
      try {
        if (!proto) return false;
        var d = Object.getOwnPropertyDescriptor(proto, name);
        if (!d || typeof d.set !== "function" || !d.configurable) return false;
        var nativeSet = d.set;
        Object.defineProperty(proto, name, {
          get: d.get,
          set: describe(function (v) { return set(this, v, nativeSet); }, nativeSet),
          enumerable: d.enumerable, configurable: true,
        });
        return true;
      } catch (e) {
        warn("could not patch " + name, e);
        return false;
      }
    }

    // urlProperty makes assignments to proto[name] go through convert.
    function urlProperty(proto, name, convert) {
      return setter(proto, name, function (el, v, nativeSet) {
        var moved = v;
        try {
          moved = convert(v);
        } catch (e) {
          moved = v;
        }
        return nativeSet.call(el, moved);
      });
    }

    // wrapConstructor replaces window[name], a constructor whose argument at
    // index is a URL, with one that moves it first. Objects it builds are
    // the native ones: instanceof, the prototype, its constructor property,
    // static constants (WebSocket.OPEN) and subclassing keep working.
    function wrapConstructor(name, index) {
      try {
        var Native = window[name];
        if (typeof Native !== "function" || typeof Reflect !== "object" || typeof Reflect.construct !== "function") return false;
        var proto = Native.prototype;
        var Wrapped = function () {
          // Called without new: the native TypeError.
          if (!(this instanceof Wrapped)) return Native.apply(this, arguments);
          var args = slice.call(arguments);
          if (args.length > index) args[index] = toApp(args[index]);
          var own = Object.getPrototypeOf(this);
          var target = Native;
          if (own !== proto) {
            // A subclass: build the object with its prototype.
            target = own.constructor;
            if (typeof target !== "function" || target.prototype !== own) {
              target = function () {};
              target.prototype = own;
            }
          }
          return Reflect.construct(Native, args, target);
        };
        Object.getOwnPropertyNames(Native).forEach(function (k) {
          if (k === "prototype" || k === "length" || k === "name" || k === "arguments" || k === "caller") return;
          try {
            Object.defineProperty(Wrapped, k, Object.getOwnPropertyDescriptor(Native, k));
          } catch (e) {
            /* a static we could not copy stays reachable through the prototype chain below */
          }
        });
        Object.setPrototypeOf(Wrapped, Object.getPrototypeOf(Native));
        Object.defineProperty(Wrapped, "prototype", { value: proto, writable: false });
        describe(Wrapped, Native);
        var d = Object.getOwnPropertyDescriptor(window, name) || { writable: true, enumerable: false, configurable: true };
        Object.defineProperty(window, name, {
          value: Wrapped, writable: d.writable !== false, enumerable: !!d.enumerable, configurable: d.configurable !== false,
        });
        var c = Object.getOwnPropertyDescriptor(proto, "constructor");
        if (c && c.value === Native && (c.writable || c.configurable)) {
          Object.defineProperty(proto, "constructor", { value: Wrapped, writable: c.writable, enumerable: c.enumerable, configurable: c.configurable });
        }
        return true;
      } catch (e) {
        warn("could not patch " + name, e);
        return false;
      }
    }

    function protoOf(name) {
      var C = window[name];
      return typeof C === "function" && C.prototype ? C.prototype : null;
    }

    // ---- Installation ----

    function install() {
      if (installed || !config.rewriteLinks || !NativeURL || !nativeGetAttribute) return;
      installed = true;

      // Network.
      argument(window, "fetch", 0, function (input) {
        try {
          if (typeof Request === "function" && input instanceof Request) {
            var moved = toApp(input.url);
            return moved === input.url ? input : new Request(moved, input);
          }
        } catch (e) {
          return input;
        }
        return toApp(input);
      });
      argument(protoOf("XMLHttpRequest"), "open", 1, toApp);
      argument(protoOf("Navigator"), "sendBeacon", 0, toApp);
      ["WebSocket", "EventSource", "Worker", "SharedWorker", "Audio"].forEach(function (name) {
        wrapConstructor(name, 0);
      });
      method(protoOf("ServiceWorkerContainer"), "register", function (orig) {
        return function (scriptURL, options) {
          var args = slice.call(arguments);
          try {
            if (args.length > 0) args[0] = toApp(scriptURL);
            if (options !== null && typeof options === "object" && options.scope !== undefined) {
              var scope = toApp(options.scope);
              if (scope !== options.scope) {
                var copy = {};
                for (var k in options) copy[k] = options[k];
                copy.scope = scope;
                args[1] = copy;
              }
            }
          } catch (e) {
            args = arguments;
          }
          return orig.apply(this, args);
        };
      });

      // Navigation.
      argument(protoOf("History"), "pushState", 2, toApp);
      argument(protoOf("History"), "replaceState", 2, toApp);
      argument(window, "open", 0, toApp);
      if (typeof window.navigation === "object" && window.navigation && typeof window.navigation.addEventListener === "function") {
        // location cannot be patched; with the Navigation API an escaping
        // navigation of this frame can still be stopped and redone.
        window.navigation.addEventListener("navigate", function (ev) {
          try {
            if (!ev.cancelable || ev.navigationType === "traverse" || ev.formData || ev.downloadRequest != null) return;
            var dest = ev.destination && ev.destination.url;
            var moved = toApp(dest);
            if (typeof dest !== "string" || moved === dest) return;
            ev.preventDefault();
            if (ev.navigationType === "replace") location.replace(moved);
            else location.assign(moved);
          } catch (e) {
            warn("could not rewrite a navigation", e);
          }
        });
      }

      // Forms.
      function fixForm(form, submitter) {
        if (!form || form.namespaceURI !== XHTML) return;
        if (submitter && submitter.namespaceURI === XHTML) fixElement(submitter);
        fixElement(form);
      }
      window.addEventListener("submit", function (ev) {
        try {
          fixForm(ev.target, ev.submitter);
        } catch (e) {
          warn("could not rewrite a form", e);
        }
      }, true);
      after(protoOf("HTMLFormElement"), "submit", function (form) { fixForm(form, null); }, function () {});
      after(protoOf("HTMLFormElement"), "requestSubmit", function (form, args) { fixForm(form, args[0]); }, function () {});

      // Element URL properties and attributes.
      [
        ["HTMLAnchorElement", "href"], ["HTMLAreaElement", "href"], ["HTMLBaseElement", "href"],
        ["HTMLLinkElement", "href"], ["HTMLLinkElement", "imageSrcset", srcset],
        ["HTMLImageElement", "src"], ["HTMLImageElement", "srcset", srcset],
        ["HTMLSourceElement", "src"], ["HTMLSourceElement", "srcset", srcset],
        ["HTMLMediaElement", "src"], ["HTMLVideoElement", "poster"], ["HTMLTrackElement", "src"],
        ["HTMLScriptElement", "src"], ["HTMLIFrameElement", "src"], ["HTMLFrameElement", "src"],
        ["HTMLEmbedElement", "src"], ["HTMLObjectElement", "data"],
        ["HTMLFormElement", "action"], ["HTMLInputElement", "formAction"], ["HTMLInputElement", "src"],
        ["HTMLButtonElement", "formAction"],
      ].forEach(function (p) {
        urlProperty(protoOf(p[0]), p[1], p[2] || toApp);
      });
      method(protoOf("Element"), "setAttribute", function (orig) {
        return function (name, value) {
          var args = arguments;
          if (args.length >= 2) {
            var moved = attrValue(this, name, value);
            if (moved !== value) {
              args = slice.call(arguments);
              args[1] = moved;
            }
          }
          return orig.apply(this, args);
        };
      });
      method(protoOf("Element"), "setAttributeNS", function (orig) {
        return function (ns, name, value) {
          var args = arguments;
          if (args.length >= 3 && (ns === null || ns === undefined || ns === "")) {
            var moved = attrValue(this, name, value);
            if (moved !== value) {
              args = slice.call(arguments);
              args[2] = moved;
            }
          }
          return orig.apply(this, args);
        };
      });
      setter(protoOf("Attr"), "value", function (a, v, nativeSet) {
        var moved = v;
        try {
          if (a.namespaceURI === null && a.ownerElement) moved = attrValue(a.ownerElement, a.name, v);
        } catch (e) {
          moved = v;
        }
        return nativeSet.call(a, moved);
      });

      // Markup: fixed as soon as it is parsed, before any of it loads.
      setter(protoOf("Element"), "innerHTML", function (el, v, nativeSet) {
        var r = nativeSet.call(el, v);
        fixTree(el);
        return r;
      });
      setter(protoOf("ShadowRoot"), "innerHTML", function (sr, v, nativeSet) {
        var r = nativeSet.call(sr, v);
        fixTree(sr);
        return r;
      });
      setter(protoOf("Element"), "outerHTML", function (el, v, nativeSet) {
        var parent = el.parentNode;
        var prev = el.previousSibling;
        var next = el.nextSibling;
        var r = nativeSet.call(el, v);
        try {
          fixBetween(parent, prev, next);
        } catch (e) {
          warn("could not rewrite links", e);
        }
        return r;
      });
      after(protoOf("Element"), "insertAdjacentHTML", function (el, args) {
        var where = String(args[0]).toLowerCase();
        switch (where) {
          case "beforebegin": return { parent: el.parentNode, after: el.previousSibling, before: el };
          case "afterbegin": return { parent: el, after: null, before: el.firstChild };
          case "beforeend": return { parent: el, after: el.lastChild, before: null };
          case "afterend": return { parent: el.parentNode, after: el, before: el.nextSibling };
        }
        return null;
      }, function (el, args, s) {
        if (s) fixBetween(s.parent, s.after, s.before);
      });
      after(protoOf("Range"), "createContextualFragment", null, function (range, args, s, fragment) {
        fixTree(fragment);
      });

      // Nodes of another document (a DOMParser's, a <template>'s, another
      // frame's), fixed as they come into this one, before they load.
      function foreign(target, node) {
        if (!node || typeof node !== "object" || !node.nodeType || node.ownerDocument === document) return;
        if (target !== document && (!target || target.ownerDocument !== document)) return;
        fixTree(node);
      }
      function insertion(proto, name, all) {
        method(proto, name, function (orig) {
          return function () {
            try {
              for (var i = 0, n = all ? arguments.length : Math.min(arguments.length, 1); i < n; i++) foreign(this, arguments[i]);
            } catch (e) {
              warn("could not rewrite links", e);
            }
            return orig.apply(this, arguments);
          };
        });
      }
      var nodeProto = protoOf("Node");
      insertion(nodeProto, "appendChild", false);
      insertion(nodeProto, "insertBefore", false);
      insertion(nodeProto, "replaceChild", false);
      ["Element", "Document", "DocumentFragment"].forEach(function (name) {
        ["append", "prepend", "replaceChildren"].forEach(function (m) { insertion(protoOf(name), m, true); });
      });
      ["Element", "CharacterData"].forEach(function (name) {
        ["before", "after", "replaceWith"].forEach(function (m) { insertion(protoOf(name), m, true); });
      });
      after(protoOf("Element"), "insertAdjacentElement", function (el, args) { foreign(el, args[1]); }, function () {});
      after(protoOf("Document"), "adoptNode", function (doc, args) { foreign(doc, args[0]); }, function () {});
      after(protoOf("Document"), "importNode", null, function (doc, args, s, node) {
        if (doc === document) fixTree(node);
      });

      // Whatever else puts a URL attribute into the document (a parser,
      // document.write, nodes from another document): fixed when observed.
      if (typeof MutationObserver === "function") {
        try {
          new MutationObserver(function (records) {
            try {
              for (var i = 0; i < records.length; i++) {
                var r = records[i];
                if (r.type === "attributes") {
                  if (r.target.nodeType === 1) fixElement(r.target);
                  continue;
                }
                for (var j = 0; j < r.addedNodes.length; j++) fixTree(r.addedNodes[j]);
              }
            } catch (e) {
              warn("could not rewrite links", e);
            }
          }).observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: Object.keys(ATTR_NAMES) });
        } catch (e) {
          warn("could not observe the document", e);
        }
      }
    }

    return { toApp: toApp, install: install };
  })();

  // ---- Cookies --------------------------------------------------------------

  // cookies keeps the cookies a page's JavaScript reads and writes inside
  // the app, as the gateway keeps those of its responses. With link
  // rewriting, an assignment is scoped as the gateway scopes Set-Cookie:
  // Domain removed, a Path outside the app's path moved under it. With
  // isolate_cookies, the page sees its jar as its backend does: reading
  // document.cookie shows the app's cookies under their own names and hides
  // every other (the Helpdesk's, other apps'); an assignment names the
  // cookie into the app's jar, and is scoped too. HttpOnly cookies are out
  // of reach as ever; the asynchronous cookieStore API is not patched.
  var cookies = (function () {
    var prefix = config.prefix;
    var appPath = prefix + "/";
    var jar = config.isolateCookies;
    var NativeURL = typeof URL === "function" ? URL : null;

    // scope scopes a document.cookie assignment. A cookie without a Path
    // gets the page's directory, which is already under the app's path.
    function scope(v) {
      if (v.indexOf(";") < 0) return v;
      var parts = v.split(";");
      var changed = false;
      for (var i = 1; i < parts.length; i++) {
        var part = parts[i];
        var eq = part.indexOf("=");
        var name = (eq < 0 ? part : part.slice(0, eq)).replace(/^[\t ]+|[\t ]+$/g, "").toLowerCase();
        if (name === "domain") {
          parts[i] = null;
          changed = true;
        } else if (name === "path" && eq >= 0) {
          var p = part.slice(eq + 1).replace(/^[\t ]+|[\t ]+$/g, "");
          if (p.charAt(0) !== "/" || p === prefix || p.slice(0, appPath.length) === appPath) continue;
          var clean = new NativeURL("http://h" + p).pathname.replace(/\/{2,}/g, "/");
          if (/\/\.{1,2}$/.test(p)) clean = clean.replace(/\/$/, "") || "/";
          parts[i] = part.slice(0, eq + 1) + appPath + clean.slice(1);
          changed = true;
        }
      }
      if (!changed) return v;
      return parts.filter(function (x) { return x !== null; }).join(";");
    }

    // name puts an assignment's cookie into the app's jar, as the gateway
    // renames the cookies of Set-Cookie: the jar's prefix before the name.
    function name(v) {
      var lead = /^[\t ]*/.exec(v)[0];
      return lead + jar + v.slice(lead.length);
    }

    // read returns the cookies of the app's jar in a document.cookie
    // string, under their own names.
    function read(all) {
      if (typeof all !== "string" || all === "") return all;
      var out = [];
      all.split("; ").forEach(function (pair) {
        if (pair.slice(0, jar.length) === jar) out.push(pair.slice(jar.length));
      });
      return out.join("; ");
    }

    function install() {
      if (!prefix || !NativeURL || (!config.rewriteLinks && !jar)) return;
      var proto = typeof Document === "function" ? Document.prototype : null;
      var d = proto && Object.getOwnPropertyDescriptor(proto, "cookie");
      if (!d || typeof d.get !== "function" || typeof d.set !== "function" || !d.configurable) {
        warn("could not patch document.cookie");
        return;
      }
      Object.defineProperty(proto, "cookie", {
        get: function () {
          var v = d.get.call(this);
          try {
            return jar && this === document ? read(v) : v;
          } catch (e) {
            return v;
          }
        },
        set: function (v) {
          if (this !== document) return d.set.call(this, v);
          var out;
          try {
            // The native setter converts to a string too.
            out = String(v);
            out = scope(jar ? name(out) : out);
          } catch (e) {
            // Never a cookie outside the app's jar: with one, the write is
            // dropped; without, it goes unscoped, as without the shim.
            if (jar) {
              warn("could not write a cookie into the app's jar", e);
              return;
            }
            out = v;
          }
          d.set.call(this, out);
        },
        enumerable: d.enumerable,
        configurable: true,
      });
    }

    return { install: install };
  })();

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
  /**
   * Moves a URL under the app's path the way the shim does for fetch and
   * its kin (links rewriting only; otherwise returns url as it is).
   * @param {string|URL} url
   * @returns {string|URL}
   */
  api.toApp = function (url) { return links.toApp(url); };
  Object.freeze(api);

  try {
    Object.defineProperty(window, "HelpdeskApps", { value: api, enumerable: false, configurable: true, writable: true });
  } catch (e) {
    return; // the page froze the global object: stay out of its way
  }

  // Links are rewritten framed or not: the page is under the app's path
  // wherever it is shown.
  try {
    links.install();
  } catch (e) {
    warn("could not set up link rewriting", e);
  }
  try {
    cookies.install();
  } catch (e) {
    warn("could not set up cookies", e);
  }

  if (!framed) return;
  window.addEventListener("message", onMessage);
  if (config.autoResize) resizer.start();
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", onLoaded);
  else onLoaded();
})();
