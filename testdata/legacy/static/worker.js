// A dedicated worker, started with a root-relative URL.
postMessage("worker at " + location.pathname);
