// Optional: the demo tool shows the Helpdesk context the injected shim
// received. A legacy tool needs none of this to join the protocol.
"use strict";
(function () {
  const out = document.getElementById("context");
  if (!out || !window.HelpdeskApps) return;
  const show = () => {
    const hd = window.HelpdeskApps;
    out.textContent = JSON.stringify({ appId: hd.appId, mode: hd.mode, user: hd.user,
      ticket: hd.ticket && { sequential_id: hd.ticket.sequential_id, status: hd.ticket.status } }, null, 2);
  };
  ["helpdesk:context:user", "helpdesk:context:ticket", "helpdesk:context:app", "helpdesk:ticket:update"]
    .forEach((name) => window.addEventListener(name, show));
  show();
})();
