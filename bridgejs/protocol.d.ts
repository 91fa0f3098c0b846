// Types of the helpdesk:apps protocol payloads (DESIGN.md §7), shared by
// client.d.ts (window.HelpdeskApps) and host.d.ts (window.HelpdeskHost).

declare namespace HelpdeskProtocol {
  /** The logged-in Helpdesk user, as sent in helpdesk:context:user. */
  interface User {
    id: string | number;
    name: string;
    email: string;
    /** "agent" | "supervisor" | "admin" | "owner" */
    role: string;
    division_id: string | number | null;
  }

  interface TicketRequester {
    id: string | number;
    name: string;
    email: string;
    phone: string | null;
  }

  interface TicketAssignee {
    id: string | number;
    name: string;
    email: string;
  }

  interface TicketDivision {
    id: string | number;
    name: string;
  }

  interface TicketCustomField {
    id: string | number;
    name: string;
    label: string;
    type: string;
    value: unknown;
  }

  /** The open ticket, as sent in helpdesk:context:ticket and helpdesk:ticket:update. */
  interface Ticket {
    id: string | number;
    sequential_id: number;
    subject: string;
    status: string;
    priority: string;
    /** ISO 8601 date-time. */
    created_at: string;
    /** ISO 8601 date-time. */
    updated_at: string;
    requester: TicketRequester;
    assignee: TicketAssignee | null;
    division: TicketDivision | null;
    tags: string[];
    form_id: string | number | null;
    custom_fields: TicketCustomField[];
  }

}
