// Acme Orders' diagnostics: the Helpdesk context the injected shim received.
// A legacy tool needs none of this to join the protocol.
"use strict";
(function () {
  const out = document.getElementById("context");
  const hd = window.HelpdeskApps;
  if (!out || !hd || !hd.framed) return;
  const show = () => {
    const t = hd.ticket;
    out.textContent = JSON.stringify({
      appId: hd.appId, mode: hd.mode, connected: hd.connected, user: hd.user,
      ticket: t && { sequential_id: t.sequential_id, status: t.status, priority: t.priority, requester: t.requester && t.requester.name },
    }, null, 2);
  };
  ["helpdesk:context:user", "helpdesk:context:ticket", "helpdesk:context:app", "helpdesk:ticket:update"]
    .forEach((name) => window.addEventListener(name, show));
  show();
})();
