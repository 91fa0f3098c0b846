// The demo Helpdesk's tickets: fake, made afresh on every load, dated
// relative to now. Each entry is the ticket as the helpdesk:apps protocol
// sends it to ticket sidebar apps (DESIGN.md §7, the seed's "Ticket
// Context"), and the conversation the Helpdesk shows beside it, which apps
// never receive.
"use strict";

// eslint-disable-next-line no-unused-vars
const DEMO_TICKETS = (function () {
  const MIN = 60 * 1000;
  const ago = (minutes) => new Date(Date.now() - minutes * MIN).toISOString();
  const division = { id: 1, name: "Customer Support" };
  const orderField = (value) => ({ id: "cf-order", name: "order_number", label: "Order number", type: "text", value });

  function make(seq, t) {
    return {
      ticket: {
        id: "t-" + seq, sequential_id: seq, subject: t.subject, status: t.status, priority: t.priority,
        created_at: ago(t.opened), updated_at: ago(t.touched),
        requester: Object.assign({ id: "c-" + seq }, t.requester), assignee: null, division,
        tags: t.tags, form_id: "f-orders", custom_fields: [orderField(t.order)],
      },
      channel: t.channel,
      messages: t.messages.map((m) => ({ from: m.from, author: m.author || t.requester.name, at: ago(m.at), body: m.body })),
    };
  }

  return [
    make(1042, {
      subject: "Order arrived damaged, the lamp is cracked", status: "open", priority: "high", opened: 134, touched: 12,
      channel: "Email", order: "55-1234", tags: ["shipping", "damaged"],
      requester: { name: "Budi Santoso", email: "budi.santoso@example.com", phone: "+62 812 5550 1042" },
      messages: [
        { from: "requester", at: 134, body: "Hi, my order 55-1234 arrived this morning and the ceramic table lamp is cracked along the base. The box was dented on one corner. Can you send a replacement? I've attached two photos." },
        { from: "note", author: "Rina Wijaya", at: 60, body: "Carrier damage, third one from the Jakarta hub this week. Check the tracking before replacing." },
        { from: "requester", at: 12, body: "Just checking in: is there anything else you need from me?" },
      ],
    }),
    make(1043, {
      subject: "Where is my parcel? Tracking hasn't moved", status: "open", priority: "normal", opened: 310, touched: 41,
      channel: "Chat", order: "55-1240", tags: ["tracking"],
      requester: { name: "Chloé Martin", email: "chloe.martin@example.fr", phone: "+33 6 55 50 10 43" },
      messages: [
        { from: "requester", at: 310, body: "Bonjour! The tracking for my order has said \"in transit\" for four days now. Is it lost?" },
        { from: "agent", author: "Tom Becker", at: 290, body: "Hi Chloé, let me check with the carrier for you." },
        { from: "requester", at: 41, body: "Any news? I need it before the weekend." },
      ],
    }),
    make(1044, {
      subject: "Wrong size delivered, exchange for an M", status: "pending", priority: "normal", opened: 1500, touched: 200,
      channel: "Email", order: "55-1198", tags: ["exchange", "apparel"],
      requester: { name: "Kenji Sato", email: "kenji.sato@example.jp", phone: "+81 90 5550 1044" },
      messages: [
        { from: "requester", at: 1500, body: "I ordered the rain jacket in M and received an XL. I'd like to exchange it, please." },
        { from: "agent", author: "Rina Wijaya", at: 1380, body: "Sorry about that, Kenji! I've created replacement order 55-1260 in size M. Please send the XL back with the prepaid label." },
        { from: "requester", at: 200, body: "Thanks. I dropped the parcel off at the post office today." },
      ],
    }),
    make(1045, {
      subject: "Refund not received two weeks after return", status: "on hold", priority: "urgent", opened: 4300, touched: 95,
      channel: "Phone", order: "55-1175", tags: ["refund", "returns"],
      requester: { name: "Amara Okafor", email: "amara.okafor@example.com", phone: "+234 803 555 1045" },
      messages: [
        { from: "requester", at: 4300, body: "I returned the espresso machine on the 2nd and still have no refund. The tracking shows it was delivered to your warehouse." },
        { from: "note", author: "Tom Becker", at: 2900, body: "Waiting for the warehouse to confirm the return inspection." },
        { from: "requester", at: 95, body: "This is now urgent, the charge is on my credit card statement." },
      ],
    }),
    make(1046, {
      subject: "Please change the delivery address", status: "open", priority: "high", opened: 52, touched: 52,
      channel: "Web form", order: "55-1251", tags: ["address-change"],
      requester: { name: "Lucas Silva", email: "lucas.silva@example.com.br", phone: "+55 11 95550 1046" },
      messages: [
        { from: "requester", at: 52, body: "I just placed order 55-1251 but I'm moving next week. Can you ship it to Rua Augusta 1046, São Paulo instead?" },
      ],
    }),
    make(1047, {
      subject: "Invoice with our VAT number", status: "solved", priority: "low", opened: 8700, touched: 2880,
      channel: "Email", order: "55-1209", tags: ["billing", "invoice"],
      requester: { name: "Sofia Rossi", email: "sofia.rossi@example.it", phone: "+39 333 555 1047" },
      messages: [
        { from: "requester", at: 8700, body: "Could you reissue the invoice for 55-1209 with our VAT number IT01234567890?" },
        { from: "agent", author: "Rina Wijaya", at: 2880, body: "Done! The corrected invoice is attached. Have a great week, Sofia." },
      ],
    }),
  ];
})();
