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
            /**
             * largest payload accepted, bytes (default 1 MiB)
             */
            maxFrameSize: number;
            /**
             * most headers per MESSAGE (default 64)
             */
            maxHeaders: number;
            /**
             * longest header name, 1..255 bytes (default 255)
             */
            maxHeaderName: number;
        };
    };
    /** @type {any} */
    _ws: any;
    /** @type {'new' | 'connecting' | 'open' | 'ended'} */
    _state: "new" | "connecting" | "open" | "ended";
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
    /** @type {(e: CloseError) => void} */
    _resolveClosed: (e: CloseError) => void;
    /** Resolves with the CloseError once the connection has ended. @type {Promise<CloseError>} */
    closed: Promise<CloseError>;
    /** Called with each message not taken by receive(); set to take them from read(). @type {MessageHandler | null} */
    onmessage: MessageHandler | null;
    /** Called once with the CloseError when the connection ends. @type {CloseHandler | null} */
    onclose: CloseHandler | null;
    /**
     * Connects to url (ws:, wss:, or http:/https:, mapped to ws:/wss:). It
     * resolves once the WebSocket is open and rejects with a CloseError when
     * the connection fails or takes longer than the connect timeout. A client
     * makes one connection in its life.
     * @param {string | URL} url
     * @returns {Promise<this>}
     */
    connect(url: string | URL): Promise<this>;
    _failConnect: ((e: CloseError) => void | undefined) | undefined;
    /** The subprotocol the server chose ("" if none). */
    get protocol(): any;
    /** Bytes handed to send() that the WebSocket has not yet put on the wire. */
    get bufferedAmount(): any;
    /** True while the connection is open (close() not called, not ended). */
    get connected(): boolean;
    /**
     * Sends m as one MESSAGE. m is encoded at once and not retained. Throws
     * before connect and after the end (the CloseError), and a RangeError for
     * an invalid header name, which leaves the connection usable.
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
     * its PONG arrives; rejects with the CloseError if the connection ends first.
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
     * with the signal's reason when it aborts.
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
     * Adds a handler: 'message' (m: Message) or 'close' (e: CloseError).
     * @param {'message' | 'close'} type
     * @param {Function} fn
     * @returns {this}
     */
    on(type: "message" | "close", fn: Function): this;
    /**
     * Removes a handler added with on().
     * @param {'message' | 'close'} type
     * @param {Function} fn
     * @returns {this}
     */
    off(type: "message" | "close", fn: Function): this;
    /**
     * Ends the connection with a WebSocket close (code 1000 unless given) that
     * carries reason, cut to 123 bytes. Resolves with the CloseError once the
     * connection has ended; queued messages stay readable.
     * @param {string} [reason]
     * @param {number} [code] 1000 or 3000..4999
     * @returns {Promise<CloseError>}
     */
    close(reason?: string, code?: number): Promise<CloseError>;
    /** @param {Uint8Array} payload */
    _write(payload: Uint8Array): void;
    /** @param {ArrayBuffer | string} data */
    _onData(data: ArrayBuffer | string): void;
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
};
export type MessageHandler = (m: Message) => void;
export type CloseHandler = (e: CloseError) => void;
import { Message } from './codec.js';
