// Generated from the JSDoc of reconnect.js by the TypeScript compiler (npm run types); do not edit.
/**
 * Fills in and checks a reconnect policy.
 * @param {ReconnectOptions | true} p
 * @returns {Required<ReconnectOptions>}
 */
export function reconnectPolicy(p: ReconnectOptions | true): Required<ReconnectOptions>;
/**
 * The wait before attempt n (1-based), in ms: minDelay doubled per attempt,
 * capped at maxDelay, drawn at random from [d/2, d].
 * @param {{minDelay: number, maxDelay: number}} p
 * @param {number} n
 * @param {() => number} [random] in [0, 1)
 */
export function backoff(p: {
    minDelay: number;
    maxDelay: number;
}, n: number, random?: () => number): number;
/**
 * Whether a connection that ended with a WebSocket close of this code and
 * reason is worth reconnecting: lost (1006), the server going away (1001:
 * Stop), full (1013), restarting (1012), a heartbeat timeout on either side
 * (the server's 1008 "idle timeout" keeps the session suspended; the
 * client's own 4001), or a session the server refused or ended ("session:
 * ..."). Not: a kick, a protocol error, the client's own close.
 * @param {number} code
 * @param {string} reason
 * @param {boolean} byClient
 */
export function retryable(code: number, reason: string, byClient: boolean): boolean;
/** The states of a reconnecting client, as the Go client names them. */
export const State: Readonly<{
    /** The first connection is up (and its session, if the server keeps sessions). */
    CONNECTED: "connected";
    /** The connection was lost; the client is retrying. Sends are queued. */
    RECONNECTING: "reconnecting";
    /** Reconnected and the session resumed: nothing lost or doubled either way. */
    RESUMED: "resumed";
    /** Reconnected to a new session: the server's state for this client is gone, and messages in flight at the cut may be lost. */
    NEW_SESSION: "new session";
    /** maxAttempts attempts failed in a row: the client is finished. */
    GAVE_UP: "gave up";
    /** close() was called. */
    CLOSED: "closed";
}>;
/** Defaults of the reconnect policy, the Go client's. */
export const ReconnectDefaults: Readonly<{
    minDelay: 100;
    maxDelay: 5000;
    maxAttempts: 0;
    queueBytes: number;
}>;
/**
 * The reconnect policy (Options.reconnect). Every field is optional.
 * @typedef {object} ReconnectOptions
 * @property {number} [minDelay] ms before the first retry (default 100);
 *   each failed attempt doubles it up to maxDelay, and each wait is drawn
 *   from [d/2, d] (jitter), so that clients cut by one failure do not all
 *   come back at once
 * @property {number} [maxDelay] ms, the cap of the backoff (default 5000)
 * @property {number} [maxAttempts] failed attempts in a row before the
 *   client gives up ('gave up'); 0, the default, retries forever
 * @property {number} [queueBytes] bytes of messages kept to (re)send:
 *   those sent while offline and, in a session, those the server has not
 *   confirmed (default 1 MiB); a send past it throws a QueueFullError
 * @property {boolean} [noSession] reconnect without asking for a session:
 *   every reconnect is a new session
 */
/**
 * One state change of a reconnecting client.
 * @typedef {object} StateChange
 * @property {string} state one of State's values
 * @property {number} attempt attempts since the connection was lost (1 for
 *   the first retry) for 'reconnecting' and 'gave up'; else 0
 * @property {Error | null} error why the connection was lost, or why the
 *   last attempt failed
 */
/**
 * Thrown by send() and sendRaw() of a reconnecting client when the
 * messages kept for (re)sending would pass ReconnectOptions.queueBytes.
 * Nothing was queued; the client is unharmed.
 */
export class QueueFullError extends Error {
    /**
     * @param {number} kept bytes kept
     * @param {number} more bytes of the refused message
     * @param {number} limit queueBytes
     */
    constructor(kept: number, more: number, limit: number);
}
/**
 * The queue of MESSAGE payloads to (re)send, in order. Without a session it
 * holds what no connection has taken yet (sent offline); in a session,
 * every payload the server has not confirmed with an ACK: on a resume the
 * server's WELCOME says how many it has, and the rest is sent again. The
 * numbering is implicit (the n-th MESSAGE of a session is number n).
 */
export class Outbox {
    /** @param {number} limit bytes */
    constructor(limit: number);
    limit: number;
    /** @type {Uint8Array[]} */
    _q: Uint8Array[];
    _head: number;
    /** Payloads in the queue. */
    length: number;
    /** Their bytes. */
    bytes: number;
    /** Payloads at the start of the queue handed to the current connection. */
    written: number;
    /** Session: payloads the server has confirmed (ACK, WELCOME). */
    acked: number;
    /**
     * Appends a payload, or throws a QueueFullError.
     * @param {Uint8Array} p
     */
    push(p: Uint8Array): void;
    /** The i'th payload in the queue. @param {number} i */
    at(i: number): Uint8Array<ArrayBufferLike>;
    /**
     * Drops the first n payloads: the server has them (session), or they were
     * written and no session can tell their fate (a new session).
     * @param {number} n
     */
    drop(n: number): void;
    /**
     * Session: the server confirms received payloads in all. Returns false
     * (and changes nothing) for a count outside what was sent.
     * @param {number} received
     */
    confirm(received: number): boolean;
    /** A new session: what was written is dropped, what never was is kept. */
    restart(): void;
}
/**
 * The reconnect policy (Options.reconnect). Every field is optional.
 */
export type ReconnectOptions = {
    /**
     * ms before the first retry (default 100);
     * each failed attempt doubles it up to maxDelay, and each wait is drawn
     * from [d/2, d] (jitter), so that clients cut by one failure do not all
     * come back at once
     */
    minDelay?: number | undefined;
    /**
     * ms, the cap of the backoff (default 5000)
     */
    maxDelay?: number | undefined;
    /**
     * failed attempts in a row before the
     * client gives up ('gave up'); 0, the default, retries forever
     */
    maxAttempts?: number | undefined;
    /**
     * bytes of messages kept to (re)send:
     * those sent while offline and, in a session, those the server has not
     * confirmed (default 1 MiB); a send past it throws a QueueFullError
     */
    queueBytes?: number | undefined;
    /**
     * reconnect without asking for a session:
     * every reconnect is a new session
     */
    noSession?: boolean | undefined;
};
/**
 * One state change of a reconnecting client.
 */
export type StateChange = {
    /**
     * one of State's values
     */
    state: string;
    /**
     * attempts since the connection was lost (1 for
     * the first retry) for 'reconnecting' and 'gave up'; else 0
     */
    attempt: number;
    /**
     * why the connection was lost, or why the
     * last attempt failed
     */
    error: Error | null;
};
