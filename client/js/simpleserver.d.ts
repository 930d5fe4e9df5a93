// Generated from the JSDoc of simpleserver.js by the TypeScript compiler (npm run types); do not edit.
/**
 * Cuts s to at most max bytes of UTF-8 without splitting a character.
 * @param {string} s
 * @param {number} max
 */
export function truncateUTF8(s: string, max: number): string;
/**
 * Connects a new SimpleClient to url: `new SimpleClient(options).connect(url)`.
 * @param {string | URL} url e.g. "ws://127.0.0.1:8080/ws"
 * @param {Options} [options]
 * @returns {Promise<SimpleClient>}
 */
export function connect(url: string | URL, options?: Options): Promise<SimpleClient>;
export * from "./codec.js";
export * from "./session.js";
export * from "./reconnect.js";
/** The WebSocket subprotocol of protocol v1. */
export const SUBPROTOCOL: "simpleserver.v1";
/** WebSocket close codes this client sends or meets (RFC 6455 §7.4). */
export const CloseCode: Readonly<{
    NORMAL: 1000;
    GOING_AWAY: 1001;
    PROTOCOL_ERROR: 1002;
    ABNORMAL: 1006;
    INVALID_DATA: 1007;
    POLICY_VIOLATION: 1008;
    TOO_BIG: 1009;
    INTERNAL_ERROR: 1011;
    TRY_AGAIN_LATER: 1013;
    KICKED: 4000;
    KEEPALIVE_TIMEOUT: 4001;
    CLIENT_PROTOCOL_ERROR: 4002;
    QUEUE_FULL: 4008;
}>;
/** Defaults of the options, the Go client's. */
export const Defaults: Readonly<{
    connectTimeout: 10000;
    keepAliveInterval: 30000;
    keepAliveTimeout: 15000;
    queueSize: 4096;
}>;
/**
 * Why a connection ended. `code` and `reason` are the WebSocket close's
 * (1006 with an empty reason when the connection was lost without one);
 * `byClient` is true when this side called close(). A ProtocolError that
 * made the client close is in `cause`.
 */
export class CloseError extends Error {
    /**
     * @param {number} code
     * @param {string} reason
     * @param {{byClient?: boolean, wasClean?: boolean, cause?: unknown}} [opts]
     */
    constructor(code: number, reason: string, opts?: {
        byClient?: boolean;
        wasClean?: boolean;
        cause?: unknown;
    });
    /** The WebSocket close status code. */
    code: number;
    /** The close reason text (may be empty). */
    reason: string;
    /** This side called close() (or gave up: keep-alive, protocol error, full queue). */
    byClient: boolean;
    /** The close handshake completed. */
    wasClean: boolean;
}
/**
 * A connection to a SimpleServer over WebSocket. Messages a handler does not
 * take (onmessage, on('message')) wait in a bounded queue for read() or
 * receive(); PINGs from the server are answered automatically.
 *
 * With the reconnect option the client outlives its connections: when one
 * is lost (1006, the server's Stop 1001, "server full" 1013, a heartbeat
 * timeout) it reconnects by itself with exponential backoff and jitter,
 * sends made meanwhile are queued (bounded; past it send throws a
 * QueueFullError), and read(), receive() and onmessage go on from the new
 * connection. Unless reconnect.noSession is set it asks the server for a
 * session (HELLO): a server that keeps sessions resumes it after a
 * reconnect, each side resends exactly what the other did not get, and
 * every message arrives once and in order ('resumed'); otherwise the client
 * reports 'new session'. State changes go to onstate and on('state').
 * onclose, closed and err() report only the end: close(), a kick, a
 * protocol error, or giving up after reconnect.maxAttempts.
 */
export class SimpleClient {
    /** @param {Options} [options] */
    constructor(options?: Options);
    _opts: {
        WebSocket: any;
        protocols: string[];
        connectTimeout: number;
        keepAliveInterval: number | false;
        keepAliveTimeout: number;
        queueSize: number;
        limits: {
            maxFrameSize: number;
            maxHeaders: number;
            maxHeaderName: number;
        };
    };
    /** @type {any} */
    _ws: any;
    /** The current connection attempt or connection. @type {Conn | null} */
    _conn: Conn | null;
    /** @type {string} */
    _url: string;
    /** @type {'new' | 'connecting' | 'open' | 'offline' | 'ended'} */
    _state: "new" | "connecting" | "open" | "offline" | "ended";
    /** @type {Message[]} */
    _queue: Message[];
    /** @type {{resolve: (m: Message) => void, reject: (e: unknown) => void}[]} */
    _waiters: {
        resolve: (m: Message) => void;
        reject: (e: unknown) => void;
    }[];
    /** @type {Map<string, Set<Function>>} */
    _handlers: Map<string, Set<Function>>;
    /** @type {CloseError | null} */
    _err: CloseError | null;
    _closing: boolean;
    /** @type {Map<number, {resolve: (rtt: number) => void, reject: (e: unknown) => void, start: number}>} */
    _pings: Map<number, {
        resolve: (rtt: number) => void;
        reject: (e: unknown) => void;
        start: number;
    }>;
    _pingSeq: number;
    _lastRecv: number;
    /** @type {ReturnType<typeof setTimeout> | null} */
    _kaTimer: ReturnType<typeof setTimeout> | null;
    _kaPinged: boolean;
    /** The reconnect policy and state, or null without the option. @type {Resumer | null} */
    _rs: Resumer | null;
    /** @type {(e: CloseError) => void} */
    _resolveClosed: (e: CloseError) => void;
    /** Resolves with the CloseError once the connection has ended. @type {Promise<CloseError>} */
    closed: Promise<CloseError>;
    /** Called with each message not taken by receive(); set to take them from read(). @type {MessageHandler | null} */
    onmessage: MessageHandler | null;
    /** Called once with the CloseError when the connection ends. @type {CloseHandler | null} */
    onclose: CloseHandler | null;
    /** Called with every state change of a reconnecting client, in order. @type {StateHandler | null} */
    onstate: StateHandler | null;
    /**
     * Connects to url (ws:, wss:, or http:/https:, mapped to ws:/wss:). It
     * resolves once the WebSocket is open (and, with reconnect, its session
     * greeted) and rejects with a CloseError when the connection fails or
     * takes longer than the connect timeout. A client connects once; with
     * reconnect it reconnects to the same url by itself.
     * @param {string | URL} url
     * @returns {Promise<this>}
     */
    connect(url: string | URL): Promise<this>;
    /** The subprotocol the server chose ("" if none). */
    get protocol(): any;
    /** Bytes handed to send() that the WebSocket has not yet put on the wire. */
    get bufferedAmount(): any;
    /** True while the connection is open (close() not called, not ended, not reconnecting). */
    get connected(): boolean;
    /**
     * A reconnecting client's state: 'connected', 'reconnecting', 'resumed',
     * 'new session', 'gave up' or 'closed' (State's values: 'closed' once
     * ended for any other reason); "" before the first connection. Without
     * reconnect: 'connected' while connected, 'closed' once ended, else "".
     * @returns {string}
     */
    get state(): string;
    /**
     * Sends m as one MESSAGE. m is encoded at once and not retained. Throws
     * before connect and after the end (the CloseError), and a RangeError for
     * an invalid header name, which leaves the connection usable. With
     * reconnect, a send while reconnecting is queued, and one that would
     * pass reconnect.queueBytes throws a QueueFullError.
     * @param {Message} m
     */
    send(m: Message): void;
    /**
     * Sends bytes (or text, as UTF-8) as the body of a message without
     * headers: the server sees a headerless NetworkMessage.
     * @param {import('./codec.js').BytesLike} b
     */
    sendRaw(b: import("./codec.js").BytesLike): void;
    /**
     * Sends a PING and resolves with the round-trip time in milliseconds when
     * its PONG arrives; rejects with the CloseError if the connection ends
     * (or, with reconnect, is lost) first, and at once while reconnecting.
     * @param {{signal?: AbortSignal}} [opts]
     * @returns {Promise<number>}
     */
    ping(opts?: {
        signal?: AbortSignal;
    }): Promise<number>;
    /**
     * Returns the next queued message, or null when none is waiting: never
     * blocks. Returns null once the connection has ended and the queue is
     * empty; err() then says why.
     * @returns {Message | null}
     */
    read(): Message | null;
    /**
     * Waits for the next message. Rejects with the CloseError once the
     * connection has ended and every queued message has been returned, or
     * with the signal's reason when it aborts. While a reconnecting client
     * is offline it simply waits.
     * @param {{signal?: AbortSignal}} [opts]
     * @returns {Promise<Message>}
     */
    receive(opts?: {
        signal?: AbortSignal;
    }): Promise<Message>;
    /**
     * Why the connection ended: null while it is up, and until every message
     * received before the end has been read, so a loop that polls read() loses
     * nothing.
     * @returns {CloseError | null}
     */
    err(): CloseError | null;
    /**
     * Adds a handler: 'message' (m: Message), 'close' (e: CloseError) or
     * 'state' (s: StateChange, with reconnect).
     * @param {'message' | 'close' | 'state'} type
     * @param {Function} fn
     * @returns {this}
     */
    on(type: "message" | "close" | "state", fn: Function): this;
    /**
     * Removes a handler added with on().
     * @param {'message' | 'close' | 'state'} type
     * @param {Function} fn
     * @returns {this}
     */
    off(type: "message" | "close" | "state", fn: Function): this;
    /**
     * Ends the connection with a WebSocket close (code 1000 unless given) that
     * carries reason, cut to 123 bytes. Resolves with the CloseError once the
     * connection has ended; queued messages stay readable. Leaving on purpose
     * ends the session too (docs/PROTOCOL.md). While reconnecting it ends at
     * once.
     * @param {string} [reason]
     * @param {number} [code] 1000 or 3000..4999
     * @returns {Promise<CloseError>}
     */
    close(reason?: string, code?: number): Promise<CloseError>;
    /**
     * Dials and greets, trying again at once (up to 3 times) when the server
     * asks for it: a version 1 server refused HELLO, or the server refused
     * the token (the next HELLO asks for a new session).
     * @returns {Promise<boolean>} resumed
     */
    _dialAndGreet(): Promise<boolean>;
    /**
     * Opens one WebSocket and greets the server (HELLO, WELCOME, resend)
     * when a session is wanted: it resolves with whether the session was
     * resumed, once the connection is online; it rejects with a CloseError.
     * @returns {Promise<boolean>}
     */
    _dial(): Promise<boolean>;
    /**
     * A connection ended before it was online.
     * @param {Conn} conn
     * @param {CloseError} err
     */
    _greetFailed(conn: Conn, err: CloseError): void;
    /**
     * The server's WELCOME: start over or resume, confirm it, go online.
     * @param {Uint8Array} payload
     */
    _welcome(payload: Uint8Array): void;
    /**
     * Starts over: what the old connection took is dropped (its fate is
     * unknown, and a new session cannot say); what it never took is kept.
     * @param {Uint8Array | null} token
     */
    _newSession(token: Uint8Array | null): void;
    /**
     * Makes conn the connection sends go to, and sends what is queued.
     * @param {Conn} conn
     */
    _goOnline(conn: Conn): void;
    /**
     * A connection that was online is gone: reconnect, or end.
     * @param {CloseError} err
     */
    _lost(err: CloseError): void;
    /**
     * Waits the backoff for attempt n, then tries.
     * @param {number} n
     */
    _retry(n: number): void;
    /**
     * Forgets conn and makes sure its WebSocket goes. A reconnecting client
     * closes with 4001, which the server takes for a lost connection and so
     * keeps the session (docs/PROTOCOL.md, "Sessions over WebSocket").
     * @param {Conn} conn
     * @param {number} code
     * @param {string} reason
     * @param {CloseError} [settleWith] rejects its pending greeting
     */
    _drop(conn: Conn, code: number, reason: string, settleWith?: CloseError): void;
    /** @param {any} ws */
    _detach(ws: any): void;
    /** @param {string} state @param {number} attempt @param {Error | null} error */
    _setState(state: string, attempt: number, error: Error | null): void;
    /**
     * Sends or queues a MESSAGE payload.
     * @param {Uint8Array} payload
     */
    _sendMessage(payload: Uint8Array): void;
    /** Writes a payload now, or throws: not connected, ended, offline.
     * @param {Uint8Array} payload */
    _write(payload: Uint8Array): void;
    /** @param {ArrayBuffer | string} data */
    _onData(data: ArrayBuffer | string): void;
    /**
     * A MESSAGE arrived: deliver it and, in a session, count it and ACK every
     * 32 messages or 64 KiB (the Go client's rhythm), or 1 s after the last.
     * @param {Message} m
     * @param {number} size
     */
    _received(m: Message, size: number): void;
    /** Tells the server how many MESSAGEs of the session have arrived. */
    _ack(): void;
    /** @param {Message} m */
    _deliver(m: Message): void;
    /** Calls a user handler; its exception is reported, not propagated into the socket's handler.
     * @param {Function} fn @param {unknown} arg */
    _call(fn: Function, arg: unknown): void;
    /** @param {Uint8Array} data */
    _pong(data: Uint8Array): void;
    /** The server broke the protocol: close with 4002 and the error's text.
     * @param {unknown} e */
    _fail(e: unknown): void;
    /** Closes from this side for a reason of the client's own, reporting it at once.
     * @param {number} code @param {string} reason @param {unknown} [cause] */
    _giveUp(code: number, reason: string, cause?: unknown): void;
    /** Ends now with err, without waiting for the close handshake.
     * @param {CloseError} err */
    _abandon(err: CloseError): void;
    /** @returns {void} */
    _stopTimers(): void;
    /** Records why the connection ended (the first cause wins) and tells everyone.
     * @param {CloseError} err */
    _end(err: CloseError): void;
    /** Keep-alive: PING a silent server, give up when it stays silent. */
    _armKeepAlive(): void;
}
export type Options = {
    /**
     * a WebSocket constructor (default
     * globalThis.WebSocket): on Node 20, the `ws` package's, or run Node with
     * --experimental-websocket
     */
    WebSocket?: any;
    /**
     * subprotocols to offer (default [SUBPROTOCOL])
     */
    protocols?: string[] | undefined;
    /**
     * ms for connect() (default 10 s)
     */
    connectTimeout?: number | undefined;
    /**
     * ms of silence before a PING
     * to the server (default 30 s); false turns keep-alive off
     */
    keepAliveInterval?: number | false | undefined;
    /**
     * ms more of silence before the client
     * gives up with code 4001 "keep-alive timeout" (default 15 s)
     */
    keepAliveTimeout?: number | undefined;
    /**
     * messages waiting for read() before the
     * client closes with 4008 "receive queue full" (default 4096)
     */
    queueSize?: number | undefined;
    /**
     * what the client accepts
     */
    limits?: import("./codec.js").Limits | undefined;
    /**
     * reconnect by itself when the connection is lost, and ask the server for
     * a session to resume (true: the default policy); see SimpleClient
     */
    reconnect?: true | import("./reconnect.js").ReconnectOptions | undefined;
};
export type MessageHandler = (m: Message) => void;
export type CloseHandler = (e: CloseError) => void;
export type StateHandler = (s: import("./reconnect.js").StateChange) => void;
/**
 * One WebSocket of a client: `online` once greeted (sends go to it);
 * `greeting` while a HELLO waits for its WELCOME; `settle` ends the
 * attempt (an error, or whether the session was resumed).
 */
export type Conn = {
    ws: any;
    online: boolean;
    greeting: boolean;
    settle: (err: CloseError | null, resumed?: boolean) => void;
};
/**
 * A reconnecting client's state: the policy, its public state, the outbox,
 * the session (token, counts) and its timers.
 */
export type Resumer = {
    policy: Required<import("./reconnect.js").ReconnectOptions>;
    state: string;
    out: Outbox;
    /**
     * the session's token: resumes it next time
     */
    token: Uint8Array | null;
    /**
     * the server keeps a session for us
     */
    sessOn: boolean;
    /**
     * the server does not know HELLO: never send it
     */
    v1: boolean;
    /**
     * session: MESSAGEs received
     */
    inSeq: number;
    /**
     * the count in the last ACK sent
     */
    inAcked: number;
    /**
     * bytes received since that ACK
     */
    inAckBytes: number;
    /**
     * the next attempt
     */
    timer: ReturnType<typeof setTimeout> | null;
    ackTimer: ReturnType<typeof setTimeout> | null;
};
import { Message } from './codec.js';
import { Outbox } from './reconnect.js';
