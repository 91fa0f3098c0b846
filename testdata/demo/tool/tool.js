// Acme Orders' page chrome, on every page of the tool: the tool bar shows
// the Helpdesk user when the page is framed by the Helpdesk. The tool has no
// Helpdesk code of its own beyond this: it uses window.HelpdeskApps, the
// API of the shim the gateway injects, when it is there.
"use strict";
(function () {
  const chip = document.getElementById("tb-user");
  const hd = window.HelpdeskApps;
  if (!chip) return;
  if (!hd || !hd.framed) {
    chip.textContent = "Standalone";
    chip.title = "Not framed by the Helpdesk";
    return;
  }
  const show = () => {
    const u = hd.user;
    const name = u && u.name ? String(u.name) : "Helpdesk";
    const initials = name.split(/\s+/).filter(Boolean).map((w) => w.charAt(0)).slice(0, 2).join("").toUpperCase();
    const full = document.createElement("span");
    full.className = "tb-user-name";
    full.textContent = name;
    const short = document.createElement("span");
    short.className = "tb-user-initials";
    short.setAttribute("aria-hidden", "true");
    short.textContent = initials;
    chip.replaceChildren(full, short);
    chip.title = u ? u.name + " (" + u.role + ", division " + u.division_id + "), from the Helpdesk" : "Framed by the Helpdesk";
  };
  hd.on("helpdesk:context:user", show);
  show();
})();
