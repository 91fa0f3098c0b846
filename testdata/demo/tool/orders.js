// Acme Orders' order lookup. Standalone, it looks up the order number typed
// (or given as ?order=). In the Helpdesk's ticket sidebar it looks up the
// open ticket's order: it reads the ticket's requester and its order_number
// custom field from helpdesk:context:ticket, and follows
// helpdesk:ticket:update, through window.HelpdeskApps, the API of the shim
// the gateway injects.
"use strict";
(function () {
  const hd = window.HelpdeskApps && window.HelpdeskApps.framed ? window.HelpdeskApps : null;
  const $ = (sel) => document.querySelector(sel);
  const DAY = 24 * 3600 * 1000;
  const state = {
    data: null,
    failed: null,
    ticket: null,
    key: "", // the ticket and order number the manual lookup was made for
    manual: new URLSearchParams(location.search).get("order") || "",
    connected: false,
  };

  // ---- Helpers ---------------------------------------------------------------

  function el(tag, cls, text) {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = text;
    return n;
  }

  function cap(s) {
    return String(s).charAt(0).toUpperCase() + String(s).slice(1);
  }

  function money(n) {
    const currency = (state.data && state.data.currency) || "USD";
    return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(n);
  }

  // day formats a date given in days before today (negative: after).
  function day(d) {
    if (d === null || d === undefined) return "";
    if (d === 0) return "today";
    if (d === 1) return "yesterday";
    if (d === -1) return "tomorrow";
    return new Date(Date.now() - d * DAY).toLocaleDateString("en-US", { month: "short", day: "numeric" });
  }

  function ticketOrder(t) {
    const f = t && Array.isArray(t.custom_fields) ? t.custom_fields.find((c) => c && c.name === "order_number") : null;
    return f && f.value ? String(f.value).trim() : "";
  }

  function statusClass(status) {
    return "st st-" + String(status).replace(/\s+/g, "-");
  }

  function ordersOf(email) {
    if (!state.data || !email) return [];
    const e = email.toLowerCase();
    return Object.keys(state.data.orders).filter((n) => state.data.orders[n].customer === e)
      .sort((a, b) => state.data.orders[a].placed - state.data.orders[b].placed);
  }

  function section(title, ...children) {
    const s = el("section", "card-sec");
    s.append(el("h3", "", title), ...children);
    return s;
  }

  // ---- The Helpdesk ticket ------------------------------------------------------

  // describe says what changed between two versions of the ticket.
  function describe(prev, next) {
    if (!prev || prev.id !== next.id) return "Switched to ticket #" + next.sequential_id;
    const changes = [];
    if (prev.status !== next.status) changes.push("status " + cap(next.status));
    if (prev.priority !== next.priority) changes.push("priority " + cap(next.priority));
    if (ticketOrder(prev) !== ticketOrder(next)) changes.push("order number " + (ticketOrder(next) || "removed"));
    const who = (t) => (t.assignee ? t.assignee.name : "");
    if (who(prev) !== who(next)) changes.push(next.assignee ? "assigned to " + next.assignee.name : "unassigned");
    return changes.length ? "Ticket updated: " + changes.join(", ") : "Ticket updated";
  }

  let flashTimer = null;
  function setTicket(ticket, how) {
    if (!ticket || typeof ticket !== "object") return;
    const prev = state.ticket;
    state.ticket = ticket;
    const key = ticket.id + "|" + ticketOrder(ticket);
    if (key !== state.key) {
      state.key = key;
      state.manual = "";
    }
    $("#linked").hidden = false;
    $("#linked-ticket").textContent = "#" + ticket.sequential_id;
    $("#linked-status").textContent = cap(ticket.status || "");
    $("#linked-status").className = statusClass(ticket.status || "");
    $("#linked-priority").textContent = cap(ticket.priority || "") + " priority";
    $("#linked-priority").className = "prio prio-" + ticket.priority;
    const r = ticket.requester || {};
    $("#linked-requester").textContent = r.name || "Unknown requester";
    $("#linked-email").textContent = r.email || "";
    const note = $("#linked-note");
    if (how === "update") {
      note.textContent = describe(prev, ticket);
      const box = $("#linked");
      box.classList.remove("flash");
      void box.offsetWidth; // restart the animation
      box.classList.add("flash");
      clearTimeout(flashTimer);
      flashTimer = setTimeout(() => box.classList.remove("flash"), 1600);
    } else if (!prev) {
      note.textContent = "From the Helpdesk: " + (ticket.subject || "");
    }
    render();
  }

  // ---- Rendering ----------------------------------------------------------------

  function wanted() {
    return state.manual || ticketOrder(state.ticket);
  }

  function render() {
    const out = $("#result");
    const number = wanted();
    $("#order-input").value = number;
    if (state.failed) {
      out.replaceChildren(el("p", "notice notice-bad", "Could not load the orders: " + state.failed));
      return;
    }
    if (!state.data) return;
    if (!number) {
      out.replaceChildren(...empty());
      return;
    }
    const order = state.data.orders[number];
    if (!order) {
      const p = el("p", "notice notice-bad");
      p.append("No order ", el("b", "", number), " in Acme Orders.");
      out.replaceChildren(p, ...others(state.ticket && state.ticket.requester ? state.ticket.requester.email : "", number));
      return;
    }
    out.replaceChildren(card(number, order));
  }

  function empty() {
    const nodes = [];
    if (state.ticket) {
      const p = el("p", "notice");
      p.append("Ticket #" + state.ticket.sequential_id + " has no order number. Look one up above, or fill in the ticket's ",
        el("b", "", "Order number"), " field.");
      nodes.push(p, ...others(state.ticket.requester && state.ticket.requester.email, ""));
    } else {
      nodes.push(el("p", "hint", hd && state.connected
        ? "Opened from the Helpdesk's menu, with no ticket: type an order number."
        : "Type an order number, such as 55-1234."));
      const recent = Object.keys(state.data.orders).sort((a, b) => state.data.orders[a].placed - state.data.orders[b].placed).slice(0, 5);
      nodes.push(section("Recent orders", orderList(recent)));
    }
    return nodes;
  }

  // others lists the requester's orders, but skip.
  function others(email, skip) {
    const list = ordersOf(email).filter((n) => n !== skip);
    if (!list.length) return [];
    return [section("Other orders of " + (state.data.customers[email.toLowerCase()] || { name: email }).name, orderList(list))];
  }

  function orderList(numbers) {
    const ul = el("ul", "orders-list");
    for (const n of numbers) {
      const o = state.data.orders[n];
      const b = el("button", "order-link");
      b.type = "button";
      b.dataset.order = n;
      b.append(el("b", "", n), el("span", "muted", day(o.placed)), el("span", statusClass(o.status), cap(o.status)));
      b.addEventListener("click", () => lookUp(n));
      const li = el("li");
      li.append(b);
      ul.append(li);
    }
    return ul;
  }

  function card(number, o) {
    const customer = state.data.customers[o.customer] || { name: o.customer };
    const c = el("article", "card");
    c.dataset.order = number;

    const head = el("div", "card-head");
    const title = el("h2");
    title.append("Order ", el("span", "", number));
    title.lastChild.id = "order-number";
    const st = el("span", statusClass(o.status), cap(o.status));
    st.id = "order-status";
    head.append(title, st);
    const items = o.items.reduce((s, i) => s + i.qty * i.price, 0);
    const total = items + (o.shipping.cost || 0);
    const sub = el("p", "card-sub", "Placed " + day(o.placed) + " · " + money(total) + " · " + o.payment);
    c.append(head, sub);

    if (o.flag) c.append(el("p", "flag", o.flag));
    const t = state.ticket;
    if (t && t.requester && t.requester.email && t.requester.email.toLowerCase() !== o.customer) {
      const warn = el("p", "notice notice-warn");
      warn.id = "order-mismatch";
      warn.append("This order belongs to ", el("b", "", customer.name), ", not to the ticket's requester.");
      c.append(warn);
    }

    const who = el("div", "customer");
    const since = el("span", "muted", customer.tier + " customer since " + customer.since + " · " + ordersOf(o.customer).length + " orders");
    const name = el("b", "", customer.name);
    name.id = "order-customer";
    who.append(name, el("span", "muted", o.customer), since);
    c.append(section("Customer", who));

    const rows = el("table", "items");
    for (const i of o.items) {
      const tr = el("tr");
      tr.append(el("td", "qty", i.qty + " ×"), el("td", "", i.name), el("td", "num", money(i.qty * i.price)));
      rows.append(tr);
    }
    const ship = el("tr", "ship-row");
    ship.append(el("td"), el("td", "", "Shipping"), el("td", "num", o.shipping.cost ? money(o.shipping.cost) : "Free"));
    rows.append(ship);
    c.append(section("Items", rows));

    const s = o.shipping;
    const dl = el("dl", "kv");
    const kv = (k, v) => { if (v) dl.append(el("dt", "", k), el("dd", "", v)); };
    kv("Carrier", s.carrier + " · " + s.service);
    kv("Tracking", s.tracking || "Not shipped yet");
    if (s.days !== null && s.days !== undefined) kv("Delivered", cap(day(s.days)));
    else if (s.eta !== null && s.eta !== undefined) kv("Expected", cap(day(s.eta)));
    kv("Address", s.address);
    c.append(section("Shipping", dl));

    const steps = el("ol", "steps");
    for (const [label, d] of o.steps) {
      const li = el("li", d === null ? "" : "done");
      li.append(el("span", "dot"), el("span", "step-label", label), el("span", "step-date", d === null ? "—" : day(d)));
      steps.append(li);
    }
    c.append(section("Progress", steps));

    const more = ordersOf(o.customer).filter((n) => n !== number);
    if (more.length) c.append(section("Other orders of " + customer.name, orderList(more)));

    const actions = el("div", "actions");
    const full = el("a", "btn", "Open in Acme Orders ↗");
    full.href = "orders?order=" + encodeURIComponent(number);
    full.target = "_blank";
    full.rel = "noopener";
    actions.append(full);
    if (state.manual && state.ticket && ticketOrder(state.ticket)) {
      const back = el("button", "btn", "Back to the ticket's order");
      back.type = "button";
      back.addEventListener("click", () => lookUp(""));
      actions.append(back);
    }
    c.append(actions);
    return c;
  }

  function lookUp(number) {
    state.manual = number;
    render();
    window.scrollTo(0, 0);
  }

  // ---- Start --------------------------------------------------------------------

  $("#lookup").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const n = $("#order-input").value.trim();
    lookUp(n === ticketOrder(state.ticket) ? "" : n);
  });

  fetch("data/orders.json", { cache: "no-store", headers: { Accept: "application/json" } })
    .then((r) => {
      if (!r.ok) throw new Error("the server answered " + r.status);
      return r.json();
    })
    .then((data) => { state.data = data; })
    .catch((err) => { state.failed = err.message; })
    .then(render);

  if (hd) {
    hd.on("helpdesk:context:ticket", (p) => setTicket(p.ticket, "context"));
    hd.on("helpdesk:ticket:update", (p) => setTicket(p.ticket, "update"));
    hd.on("helpdesk:context:app", () => {
      state.connected = true;
      if (!state.ticket) render();
    });
    if (hd.ticket) setTicket(hd.ticket, "context");
  }
  render();
})();
