// Types of the helpdesk:apps protocol (bridgejs/README.md, "The protocol"),
// shared by client.d.ts (window.HelpdeskApps) and host.d.ts
// (window.HelpdeskHost).

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

  type Mode = "popup" | "embed";

  /** Every message, in either direction, is one of these, sent with postMessage. */
  interface Envelope<E extends string = string, P = Record<string, unknown>> {
    channel: "helpdesk:apps";
    event: E;
    /** May be absent (a vendor-style ready has none): read as {}. */
    payload?: P;
  }

  /**
   * The appId an app may put in what it sends: absent, null or "" (it does
   * not know it yet) or the one helpdesk:context:app gave it. Any other
   * value makes the Helpdesk ignore the message.
   */
  interface AppIdClaim {
    appId?: string | null;
  }

  /** A request that may carry a correlation id, echoed in its reply. */
  interface Request extends AppIdClaim {
    requestId?: string;
  }

  /** helpdesk:context:app */
  interface AppContext {
    /** Unique per iframe instance, assigned by the Helpdesk. */
    appId: string;
    mode: Mode;
  }

  /** Codes of helpdesk:error; a Helpdesk may send codes of its own. */
  type HostErrorCode = "OUT_OF_SCOPE" | "NO_TICKET" | (string & {});

  /** helpdesk:error: the Helpdesk refused a request. */
  interface HostErrorPayload {
    /** The event refused, such as "helpdesk:get:context:ticket". */
    event: string;
    code: HostErrorCode;
    message: string;
    /** The request's requestId, when it had one. */
    requestId?: string;
  }

  /**
   * Codes of helpdesk:app:error, this project's extension of the protocol,
   * with the HTTP status each goes with: BAD_REQUEST 400, UNAUTHENTICATED
   * 401, FORBIDDEN 403, NOT_FOUND 404, METHOD_NOT_ALLOWED 405, BAD_GATEWAY
   * 502, UNAVAILABLE 503, GATEWAY_TIMEOUT 504; another status is
   * "HTTP_<status>".
   */
  type AppErrorCode =
    | "BAD_REQUEST"
    | "UNAUTHENTICATED"
    | "FORBIDDEN"
    | "NOT_FOUND"
    | "METHOD_NOT_ALLOWED"
    | "BAD_GATEWAY"
    | "UNAVAILABLE"
    | "GATEWAY_TIMEOUT"
    | (string & {});

  /**
   * helpdesk:app:error: a page shown in the app's frame in the app's place
   * (the gateway's error pages) tells the Helpdesk why the app is not there.
   */
  interface AppErrorPayload extends AppIdClaim {
    /**
     * The gateway's id of the app (as in its manifest), for people and
     * logs. Not the protocol's appId: a page shown in the app's place cannot
     * know the instance's appId, and sends none.
     */
    app?: string;
    code: AppErrorCode;
    /** The HTTP status of the page, 100–599. */
    status?: number;
    /** A sentence for people. */
    message?: string;
  }

  /** Payloads of the events an app sends to the Helpdesk, by event name. */
  interface AppEvents {
    "helpdesk:app:ready": AppIdClaim;
    "helpdesk:get:context:user": Request;
    "helpdesk:get:context:ticket": Request;
    /** Popup mode only. Numbers are px; strings "600px" or "600"; anything else is ignored. */
    "helpdesk:app:resize": AppIdClaim & { width?: number | string; height?: number | string };
    /** Popup mode only. true enters full screen; anything else leaves it. */
    "helpdesk:app:fullscreen": AppIdClaim & { fullscreen: boolean };
    /** This project's extension. */
    "helpdesk:app:error": AppErrorPayload;
    /**
     * This project's extension: the gateway's sign-in page, in the app's
     * place, holds the handshake; signedIn as it reloads into the app.
     */
    "helpdesk:app:signin": { signedIn?: boolean };
  }

  /** Payloads of the events the Helpdesk sends to an app, by event name. */
  interface HostEvents {
    "helpdesk:context:user": { user: User | null; requestId?: string };
    "helpdesk:context:ticket": { ticket: Ticket; requestId?: string };
    "helpdesk:context:app": AppContext;
    "helpdesk:ticket:update": { ticket: Ticket };
    "helpdesk:error": HostErrorPayload;
  }

  type AppEventName = keyof AppEvents;
  type HostEventName = keyof HostEvents;
}
