// Types of window.HelpdeskHost, the SDK Helpdesk front ends use to mount
// apps (served by the Helpdesk Apps Gateway at <prefix>/_bridge/host.js).
// The protocol is bridgejs/README.md, "The protocol": {channel:
// "helpdesk:apps", event, payload} over postMessage.
/// <reference path="./protocol.d.ts" />

declare namespace HelpdeskHost {
  // The protocol payloads: protocol.d.ts.
  type User = HelpdeskProtocol.User;
  type TicketRequester = HelpdeskProtocol.TicketRequester;
  type TicketAssignee = HelpdeskProtocol.TicketAssignee;
  type TicketDivision = HelpdeskProtocol.TicketDivision;
  type TicketCustomField = HelpdeskProtocol.TicketCustomField;
  type Ticket = HelpdeskProtocol.Ticket;
  type Mode = HelpdeskProtocol.Mode;
  type Placement = "ticket_sidebar" | "main_menu";

  /** Codes of the helpdesk:error messages the host sends to apps. */
  type ErrorCode = "OUT_OF_SCOPE" | "NO_TICKET";

  /**
   * Codes of the instance's "error" events: the gateway's (from
   * helpdesk:app:error; a page may send others), and the host's own:
   * TIMEOUT (no helpdesk:app:ready within handshakeTimeout) and LOAD_FAILED
   * (the frame could not load, where that can be seen).
   */
  type FailureCode = HelpdeskProtocol.AppErrorCode | "TIMEOUT" | "LOAD_FAILED";

  /** Detail of an instance's "error" event. */
  interface Failure {
    code: FailureCode;
    /** The HTTP status, when the gateway gave one. */
    status?: number;
    message: string;
    /**
     * "gateway": the frame posted helpdesk:app:error (a gateway error page);
     * "load": the frame could not load (the page's own policy blocked it,
     * mixed content, or the iframe's error event); "handshake": no ready
     * within handshakeTimeout.
     */
    source: "gateway" | "load" | "handshake";
  }

  /** Why a window closed: its Escape key, its close button, or instance.close(). */
  type CloseReason = "escape" | "button" | "api" | (string & {});

  /** A floating window's box in the viewport, in CSS px (title bar included). */
  interface Bounds {
    left: number;
    top: number;
    width: number;
    height: number;
  }

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
    /**
     * Lower bounds, in px, of the app's area: resize requests are clamped
     * to them, and so, in a window, is the user's resizing (which never
     * goes below 220×90 either). A function is called for them on opening,
     * on each resize request and, in a window, on each refit after the
     * viewport (or the avoid element) changes.
     */
    minSize?: Size | (() => Size);
    /**
     * Upper bounds, in px, of the app's area: for resize requests and, in a
     * window, the user's resizing and the window's size. A function is read
     * again as minSize's is, so limits that follow the page's layout apply
     * when the browser window shrinks: the window shrinks to them, and grows
     * back when they grow.
     */
    maxSize?: Size | (() => Size);
    /** The iframe's title, and a window's. Default: the app id. */
    title?: string;
    /**
     * The iframe's sandbox attribute. Default, for an app of another origin
     * than the page's (one of the same origin could lift any): "allow-scripts
     * allow-same-origin allow-forms allow-popups
     * allow-popups-to-escape-sandbox allow-modals allow-downloads
     * allow-top-navigation-by-user-activation
     * allow-storage-access-by-user-activation", which keeps the app's origin
     * and lets it navigate the Helpdesk page only on a user's click; false:
     * no sandbox. Without allow-same-origin the app's origin is opaque and
     * nothing is posted to it.
     */
    sandbox?: string | false;
    /** The iframe's allow attribute (permissions policy). */
    allow?: string;
    /** Unused. */
    timeout?: number;
    /**
     * Milliseconds to wait for helpdesk:app:ready before an "error" event
     * with code TIMEOUT (a ready that comes later still connects).
     * Default: 10000; 0 disables.
     */
    handshakeTimeout?: number;
    /**
     * Popup mode: show the app in a floating window appended to the
     * container (use document.body, or HelpdeskHost.openPopup): a title bar
     * with the title, a full-screen and a close button; dragged by its title
     * bar and resized from its edges and corners, with the pointer or the
     * keyboard; always inside the viewport. Ignored in embed mode.
     * Default: false (the iframe alone, placed by the page).
     */
    window?: boolean;
    /**
     * Window: an element, or a CSS selector, the window never covers (the
     * Helpdesk's header): its bottom edge is the window's top limit, in
     * full screen too. Default: none.
     */
    avoid?: Element | string | null;
    /**
     * Window: remember its position and size in localStorage, under
     * "helpdesk-host:window:<app>" (or the src's origin and path without
     * app), and open there next time. Default: true.
     */
    remember?: boolean;
    /**
     * Window: move the focus to its title bar when it opens, and back to the
     * element that had it when it closes. Default: true.
     */
    autoFocus?: boolean;
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
    /** Something kept the app from showing: see Failure. */
    error: Failure;
    /** The window was closed by the user (or close()); the instance is destroyed right after. */
    close: { reason: CloseReason };
  }

  interface Instance {
    readonly iframe: HTMLIFrameElement;
    /** The floating window (window: true), or null. */
    readonly windowElement: HTMLElement | null;
    /** The floating window's box in the viewport, or null. */
    readonly bounds: Bounds | null;
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
    /** Emits "close" with reason (default "api"), then destroys the instance. */
    close(reason?: CloseReason): void;
    /**
     * Removes the message listener and the iframe (and the window, handing
     * the focus back to where it was when the window opened); afterwards
     * nothing is posted, handled or emitted.
     */
    destroy(): void;
  }

  interface API {
    /**
     * Creates the app's iframe in container (an element or a CSS selector)
     * and starts answering it. Throws a TypeError when the container is not
     * found or src is missing.
     */
    mount(container: Element | string, options: MountOptions): Instance;
    /** mount(document.body, {...options, mode: "popup", window: true}). */
    openPopup(options: MountOptions): Instance;
    readonly version: string;
    readonly CHANNEL: "helpdesk:apps";
  }
}

interface Window {
  readonly HelpdeskHost: HelpdeskHost.API;
}

declare var HelpdeskHost: HelpdeskHost.API;
