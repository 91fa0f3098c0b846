// Types of window.HelpdeskApps, the client shim the Helpdesk Apps Gateway
// injects into every HTML page of an app (served at <prefix>/_bridge/client.js).
// The protocol is bridgejs/README.md, "The protocol": {channel: "helpdesk:apps", event, payload}.
/// <reference path="./protocol.d.ts" />

declare namespace HelpdeskApps {
  // The protocol payloads: protocol.d.ts.
  type User = HelpdeskProtocol.User;
  type TicketRequester = HelpdeskProtocol.TicketRequester;
  type TicketAssignee = HelpdeskProtocol.TicketAssignee;
  type TicketDivision = HelpdeskProtocol.TicketDivision;
  type TicketCustomField = HelpdeskProtocol.TicketCustomField;
  type Ticket = HelpdeskProtocol.Ticket;
  type Mode = "popup" | "embed";

  /** helpdesk:context:app: the per-iframe appId the Helpdesk assigned, and how the app is shown. */
  interface AppContext {
    appId: string;
    mode: Mode;
  }

  /**
   * Codes of the errors promises reject with. TIMEOUT, NOT_FRAMED and
   * DESTROYED come from the shim; the others from the Helpdesk's
   * helpdesk:error (OUT_OF_SCOPE: ticket context outside ticket_sidebar,
   * resize or fullscreen in embed mode; NO_TICKET: no ticket is open). A
   * Helpdesk may send codes of its own.
   */
  type ErrorCode = "TIMEOUT" | "NOT_FRAMED" | "DESTROYED" | "OUT_OF_SCOPE" | "NO_TICKET" | (string & {});

  interface BridgeError extends Error {
    name: "HelpdeskAppsError";
    code: ErrorCode;
    /** The request's event, such as "helpdesk:get:context:ticket". */
    event?: string;
    requestId?: string;
  }

  /** Payload of helpdesk:error. */
  interface ErrorPayload {
    /** The event that was refused. */
    event: string;
    code: ErrorCode;
    message: string;
    requestId?: string;
  }

  /** Payloads of the events the Helpdesk sends, by event name. */
  interface HostEvents {
    "helpdesk:context:user": { user: User; requestId?: string };
    "helpdesk:context:ticket": { ticket: Ticket; requestId?: string };
    "helpdesk:context:app": AppContext;
    "helpdesk:ticket:update": { ticket: Ticket };
    "helpdesk:error": ErrorPayload;
  }

  type HostEventName = keyof HostEvents;

  interface RequestOptions {
    /** Milliseconds before the promise rejects with TIMEOUT. Default: 5000. */
    timeout?: number;
  }

  /** The shim's configuration, read from its script element. */
  interface Config {
    /** data-helpdesk-app: the gateway's app id (not the protocol appId). */
    readonly app: string;
    /** data-helpdesk-origins, with `self` resolved: the Helpdesk origins the shim talks to. */
    readonly origins: readonly string[];
    /** data-auto-resize */
    readonly autoResize: boolean;
    /** data-manual-ready */
    readonly manualReady: boolean;
    /**
     * data-rewrite-links (app option `rewrite_links on`): the shim moves the
     * same-origin URLs the page builds in JavaScript under `prefix`.
     */
    readonly rewriteLinks: boolean;
    /**
     * data-helpdesk-prefix: the app's path without trailing slash, such as
     * "/apps/crm"; null when neither rewriteLinks nor isolateCookies is on.
     */
    readonly prefix: string | null;
    /**
     * data-helpdesk-root: the gateway's prefix, such as "/apps"; paths under
     * it (the bridge scripts, the API, other apps) are never moved. Null when
     * rewriteLinks is off or the gateway sent none.
     */
    readonly root: string | null;
    /**
     * data-isolate-cookies (app option `isolate_cookies`): the prefix of the
     * app's cookie jar, such as "hda.crm.". document.cookie then reads the
     * jar's cookies under their own names and no other, and an assignment
     * goes into the jar, scoped to `prefix`. Null when off.
     */
    readonly isolateCookies: string | null;
  }

  interface API {
    /** The appId of this iframe instance; null until helpdesk:context:app arrives. */
    readonly appId: string | null;
    readonly mode: Mode | null;
    /** The last user the Helpdesk sent. */
    readonly user: User | null;
    /** The last ticket the Helpdesk sent (context or update). */
    readonly ticket: Ticket | null;
    /** True once helpdesk:context:app has arrived. */
    readonly connected: boolean;
    /** False when the page is not in a frame: then the shim does nothing. */
    readonly framed: boolean;
    readonly config: Config;
    readonly version: string;

    /**
     * Sends helpdesk:app:ready (again with backoff until the Helpdesk
     * answers). Needed only with data-manual-ready; otherwise the shim sends
     * it on DOMContentLoaded. Rejects with NOT_FRAMED, DESTROYED, or TIMEOUT
     * after about 30 s without an answer.
     */
    ready(): Promise<AppContext>;

    /** helpdesk:get:context:user. */
    getUser(options?: RequestOptions): Promise<User>;

    /** helpdesk:get:context:ticket; ticket_sidebar apps only (else OUT_OF_SCOPE). */
    getTicket(options?: RequestOptions): Promise<Ticket>;

    /**
     * Listens for an event from the Helpdesk. The same events are
     * dispatched on window as CustomEvents whose detail is the payload.
     * Returns a function that removes the listener.
     */
    on<K extends HostEventName>(event: K, listener: (payload: HostEvents[K]) => void): () => void;
    on(event: string, listener: (payload: Record<string, unknown>) => void): () => void;
    off<K extends HostEventName>(event: K, listener: (payload: HostEvents[K]) => void): void;
    off(event: string, listener: (payload: Record<string, unknown>) => void): void;

    /**
     * Asks for the popup to be resized (helpdesk:app:resize). Numbers are px;
     * strings such as "600px" are sent as given. Popup mode only: in embed
     * mode the Helpdesk answers with a helpdesk:error event.
     */
    resize(width?: number | string, height?: number | string): void;

    /** Asks for the popup to go full screen, or back (helpdesk:app:fullscreen). Popup mode only. */
    fullscreen(on?: boolean): void;

    /**
     * Keeps the popup as tall as the page's content, growing and shrinking
     * (debounced; sent only when the height changes, never in embed mode).
     * On by default when the gateway's app has auto_resize.
     */
    autoResize(on?: boolean): void;

    /**
     * Removes every listener, observer and timer; pending requests reject
     * with DESTROYED. Link rewriting, once set up, stays.
     */
    destroy(): void;

    /**
     * Moves a URL under the app's path as the shim does for fetch and its
     * kin: a same-origin URL (ws:/wss: counting as http:/https:) whose path
     * is neither under `config.prefix` nor under `config.root` + "/" gets
     * `config.prefix` put before its path; a root-relative reference stays
     * root-relative, others become absolute. Anything else (other origins,
     * other schemes, paths already in place, values that are neither
     * strings nor URL or Location objects) is returned as given, the very
     * same value. With rewriteLinks off it always returns `url`. For the
     * places no patch reaches: `location.href = HelpdeskApps.toApp("/logout")`.
     */
    toApp<T>(url: T): T | string;
  }
}

interface WindowEventMap {
  "helpdesk:context:user": CustomEvent<HelpdeskApps.HostEvents["helpdesk:context:user"]>;
  "helpdesk:context:ticket": CustomEvent<HelpdeskApps.HostEvents["helpdesk:context:ticket"]>;
  "helpdesk:context:app": CustomEvent<HelpdeskApps.HostEvents["helpdesk:context:app"]>;
  "helpdesk:ticket:update": CustomEvent<HelpdeskApps.HostEvents["helpdesk:ticket:update"]>;
  "helpdesk:error": CustomEvent<HelpdeskApps.HostEvents["helpdesk:error"]>;
}

interface Window {
  /** Present on every page the gateway serves, framed or not. */
  readonly HelpdeskApps: HelpdeskApps.API;
}

declare var HelpdeskApps: HelpdeskApps.API;
