// Acme Orders' team reports. Its sections open and close, so its height
// changes: in a Helpdesk popup whose app has auto_resize, the injected shim
// reports each new height and the popup follows. In a popup it also offers
// full screen, through window.HelpdeskApps, the shim's API.
"use strict";
(function () {
  const hd = window.HelpdeskApps && window.HelpdeskApps.framed ? window.HelpdeskApps : null;
  const sections = [...document.querySelectorAll("details.rsec")];
  const toggle = document.getElementById("toggle-all");
  const fsButton = document.getElementById("fullscreen");
  let fullscreen = false;

  for (const bar of document.querySelectorAll("[data-pct]")) bar.style.width = Number(bar.dataset.pct) + "%";

  function sync() {
    toggle.textContent = sections.every((s) => s.open) ? "Collapse all" : "Expand all";
  }
  toggle.addEventListener("click", () => {
    const open = !sections.every((s) => s.open);
    for (const s of sections) s.open = open;
    sync();
  });
  for (const s of sections) s.addEventListener("toggle", sync);
  sync();

  if (!hd) {
    document.getElementById("report-hint").textContent = "Open a section for details.";
    return;
  }
  const showMode = () => {
    fsButton.hidden = hd.mode !== "popup";
    if (hd.mode !== "popup") document.getElementById("report-hint").textContent = "Open a section for details.";
  };
  hd.on("helpdesk:context:app", showMode);
  if (hd.connected) showMode();
  const hint = document.getElementById("report-hint");
  const popupHint = hint.textContent;
  fsButton.addEventListener("click", () => {
    fullscreen = !fullscreen;
    fsButton.textContent = fullscreen ? "Exit full screen" : "Full screen";
    hint.textContent = fullscreen ? "Full screen: exit to get the popup back." : popupHint;
    hd.fullscreen(fullscreen);
  });
  hd.on("helpdesk:error", (e) => {
    if (e.event === "helpdesk:app:fullscreen") {
      fullscreen = false;
      fsButton.textContent = "Full screen";
      fsButton.hidden = true;
      hint.textContent = popupHint;
    }
  });
})();
