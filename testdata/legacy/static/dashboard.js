// The dashboard of a tool that believes it owns "/": every URL below is
// built in JavaScript, out of reach of any server-side rewriter.
(function () {
	"use strict";

	function show(id, text) {
		document.getElementById(id).textContent = text;
	}

	// A preference cookie for the whole site, as the tool sees it.
	document.cookie = "theme=dark; path=/";

	fetch("/api/items", { credentials: "same-origin" })
		.then(function (r) { return r.json(); })
		.then(function (items) { show("items", items.join(",")); })
		.catch(function (err) { show("items", "error: " + err); });

	var xhr = new XMLHttpRequest();
	xhr.open("GET", "/api/me");
	xhr.onload = function () { show("me", JSON.parse(xhr.responseText).user); };
	xhr.onerror = function () { show("me", "error"); };
	xhr.send();

	var events = new EventSource("/events");
	events.onmessage = function (e) {
		show("sse", e.data);
		events.close();
	};

	var ws = new WebSocket("ws://" + location.host + "/ws");
	ws.onopen = function () { ws.send("ping"); };
	ws.onmessage = function (e) {
		show("ws", e.data);
		ws.close();
	};

	history.pushState({ page: 2 }, "", "/dashboard/2");

	document.getElementById("about").href = "/about";

	document.getElementById("late").innerHTML = '<img id="late-img" src="/static/logo.png" alt="" width="16" height="16">';

	document.getElementById("logout").addEventListener("click", function () {
		location.href = "/logout";
	});
})();
