"use strict";
// The popup tests drive popup.html and blocked.html through window.T, like
// host.html's: T.mount mounts an app on document.body, T.popup opens one with
// HelpdeskHost.openPopup (the #open button opens T.next), T.log records the
// instance's events in order, T.raw every message that reached this window,
// T.violations the page's Content-Security-Policy violations.
window.T = {
	inst: null,
	next: null,
	log: [],
	raw: [],
	violations: [],
	watch: function (inst) {
		["ready", "resize", "fullscreen", "message", "error", "close"].forEach(function (type) {
			inst.on(type, function (detail) {
				T.log.push({ type: type, detail: JSON.parse(JSON.stringify(detail)), at: performance.now() });
			});
		});
		T.inst = inst;
		return inst.appId;
	},
	mount: function (options) {
		return T.watch(HelpdeskHost.mount(document.body, options));
	},
	popup: function (options) {
		return T.watch(HelpdeskHost.openPopup(options));
	},
	events: function (type) {
		return T.log.filter(function (e) { return e.type === type; }).map(function (e) { return e.detail; });
	},
	count: function (type) {
		return T.events(type).length;
	},
	received: function (event) {
		return T.events("message").filter(function (m) { return m.event === event; });
	},
	reports: function (name) {
		return T.raw.filter(function (m) {
			return m.data && m.data.channel === "test:report" && m.data.event === name;
		}).length;
	},
	// frame adds a plain iframe, outside any instance.
	frame: function (src) {
		var f = document.createElement("iframe");
		f.src = src;
		document.body.appendChild(f);
	},
	rect: function (el) {
		var r = el.getBoundingClientRect();
		return { left: Math.round(r.left), top: Math.round(r.top), right: Math.round(r.right), bottom: Math.round(r.bottom),
			width: Math.round(r.width), height: Math.round(r.height) };
	},
	// win is the window's box on screen; part(name) one of its parts'.
	win: function () {
		return T.rect(T.inst.windowElement);
	},
	part: function (name) {
		return T.rect(T.inst.windowElement.querySelector('[data-helpdesk-part="' + name + '"]'));
	},
	box: function () {
		return T.rect(T.inst.iframe);
	},
	// area is where windows may go: the viewport below the header.
	area: function () {
		var header = document.getElementById("top");
		var top = header ? Math.ceil(header.getBoundingClientRect().bottom) : 0;
		var right = document.documentElement.clientWidth;
		var bottom = document.documentElement.clientHeight;
		return { left: 0, top: top, right: right, bottom: bottom, width: right, height: bottom - top };
	},
	focused: function () {
		var a = document.activeElement;
		if (!a) return "";
		return a.id || a.getAttribute("data-helpdesk-part") || a.nodeName.toLowerCase();
	},
};
window.addEventListener("message", function (e) {
	T.raw.push({ origin: e.origin, data: e.data, fromApp: !!(T.inst && e.source === T.inst.iframe.contentWindow) });
});
document.addEventListener("securitypolicyviolation", function (e) {
	T.violations.push({ directive: e.effectiveDirective, blocked: e.blockedURI, sample: e.sample });
});
document.addEventListener("DOMContentLoaded", function () {
	var open = document.getElementById("open");
	if (open) open.addEventListener("click", function () { T.popup(T.next); });
});
