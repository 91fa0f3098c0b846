/*
 * The sign-in page, shown in an app's frame when the Helpdesk is on another
 * site (see signin.go). Its button opens the gateway's sign-in start in a
 * popup (a click: browsers open popups on a user gesture only), with
 * flow=<hash>, the base64url SHA-256 of a secret this page keeps. The
 * popup's last page, on the gateway's origin (CallbackOrigin), posts back
 * a one-time code; the page POSTs the code and the secret to ExchangeURL,
 * which sets the gateway's session cookie (partitioned) and answers 204,
 * and reloads the app.
 *
 * Messages count only from the popup this page opened, from
 * CallbackOrigin, and well formed; anything else is ignored, silently. The
 * page shows what it is told with textContent only.
 *
 * In a frame, the page tells the Helpdesk that frames it that the frame is
 * live, with helpdesk:app:signin (no app named), posted to the Targets
 * only: the Helpdesk would otherwise take the frame for a page without the
 * bridge and report a handshake timeout while the user signs in. It posts
 * helpdesk:app:signin with signedIn as it reloads into the app, whose own
 * handshake the Helpdesk then awaits.
 */
(function () {
  "use strict";

  const CHANNEL = "helpdesk:apps";
  const CODE_EVENT = "helpdesk:signin:code";
  const ERROR_EVENT = "helpdesk:signin:error";
  // What the page tells the Helpdesk that frames it.
  const SIGNIN_EVENT = "helpdesk:app:signin";
  const POPUP_NAME = "helpdesk-apps-signin";
  const POPUP_FEATURES = "popup,width=500,height=650";
  // The longest code the page takes, in bytes of UTF-8.
  const MAX_CODE = 4096;
  // The longest message of the gateway's the page shows, in characters.
  const MAX_MESSAGE = 1000;
  // How often the page looks whether the popup was closed, in ms. A
  // popup seen closed gets one more look, for a message on its way.
  const POLL_MS = 500;

  const TEXT = {
    blocked: "Your browser blocked the sign-in window: allow pop-ups for this site, then sign in again.",
    waiting: "Waiting for the sign-in window…",
    closed: "The sign-in window was closed before you signed in.",
    exchanging: "Signing you in…",
    done: "Signed in. Opening the app…",
    failed: "The sign-in did not complete. Try again.",
    unreachable: "The gateway could not be reached. Check your connection, then try again.",
    insecure: "This page cannot sign you in over an insecure connection: open it over HTTPS.",
    broken: "This page cannot sign you in: the gateway gave it no valid sign-in address.",
  };

  const $ = (id) => document.getElementById(id);
  const str = (v) => (typeof v === "string" ? v : "");
  const isRecord = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

  const data = readData();
  const app = str(data.app);
  const provider = str(data.provider);
  const startURL = httpURL(str(data.startURL));
  const exchangeURL = sameOriginURL(str(data.exchangeURL));
  const callbackOrigin = originOf(str(data.callbackOrigin));
  const targets = Array.isArray(data.targets) ? data.targets.map((t) => originOf(str(t))).filter(Boolean) : [];

  const button = $("signin");
  const status = $("status");

  /** The page's JSON island, or {}. */
  function readData() {
    try {
      const d = JSON.parse($("signin-data").textContent);
      return isRecord(d) ? d : {};
    } catch (e) {
      return {};
    }
  }

  /** u, resolved, when it is an http or https URL; else "". */
  function httpURL(u) {
    try {
      const url = new URL(u, location.href);
      return u && (url.protocol === "https:" || url.protocol === "http:") ? url.href : "";
    } catch (e) {
      return "";
    }
  }

  /** u, resolved, when it is a URL of this page's origin; else "". */
  function sameOriginURL(u) {
    const url = httpURL(u);
    return url && new URL(url).origin === location.origin ? url : "";
  }

  /** The origin of u, an http or https URL; else "", which no message has. */
  function originOf(u) {
    try {
      const url = new URL(u);
      return url.protocol === "https:" || url.protocol === "http:" ? url.origin : "";
    } catch (e) {
      return "";
    }
  }

  // ---- What the page says ---------------------------------------------------

  function render() {
    const title = app ? "Sign in to open " + app : "Sign in to open this app";
    $("title").textContent = title;
    document.title = title;
    $("lede").textContent = "The Helpdesk is on another site, so this app needs you to sign in" +
      (provider ? " with " + provider : "") + ". A window opens for it.";
    $("signin-label").textContent = provider ? "Sign in with " + provider : "Sign in";
    const mismatch = str(data.mismatch);
    if (mismatch) {
      $("mismatch-text").textContent = mismatch;
      $("mismatch").hidden = false;
    }
  }

  /**
   * Shows text on the status line, as kind: "busy" with a spinner, "error"
   * with an icon, "note", or "" (empty: the line takes no room).
   */
  function say(kind, text) {
    status.className = "status" + (text ? " is-" + (kind || "note") : "");
    // The icons are SVG elements, which have no hidden property.
    $("status-busy").toggleAttribute("hidden", kind !== "busy");
    $("status-error").toggleAttribute("hidden", kind !== "error");
    $("status-text").textContent = text;
  }

  /** Waits, with the button disabled. */
  function busy(text) {
    button.disabled = true;
    say("busy", text);
  }

  /** Ends the attempt, if any, says why (an error, unless kind says otherwise), and offers the button again. */
  function fail(text, kind) {
    end();
    button.disabled = false;
    say(kind || "error", text);
    if (document.hasFocus()) button.focus();
  }

  // ---- The flow's secret ----------------------------------------------------

  /** bytes as base64url, without padding. */
  function base64url(bytes) {
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  const canHash = () => !!(window.isSecureContext && window.crypto && crypto.subtle && crypto.getRandomValues);

  /** A fresh flow: a random secret of 32 bytes, base64url, and the base64url SHA-256 of that text. */
  async function makeFlow() {
    const secret = base64url(crypto.getRandomValues(new Uint8Array(32)));
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret));
    return { secret, hash: base64url(new Uint8Array(digest)) };
  }

  // The flow the next click takes, made ahead: hashing is asynchronous,
  // and some browsers (Safari) open a popup only in the click's own task,
  // not after an await. Each click takes one flow, never used before, and
  // has the next made at once.
  let ready = null;
  let making = null;

  function prepare() {
    ready = null;
    if (!canHash()) {
      making = null;
      return;
    }
    const m = makeFlow();
    making = m;
    m.then((flow) => {
      if (making === m) ready = flow;
    }, () => {});
  }

  /** The flow for this click: made, or still in the making (a promise). */
  function takeFlow() {
    const flow = ready || making;
    prepare();
    return flow;
  }

  // ---- The popup ------------------------------------------------------------

  // attempt is the sign-in under way: { popup, secret, timer, closedOnce,
  // exchanging }; null when there is none.
  let attempt = null;

  function end() {
    if (attempt) clearInterval(attempt.timer);
    attempt = null;
  }

  /** startURL with flow=hash appended to its query, before any fragment. */
  function withFlow(url, hash) {
    const at = url.indexOf("#");
    const base = at < 0 ? url : url.slice(0, at);
    const fragment = at < 0 ? "" : url.slice(at);
    const sep = !base.includes("?") ? "?" : /[?&]$/.test(base) ? "" : "&";
    return base + sep + "flow=" + hash + fragment;
  }

  function onClick() {
    if (attempt) return;
    if (!startURL || !exchangeURL || !callbackOrigin) {
      fail(TEXT.broken);
      return;
    }
    if (!canHash()) {
      fail(TEXT.insecure);
      return;
    }
    const flow = takeFlow();
    if (!flow) {
      fail(TEXT.insecure);
    } else if (typeof flow.then === "function") {
      // Made in this click's time: the browsers that keep a click's
      // activation for a few seconds (Chromium, Firefox) still open it.
      button.disabled = true;
      flow.then(open, () => fail(TEXT.failed));
    } else {
      open(flow);
    }
  }

  function open(flow) {
    let popup = null;
    try {
      popup = window.open(withFlow(startURL, flow.hash), POPUP_NAME, POPUP_FEATURES);
    } catch (e) {
      popup = null;
    }
    // null: a popup blocker, or a sandbox without allow-popups.
    if (!popup) {
      fail(TEXT.blocked);
      return;
    }
    attempt = { popup, secret: flow.secret, timer: setInterval(watch, POLL_MS), closedOnce: false, exchanging: false };
    busy(TEXT.waiting);
  }

  /** Notices a popup closed without a word: on the second look, for a message may still be on its way. */
  function watch() {
    const a = attempt;
    if (!a || a.exchanging) return;
    let closed = true;
    try {
      closed = a.popup.closed;
    } catch (e) {
      closed = true;
    }
    if (!closed) {
      a.closedOnce = false;
    } else if (!a.closedOnce) {
      a.closedOnce = true;
    } else {
      // The user's own doing, most likely: a note, not an error.
      fail(TEXT.closed, "note");
    }
  }

  /** Takes the popup's answer: from the popup, from CallbackOrigin, well formed; ignores anything else. */
  function onMessage(ev) {
    const a = attempt;
    if (!a || a.exchanging || ev.source !== a.popup) return;
    if (ev.origin !== callbackOrigin) return;
    const msg = ev.data;
    if (!isRecord(msg) || msg.channel !== CHANNEL) return;
    const payload = msg.payload;
    if (msg.event === CODE_EVENT) {
      if (!isRecord(payload) || typeof payload.code !== "string" || payload.code === "" ||
        new TextEncoder().encode(payload.code).length > MAX_CODE) return;
      a.exchanging = true;
      clearInterval(a.timer);
      exchange(payload.code, a.secret);
    } else if (msg.event === ERROR_EVENT) {
      const text = isRecord(payload) ? str(payload.message).trim().slice(0, MAX_MESSAGE) : "";
      fail(text || TEXT.failed);
    }
  }

  // ---- The exchange ---------------------------------------------------------

  async function exchange(code, secret) {
    busy(TEXT.exchanging);
    let res;
    try {
      res = await fetch(exchangeURL, {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        // The page's own policy, no-referrer, would make the Origin of a
        // POST "null" in browsers that follow the Fetch standard to the
        // letter; the gateway checks it is the frame's.
        referrerPolicy: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/problem+json, application/json" },
        body: JSON.stringify({ code, flow: secret }),
      });
    } catch (e) {
      fail(TEXT.unreachable);
      return;
    }
    if (res.status === 204) {
      end();
      say("busy", TEXT.done);
      announce({ signedIn: true });
      location.reload();
      return;
    }
    let detail = "";
    if (/json/i.test(res.headers.get("Content-Type") || "")) {
      const problem = await res.json().catch(() => null);
      if (isRecord(problem)) detail = str(problem.detail).trim().slice(0, MAX_MESSAGE);
    }
    fail(detail || "The sign-in could not be completed (error " + res.status + "). Try again.");
  }

  /** Tells the Helpdesk that frames the page that the frame is live, or signed in. */
  function announce(payload) {
    if (window.parent === window) return;
    for (const target of targets) {
      try {
        window.parent.postMessage({ channel: CHANNEL, event: SIGNIN_EVENT, payload }, target);
      } catch (e) {
        // A target that is not an origin: the others still get theirs.
      }
    }
  }

  render();
  announce({});
  prepare();
  button.addEventListener("click", onClick);
  window.addEventListener("message", onMessage);
})();
