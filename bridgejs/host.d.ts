// Types of window.HelpdeskHost, the SDK Helpdesk front ends use to mount
// apps (served by the Helpdesk Apps Gateway at <prefix>/_bridge/host.js).
// The protocol is DESIGN.md §7: {channel: "helpdesk:apps", event, payload}.
/// <reference path="./protocol.d.ts" />

declare namespace HelpdeskHost {
  // The protocol payloads: protocol.d.ts.
  type User = HelpdeskProtocol.User;
  type TicketRequester = HelpdeskProtocol.TicketRequester;
  type TicketAssignee = HelpdeskProtocol.TicketAssignee;
  type TicketDivision = HelpdeskProtocol.TicketDivision;
  type TicketCustomField = HelpdeskProtocol.TicketCustomField;
  type Ticket = HelpdeskProtocol.Ticket;
  type Mode = "popup" | "embed";
  type Placement = "ticket_sidebar" | "main_menu";

  /** Codes of the helpdesk:error messages the host sends to apps. */
  type ErrorCode = "OUT_OF_SCOPE" | "NO_TICKET";

  interface Size {
    width?: number;
    height?: number;
  }

  interface MountOptions {
    /** URL of the app, resolved against document.baseURI; the app's origin comes from it. */
    src: string;
    /** The gateway's app id (as in the manifest); informational. */
    app?: string;
    /** Default: "embed". Resize and fullscreen requests are honoured in popup mode only. */
    mode?: Mode;
    /** Default: "main_menu". Ticket context is given to ticket_sidebar apps only. */
    placement?: Placement;
    user?: User | null;
    /** The open ticket, or null when none is (ticket_sidebar only). */
    ticket?: Ticket | null;
    /** Lower bounds, in px, that resize requests are clamped to. */
    minSize?: Size;
    /** Upper bounds, in px, that resize requests are clamped to. */
    maxSize?: Size;
    /** The iframe's title. Default: the app id. */
    title?: string;
    /**
     * The iframe's sandbox attribute. Without allow-same-origin the app's
     * origin is opaque: nothing is posted to it and its messages are dropped.
     */
    sandbox?: string;
    /** The iframe's allow attribute (permissions policy). */
    allow?: string;
    /** Unused. */
    timeout?: number;
  }

  /** A message the instance accepted (every rule passed). */
  interface AcceptedMessage {
    event: string;
    payload: Record<string, unknown>;
    origin: string;
  }

  interface InstanceEvents {
    /** The app sent helpdesk:app:ready (again after each reload) and got its context. */
    ready: { appId: string; mode: Mode; placement: Placement };
    /** A popup resize was applied; sizes in px after clamping. */
    resize: { width: number; height: number };
    /** A popup went full screen or back. */
    fullscreen: { fullscreen: boolean };
    /** Every accepted message, for debugging. */
    message: AcceptedMessage;
  }

  interface Instance {
    readonly iframe: HTMLIFrameElement;
    /** Unique per instance; sent to the app in helpdesk:context:app. */
    readonly appId: string;
    readonly app: string | null;
    /** The app's origin (from src), or "null" when it is opaque. */
    readonly origin: string;
    readonly mode: Mode;
    readonly placement: Placement;
    /** True once the app has sent ready. */
    readonly connected: boolean;
    readonly fullscreen: boolean;
    readonly user: User | null;
    readonly ticket: Ticket | null;
    readonly destroyed: boolean;

    /** Stores the ticket; a connected ticket_sidebar app gets helpdesk:ticket:update (not for null). */
    updateTicket(ticket: Ticket | null): void;
    /** Stores the user; a connected app gets helpdesk:context:user. */
    setUser(user: User | null): void;
    /** Returns a function that removes the listener. */
    on<K extends keyof InstanceEvents>(name: K, listener: (detail: InstanceEvents[K]) => void): () => void;
    off<K extends keyof InstanceEvents>(name: K, listener: (detail: InstanceEvents[K]) => void): void;
    /** Removes the message listener and the iframe; afterwards nothing is posted or handled. */
    destroy(): void;
  }

  interface API {
    /**
     * Creates the app's iframe in container (an element or a CSS selector)
     * and starts answering it. Throws a TypeError when the container is not
     * found or src is missing.
     */
    mount(container: Element | string, options: MountOptions): Instance;
    readonly version: string;
    readonly CHANNEL: "helpdesk:apps";
  }
}

interface Window {
  readonly HelpdeskHost: HelpdeskHost.API;
}

declare var HelpdeskHost: HelpdeskHost.API;
