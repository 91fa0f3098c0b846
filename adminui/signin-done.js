/*
 * The sign-in popup's last page, on the gateway's origin (see signin.go):
 * it hands the one-time code, or the failure, to the app's frame that
 * opened the popup, by postMessage to that frame's exact origin only, and
 * closes the popup once the code is on its way. A failure stays on screen,
 * with a Close button; so does a code with no frame to post it to.
 */
(function () {
  "use strict";

  const CHANNEL = "helpdesk:apps";
  const $ = (id) => document.getElementById(id);
  const str = (v) => (typeof v === "string" ? v : "");

  let data = {};
  try {
    const d = JSON.parse($("done-data").textContent);
    if (d !== null && typeof d === "object") data = d;
  } catch (e) {
    // Nothing to post: the page says the sign-in failed.
  }
  const code = str(data.code);
  const error = str(data.error);
  const target = originOf(str(data.targetOrigin));

  /** The origin of u, an http or https URL; else "", never "*". */
  function originOf(u) {
    try {
      const url = new URL(u);
      return url.protocol === "https:" || url.protocol === "http:" ? url.origin : "";
    } catch (e) {
      return "";
    }
  }

  /** Posts event to the window that opened this one, at target only; false when there is none. */
  function post(event, payload) {
    const opener = window.opener;
    if (!opener || opener.closed || !target) return false;
    try {
      opener.postMessage({ channel: CHANNEL, event, payload }, target);
      return true;
    } catch (e) {
      return false;
    }
  }

  function show(state, title, text) {
    $("done").dataset.state = state;
    // The marks are SVG elements, which have no hidden property.
    $("mark-ok").toggleAttribute("hidden", state !== "ok");
    $("mark-error").toggleAttribute("hidden", state !== "error");
    $("title").textContent = title;
    document.title = title;
    $("text").textContent = text;
    $("close").hidden = false;
  }

  $("close").addEventListener("click", () => window.close());

  if (error || !code) {
    const message = error || "The sign-in did not complete. Close this window and try again.";
    post("helpdesk:signin:error", { message });
    show("error", "Sign-in failed", message);
    $("close").focus();
  } else if (post("helpdesk:signin:code", { code })) {
    show("ok", "Signed in", "Going back to the app. This window closes by itself.");
    window.close();
  } else {
    show("ok", "You are signed in", "Go back to the Helpdesk; this window can be closed.");
  }
})();
