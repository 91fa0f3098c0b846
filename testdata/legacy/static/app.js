// A classic script loaded with a root-relative src.
document.documentElement.setAttribute("data-app-js", "loaded");
