// Loaded through an absolute URL the server built from the Host header.
document.documentElement.setAttribute("data-host-js", "loaded");
