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
    chip.textContent = u && u.name ? u.name : "Helpdesk";
    chip.title = u ? u.name + " (" + u.role + ", division " + u.division_id + "), from the Helpdesk" : "Framed by the Helpdesk";
  };
  hd.on("helpdesk:context:user", show);
  show();
})();
