// @ts-check
/**
 * @module simpleserver
 * SimpleServer's JavaScript client: protocol v1 over WebSocket, in browsers
 * and in Node 20+. It mirrors the Go client (package client): connect, send,
 * sendRaw, a read() that never blocks, receive() that waits, ping() for a
 * round trip, and close reasons; and, opt-in ({reconnect}), reconnecting by
 * itself and resuming its session (docs/PROTOCOL.md, "Sessions"), as the Go
 * client's WithReconnect does. No dependencies.
 *
 *   import { connect, Message } from './simpleserver.js';
 *   const client = await connect('ws://127.0.0.1:8080/ws');
 *   client.onmessage = (m) => console.log(m.headerText('from'), m.bodyText());
 *   client.send(new Message().addHeader('handshake').setBody('Hello server!'));
 *
 * On the wire (docs/PROTOCOL.md, "Protocol v1 over WebSocket"): one binary
 * WebSocket message carries one protocol v1 payload, the kind byte and the
 * rest, without the 4-byte length that TCP needs. The subprotocol is
 * "simpleserver.v1". A connection ends with a WebSocket close whose status
 * code and reason say why; CloseError carries both.
 */

import {
  Kind,
  Message,
  ProtocolError,
  DEFAULT_LIMITS,
  decodePayload,
  encodeMessage,
  encodeRaw,
  encodeControl,
  toBytes,
} from './codec.js';
import { SessionKind, encodeHello, encodeAck, decodeWelcome, decodeAck } from './session.js';
import { State, Outbox, backoff, reconnectPolicy, retryable } from './reconnect.js';

export * from './codec.js';
export * from './session.js';
export * from './reconnect.js';

/** The WebSocket subprotocol of protocol v1. */
export const SUBPROTOCOL = 'simpleserver.v1';

/** WebSocket close codes this client sends or meets (RFC 6455 §7.4). */
export const CloseCode = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  ABNORMAL: 1006, // no close frame: the connection was lost (never sent)
  INVALID_DATA: 1007,
  POLICY_VIOLATION: 1008,
  TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  TRY_AGAIN_LATER: 1013,
  KICKED: 4000, // the server's code for client.Close(reason)
  // Codes this client closes with when it gives up by itself (a script may
  // send only 1000 and 3000..4999):
  KEEPALIVE_TIMEOUT: 4001, // the server stayed silent after a PING; also a reconnecting client dropping a connection it will resume
  CLIENT_PROTOCOL_ERROR: 4002, // the server sent bytes that break protocol v1
  QUEUE_FULL: 4008, // queueSize messages waited for read()
});

/** Defaults of the options, the Go client's. */
export const Defaults = Object.freeze({
  connectTimeout: 10_000, // ms
  keepAliveInterval: 30_000, // ms of silence from the server before the client PINGs it
  keepAliveTimeout: 15_000, // ms more before it gives the connection up
  queueSize: 4096, // messages waiting for read()/receive()
});

/** A close reason must fit a WebSocket close frame: 123 bytes of UTF-8. */
const MAX_WS_CLOSE_REASON = 123;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Cuts s to at most max bytes of UTF-8 without splitting a character.
 * @param {string} s
 * @param {number} max
 */
export function truncateUTF8(s, max) {
  const b = encoder.encode(s);
  if (b.length <= max) return s;
  let n = max;
  while (n > 0 && (b[n] & 0xc0) === 0x80) n--; // b[n] continues a character: cut before it
  return decoder.decode(b.subarray(0, n));
}

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
  constructor(code, reason, opts = {}) {
    const who = opts.byClient ? 'client closed the connection' : code === CloseCode.ABNORMAL ? 'connection lost' : 'server closed the connection';
    super(`${who}${reason ? ': ' + reason : ''} (code ${code})`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CloseError';
    /** The WebSocket close status code. */
    this.code = code;
    /** The close reason text (may be empty). */
    this.reason = reason;
    /** This side called close() (or gave up: keep-alive, protocol error, full queue). */
    this.byClient = !!opts.byClient;
    /** The close handshake completed. */
    this.wasClean = opts.wasClean ?? true;
  }
}

/**
 * @typedef {object} Options
 * @property {any} [WebSocket] a WebSocket constructor (default
 *   globalThis.WebSocket): on Node 20, the `ws` package's, or run Node with
 *   --experimental-websocket
 * @property {string[]} [protocols] subprotocols to offer (default [SUBPROTOCOL])
 * @property {number} [connectTimeout] ms for connect() (default 10 s)
 * @property {number | false} [keepAliveInterval] ms of silence before a PING
 *   to the server (default 30 s); false turns keep-alive off
 * @property {number} [keepAliveTimeout] ms more of silence before the client
 *   gives up with code 4001 "keep-alive timeout" (default 15 s)
 * @property {number} [queueSize] messages waiting for read() before the
 *   client closes with 4008 "receive queue full" (default 4096)
 * @property {import('./codec.js').Limits} [limits] what the client accepts
 * @property {import('./reconnect.js').ReconnectOptions | true} [reconnect]
 *   reconnect by itself when the connection is lost, and ask the server for
 *   a session to resume (true: the default policy); see SimpleClient
 */

/** @typedef {(m: Message) => void} MessageHandler */
/** @typedef {(e: CloseError) => void} CloseHandler */
/** @typedef {(s: import('./reconnect.js').StateChange) => void} StateHandler */

/**
 * @param {string | URL} url
 * @returns {string}
 */
function wsURL(url) {
  const u = new URL(String(url), globalThis.location?.href);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new TypeError(`not a WebSocket URL: ${url}`);
  return u.href;
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
  constructor(options = {}) {
    this._opts = {
      WebSocket: options.WebSocket ?? globalThis.WebSocket,
      protocols: options.protocols ?? [SUBPROTOCOL],
      connectTimeout: options.connectTimeout ?? Defaults.connectTimeout,
      keepAliveInterval: options.keepAliveInterval ?? Defaults.keepAliveInterval,
      keepAliveTimeout: options.keepAliveTimeout ?? Defaults.keepAliveTimeout,
      queueSize: options.queueSize ?? Defaults.queueSize,
      limits: { ...DEFAULT_LIMITS, ...options.limits },
    };
    /** @type {any} */
    this._ws = null;
    /** The current connection attempt or connection. @type {Conn | null} */
    this._conn = null;
    /** @type {string} */
    this._url = '';
    /** @type {'new' | 'connecting' | 'open' | 'offline' | 'ended'} */
    this._state = 'new';
    /** @type {Message[]} */
    this._queue = [];
    /** @type {{resolve: (m: Message) => void, reject: (e: unknown) => void}[]} */
    this._waiters = [];
    /** @type {Map<string, Set<Function>>} */
    this._handlers = new Map();
    /** @type {CloseError | null} */
    this._err = null;
    this._closing = false; // close() was called
    /** @type {Map<number, {resolve: (rtt: number) => void, reject: (e: unknown) => void, start: number}>} */
    this._pings = new Map();
    this._pingSeq = 0;
    this._lastRecv = 0;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this._kaTimer = null;
    this._kaPinged = false;
    /** The reconnect policy and state, or null without the option. @type {Resumer | null} */
    this._rs = options.reconnect ? newResumer(reconnectPolicy(options.reconnect)) : null;
    /** @type {(e: CloseError) => void} */
    this._resolveClosed = () => {};
    /** Resolves with the CloseError once the connection has ended. @type {Promise<CloseError>} */
    this.closed = new Promise((resolve) => (this._resolveClosed = resolve));
    /** Called with each message not taken by receive(); set to take them from read(). @type {MessageHandler | null} */
    this.onmessage = null;
    /** Called once with the CloseError when the connection ends. @type {CloseHandler | null} */
    this.onclose = null;
    /** Called with every state change of a reconnecting client, in order. @type {StateHandler | null} */
    this.onstate = null;
  }

  /**
   * Connects to url (ws:, wss:, or http:/https:, mapped to ws:/wss:). It
   * resolves once the WebSocket is open (and, with reconnect, its session
   * greeted) and rejects with a CloseError when the connection fails or
   * takes longer than the connect timeout. A client connects once; with
   * reconnect it reconnects to the same url by itself.
   * @param {string | URL} url
   * @returns {Promise<this>}
   */
  connect(url) {
    if (this._state !== 'new') return Promise.reject(new Error('simpleserver: already connected'));
    if (typeof this._opts.WebSocket !== 'function') {
      return Promise.reject(
        new TypeError('simpleserver: no WebSocket here: pass {WebSocket} (e.g. from the ws package) or run Node 22+'),
      );
    }
    try {
      this._url = wsURL(url);
    } catch (e) {
      return Promise.reject(e);
    }
    this._state = 'connecting';
    return this._dialAndGreet().then(
      () => {
        if (this._state === 'ended') throw this._err; // closed meanwhile
        this._state = 'open';
        if (this._rs) this._setState(State.CONNECTED, 0, null);
        return this;
      },
      (e) => {
        if (!(e instanceof CloseError)) {
          this._state = 'new'; // the WebSocket constructor refused: nothing happened
          throw e;
        }
        this._end(e);
        throw this._err;
      },
    );
  }

  /** The subprotocol the server chose ("" if none). */
  get protocol() {
    return this._ws?.protocol ?? '';
  }

  /** Bytes handed to send() that the WebSocket has not yet put on the wire. */
  get bufferedAmount() {
    return this._ws?.bufferedAmount ?? 0;
  }

  /** True while the connection is open (close() not called, not ended, not reconnecting). */
  get connected() {
    return this._state === 'open' && !this._closing;
  }

  /**
   * A reconnecting client's state: 'connected', 'reconnecting', 'resumed',
   * 'new session', 'gave up' or 'closed' (State's values: 'closed' once
   * ended for any other reason); "" before the first connection. Without
   * reconnect: 'connected' while connected, 'closed' once ended, else "".
   * @returns {string}
   */
  get state() {
    if (this._rs?.state === State.GAVE_UP) return State.GAVE_UP;
    if (this._closing || this._state === 'ended') return State.CLOSED;
    if (this._rs) return this._rs.state;
    return this._state === 'open' ? State.CONNECTED : '';
  }

  /**
   * Sends m as one MESSAGE. m is encoded at once and not retained. Throws
   * before connect and after the end (the CloseError), and a RangeError for
   * an invalid header name, which leaves the connection usable. With
   * reconnect, a send while reconnecting is queued, and one that would
   * pass reconnect.queueBytes throws a QueueFullError.
   * @param {Message} m
   */
  send(m) {
    if (!(m instanceof Message)) throw new TypeError('simpleserver: send needs a Message');
    this._sendMessage(encodeMessage(m));
  }

  /**
   * Sends bytes (or text, as UTF-8) as the body of a message without
   * headers: the server sees a headerless NetworkMessage.
   * @param {import('./codec.js').BytesLike} b
   */
  sendRaw(b) {
    this._sendMessage(encodeRaw(b));
  }

  /**
   * Sends a PING and resolves with the round-trip time in milliseconds when
   * its PONG arrives; rejects with the CloseError if the connection ends
   * (or, with reconnect, is lost) first, and at once while reconnecting.
   * @param {{signal?: AbortSignal}} [opts]
   * @returns {Promise<number>}
   */
  ping(opts = {}) {
    const seq = ++this._pingSeq;
    const data = new Uint8Array(9);
    data[0] = 0x70; // 'p', then the sequence number: the Go client's format
    new DataView(data.buffer).setBigUint64(1, BigInt(seq));
    return new Promise((resolve, reject) => {
      try {
        this._write(encodeControl(Kind.PING, data));
      } catch (e) {
        reject(e);
        return;
      }
      this._pings.set(seq, { resolve, reject, start: now() });
      opts.signal?.addEventListener('abort', () => {
        if (this._pings.delete(seq)) reject(opts.signal?.reason);
      });
    });
  }

  /**
   * Returns the next queued message, or null when none is waiting: never
   * blocks. Returns null once the connection has ended and the queue is
   * empty; err() then says why.
   * @returns {Message | null}
   */
  read() {
    return this._queue.shift() ?? null;
  }

  /**
   * Waits for the next message. Rejects with the CloseError once the
   * connection has ended and every queued message has been returned, or
   * with the signal's reason when it aborts. While a reconnecting client
   * is offline it simply waits.
   * @param {{signal?: AbortSignal}} [opts]
   * @returns {Promise<Message>}
   */
  receive(opts = {}) {
    const m = this._queue.shift();
    if (m) return Promise.resolve(m);
    if (this._err) return Promise.reject(this._err);
    if (this._state === 'new') return Promise.reject(new Error('simpleserver: not connected'));
    return new Promise((resolve, reject) => {
      const w = { resolve, reject };
      this._waiters.push(w);
      opts.signal?.addEventListener('abort', () => {
        const i = this._waiters.indexOf(w);
        if (i >= 0) {
          this._waiters.splice(i, 1);
          reject(opts.signal?.reason);
        }
      });
    });
  }

  /**
   * Why the connection ended: null while it is up, and until every message
   * received before the end has been read, so a loop that polls read() loses
   * nothing.
   * @returns {CloseError | null}
   */
  err() {
    return this._queue.length > 0 ? null : this._err;
  }

  /**
   * Adds a handler: 'message' (m: Message), 'close' (e: CloseError) or
   * 'state' (s: StateChange, with reconnect).
   * @param {'message' | 'close' | 'state'} type
   * @param {Function} fn
   * @returns {this}
   */
  on(type, fn) {
    let set = this._handlers.get(type);
    if (!set) this._handlers.set(type, (set = new Set()));
    set.add(fn);
    return this;
  }

  /**
   * Removes a handler added with on().
   * @param {'message' | 'close' | 'state'} type
   * @param {Function} fn
   * @returns {this}
   */
  off(type, fn) {
    this._handlers.get(type)?.delete(fn);
    return this;
  }

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
  close(reason = 'client closed', code = CloseCode.NORMAL) {
    if (this._state === 'new') {
      this._end(new CloseError(code, reason, { byClient: true }));
    } else if (!this._closing && this._state !== 'ended') {
      this._closing = true;
      const conn = this._conn;
      if (this._state === 'open' && conn?.online) {
        try {
          conn.ws.close(code, truncateUTF8(reason, MAX_WS_CLOSE_REASON));
        } catch (e) {
          this._abandon(new CloseError(CloseCode.ABNORMAL, String(e), { byClient: true, wasClean: false }));
        }
      } else {
        // Connecting, greeting or offline: there is no handshake to wait for.
        const err = new CloseError(code, reason, { byClient: true });
        if (this._rs?.timer) clearTimeout(this._rs.timer);
        if (conn) this._drop(conn, code, reason, err);
        this._end(err);
      }
    }
    return this.closed;
  }

  // --- internals: connections ---

  /**
   * Dials and greets, trying again at once (up to 3 times) when the server
   * asks for it: a version 1 server refused HELLO, or the server refused
   * the token (the next HELLO asks for a new session).
   * @returns {Promise<boolean>} resumed
   */
  async _dialAndGreet() {
    let last;
    for (let i = 0; i < 3; i++) {
      try {
        return await this._dial();
      } catch (e) {
        if (!(e instanceof CloseError && /** @type {any} */ (e).retryNow)) throw e;
        last = e;
      }
    }
    throw last;
  }

  /**
   * Opens one WebSocket and greets the server (HELLO, WELCOME, resend)
   * when a session is wanted: it resolves with whether the session was
   * resumed, once the connection is online; it rejects with a CloseError.
   * @returns {Promise<boolean>}
   */
  _dial() {
    return new Promise((resolve, reject) => {
      const ws = new this._opts.WebSocket(this._url, this._opts.protocols); // may throw: rejects
      ws.binaryType = 'arraybuffer';
      /** @type {Conn} */
      const conn = { ws, online: false, greeting: false, settle: () => {} };
      this._ws = ws;
      this._conn = conn;
      const timer = setTimeout(() => {
        const err = new CloseError(CloseCode.ABNORMAL, 'connect timeout', { byClient: true, wasClean: false });
        this._drop(conn, CloseCode.KEEPALIVE_TIMEOUT, 'connect timeout', err);
      }, this._opts.connectTimeout);
      conn.settle = (err, resumed = false) => {
        conn.settle = () => {};
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(resumed);
      };
      ws.onopen = () => {
        if (this._conn !== conn) return;
        if (ws.protocol && !this._opts.protocols.includes(ws.protocol)) {
          this._fail(new ProtocolError('unexpected subprotocol', ws.protocol));
          return;
        }
        this._lastRecv = Date.now();
        const rs = this._rs;
        if (rs && !rs.v1 && !rs.policy.noSession) {
          conn.greeting = true;
          ws.send(encodeHello(rs.token ?? undefined, rs.token ? rs.inSeq : 0)); // the first frame (docs/PROTOCOL.md)
          return;
        }
        if (rs) this._newSession(null);
        this._goOnline(conn);
        conn.settle(null, false);
      };
      ws.onmessage = (/** @type {{data: any}} */ ev) => {
        if (this._conn === conn) this._onData(ev.data);
      };
      ws.onerror = () => {}; // a close event always follows, with the code
      ws.onclose = (/** @type {{code: number, reason: string, wasClean: boolean}} */ ev) => {
        if (this._conn !== conn) return;
        const err = new CloseError(ev.code, ev.reason, { byClient: this._closing, wasClean: ev.wasClean });
        if (conn.online) this._lost(err);
        else this._greetFailed(conn, err);
      };
    });
  }

  /**
   * A connection ended before it was online.
   * @param {Conn} conn
   * @param {CloseError} err
   */
  _greetFailed(conn, err) {
    const rs = this._rs;
    if (rs && conn.greeting) {
      if (err.reason.includes('unknown frame kind')) {
        rs.v1 = true; // a version 1 server: reconnect without sessions
        /** @type {any} */ (err).retryNow = true;
      } else if (err.reason.startsWith('session: ')) {
        rs.token = null; // refused or expired: ask for a new one
        /** @type {any} */ (err).retryNow = true;
      }
    }
    this._conn = null;
    this._detach(conn.ws);
    conn.settle(err);
  }

  /**
   * The server's WELCOME: start over or resume, confirm it, go online.
   * @param {Uint8Array} payload
   */
  _welcome(payload) {
    const rs = /** @type {Resumer} */ (this._rs);
    const conn = /** @type {Conn} */ (this._conn);
    const w = decodeWelcome(payload);
    if (w.resumed && rs.token) {
      if (!rs.out.confirm(w.received)) {
        throw new ProtocolError('malformed message', `WELCOME says ${w.received} received, but ${rs.out.acked}..${rs.out.acked + rs.out.length} were sent`);
      }
      rs.out.written = 0; // the rest is sent again
    } else {
      this._newSession(w.token);
    }
    rs.token = w.token.length > 0 ? w.token : null;
    rs.sessOn = rs.token !== null;
    conn.greeting = false;
    if (rs.sessOn) {
      // Confirms the WELCOME arrived, which retires the old token.
      conn.ws.send(encodeAck(rs.inSeq));
      rs.inAcked = rs.inSeq;
      rs.inAckBytes = 0;
    }
    this._goOnline(conn);
    conn.settle(null, w.resumed);
  }

  /**
   * Starts over: what the old connection took is dropped (its fate is
   * unknown, and a new session cannot say); what it never took is kept.
   * @param {Uint8Array | null} token
   */
  _newSession(token) {
    const rs = /** @type {Resumer} */ (this._rs);
    rs.out.restart();
    rs.inSeq = rs.inAcked = rs.inAckBytes = 0;
    rs.sessOn = token !== null && token.length > 0;
  }

  /**
   * Makes conn the connection sends go to, and sends what is queued.
   * @param {Conn} conn
   */
  _goOnline(conn) {
    conn.online = true;
    if (this._state === 'offline') this._state = 'open';
    this._armKeepAlive();
    const rs = this._rs;
    if (!rs) return;
    const out = rs.out;
    try {
      for (; out.written < out.length; out.written++) conn.ws.send(out.at(out.written));
    } catch {
      // the close event that follows reconnects; the rest stays queued
    }
    if (!rs.sessOn) out.drop(out.written);
  }

  /**
   * A connection that was online is gone: reconnect, or end.
   * @param {CloseError} err
   */
  _lost(err) {
    const rs = this._rs;
    const conn = this._conn;
    if (!rs || this._closing || this._state === 'ended' || !retryable(err.code, err.reason, err.byClient)) {
      this._end(err);
      return;
    }
    if (conn) this._drop(conn, CloseCode.KEEPALIVE_TIMEOUT, err.reason);
    this._conn = null;
    this._state = 'offline';
    this._stopTimers();
    for (const p of this._pings.values()) p.reject(err);
    this._pings.clear();
    this._setState(State.RECONNECTING, 0, err);
    this._retry(1);
  }

  /**
   * Waits the backoff for attempt n, then tries.
   * @param {number} n
   */
  _retry(n) {
    const rs = /** @type {Resumer} */ (this._rs);
    rs.timer = setTimeout(() => {
      rs.timer = null;
      if (this._state !== 'offline') return;
      this._dialAndGreet().then(
        (resumed) => {
          if (this._state !== 'open') return; // closed meanwhile
          this._setState(resumed ? State.RESUMED : State.NEW_SESSION, 0, null);
        },
        (e) => {
          if (this._state !== 'offline') return;
          const err = e instanceof CloseError ? e : new CloseError(CloseCode.ABNORMAL, String(e), { wasClean: false, cause: e });
          if (rs.policy.maxAttempts > 0 && n >= rs.policy.maxAttempts) {
            const gave = new CloseError(err.code, `gave up after ${n} attempts: ${err.reason || err.message}`, { wasClean: false, cause: err });
            this._setState(State.GAVE_UP, n, gave);
            this._end(gave);
            return;
          }
          this._setState(State.RECONNECTING, n, err);
          this._retry(n + 1);
        },
      );
    }, backoff(rs.policy, n));
  }

  /**
   * Forgets conn and makes sure its WebSocket goes. A reconnecting client
   * closes with 4001, which the server takes for a lost connection and so
   * keeps the session (docs/PROTOCOL.md, "Sessions over WebSocket").
   * @param {Conn} conn
   * @param {number} code
   * @param {string} reason
   * @param {CloseError} [settleWith] rejects its pending greeting
   */
  _drop(conn, code, reason, settleWith) {
    if (this._conn === conn) this._conn = null;
    this._detach(conn.ws);
    if (code !== CloseCode.NORMAL && !(code >= 3000 && code <= 4999)) code = CloseCode.NORMAL; // all a script may send
    try {
      if (conn.ws.readyState < 2) conn.ws.close(code, truncateUTF8(reason, MAX_WS_CLOSE_REASON));
    } catch {
      // already closing
    }
    if (settleWith) conn.settle(settleWith);
  }

  /** @param {any} ws */
  _detach(ws) {
    ws.onmessage = ws.onopen = ws.onclose = null;
  }

  /** @param {string} state @param {number} attempt @param {Error | null} error */
  _setState(state, attempt, error) {
    const rs = /** @type {Resumer} */ (this._rs);
    rs.state = state;
    const ch = { state, attempt, error };
    if (this.onstate) this._call(this.onstate, ch);
    for (const fn of this._handlers.get('state') ?? []) this._call(fn, ch);
  }

  // --- internals: traffic ---

  /**
   * Sends or queues a MESSAGE payload.
   * @param {Uint8Array} payload
   */
  _sendMessage(payload) {
    const rs = this._rs;
    if (!rs) {
      this._write(payload);
      return;
    }
    if (this._state === 'ended' || this._closing) throw this._err ?? new CloseError(CloseCode.NORMAL, 'client closed', { byClient: true });
    if (this._state === 'new' || this._state === 'connecting') throw new Error('simpleserver: not connected');
    const out = rs.out;
    out.push(payload);
    const conn = this._conn;
    if (this._state !== 'open' || !conn?.online || out.written !== out.length - 1) return; // sent on reconnect
    try {
      conn.ws.send(payload);
      out.written++;
    } catch {
      return; // the connection is going: sent on reconnect
    }
    if (!rs.sessOn) out.drop(1);
  }

  /** Writes a payload now, or throws: not connected, ended, offline.
   * @param {Uint8Array} payload */
  _write(payload) {
    if (this._state === 'ended' || this._closing) throw this._err ?? new CloseError(CloseCode.NORMAL, 'client closed', { byClient: true });
    if (this._state === 'offline') throw new Error('simpleserver: offline: reconnecting');
    if (this._state !== 'open') throw new Error('simpleserver: not connected');
    this._ws.send(payload);
  }

  /** @param {ArrayBuffer | string} data */
  _onData(data) {
    if (this._state === 'ended') return;
    this._lastRecv = Date.now();
    this._kaPinged = false;
    if (typeof data === 'string') {
      // A text message is a headerless MESSAGE, as it is towards the server.
      this._received(new Message().setBody(data), data.length + 2);
      return;
    }
    const b = toBytes(data);
    const rs = this._rs;
    let p;
    try {
      if (rs && b.length > 0) {
        if (this._conn?.greeting) {
          if (b[0] === SessionKind.WELCOME) {
            this._welcome(b);
            return;
          }
          if (b[0] === Kind.MESSAGE) {
            // A server without sessions may speak before it reads HELLO: deliver, uncounted.
            this._deliver(/** @type {Message} */ (decodePayload(b, this._opts.limits).message));
            return;
          }
        } else if (b[0] === SessionKind.ACK && rs.sessOn) {
          const n = decodeAck(b);
          if (!rs.out.confirm(n)) throw new ProtocolError('malformed message', `ACK ${n} outside ${rs.out.acked}..${rs.out.acked + rs.out.length}`);
          return;
        }
      }
      p = decodePayload(b, this._opts.limits);
    } catch (e) {
      this._fail(e);
      return;
    }
    switch (p.kind) {
      case Kind.MESSAGE:
        this._received(/** @type {Message} */ (p.message), b.length);
        return;
      case Kind.PING:
        try {
          this._ws.send(encodeControl(Kind.PONG, p.data));
        } catch {
          // the close event that follows says why
        }
        return;
      case Kind.PONG:
        this._pong(/** @type {Uint8Array} */ (p.data));
        return;
      case Kind.CLOSE: {
        // protocol v1's own CLOSE inside a binary message: the server ends this connection
        const conn = this._conn;
        const err = new CloseError(CloseCode.NORMAL, p.reason ?? '', { wasClean: true });
        if (conn && !conn.online) {
          this._drop(conn, CloseCode.NORMAL, '');
          this._greetFailed(conn, err);
          return;
        }
        if (rs) {
          this._lost(err); // reconnects if the reason says it is worth it
          return;
        }
        this._closing = true;
        this._abandon(err);
        return;
      }
    }
  }

  /**
   * A MESSAGE arrived: deliver it and, in a session, count it and ACK every
   * 32 messages or 64 KiB (the Go client's rhythm), or 1 s after the last.
   * @param {Message} m
   * @param {number} size
   */
  _received(m, size) {
    this._deliver(m);
    const rs = this._rs;
    if (!rs || !rs.sessOn || this._state === 'ended') return;
    rs.inSeq++;
    rs.inAckBytes += size;
    if (rs.inSeq - rs.inAcked >= ACK_EVERY || rs.inAckBytes >= ACK_BYTES) {
      this._ack();
    } else if (!rs.ackTimer) {
      rs.ackTimer = setTimeout(() => {
        rs.ackTimer = null;
        if (this._state === 'open') this._ack();
      }, ACK_DELAY);
      /** @type {any} */ (rs.ackTimer).unref?.();
    }
  }

  /** Tells the server how many MESSAGEs of the session have arrived. */
  _ack() {
    const rs = /** @type {Resumer} */ (this._rs);
    if (rs.inSeq === rs.inAcked) return;
    try {
      this._ws.send(encodeAck(rs.inSeq));
    } catch {
      return; // the close event that follows reconnects, and HELLO says it
    }
    rs.inAcked = rs.inSeq;
    rs.inAckBytes = 0;
  }

  /** @param {Message} m */
  _deliver(m) {
    const w = this._waiters.shift();
    if (w) {
      w.resolve(m);
      return;
    }
    const hs = this._handlers.get('message');
    if (this.onmessage || (hs && hs.size > 0)) {
      if (this.onmessage) this._call(this.onmessage, m);
      if (hs) for (const fn of hs) this._call(fn, m);
      return;
    }
    if (this._queue.length >= this._opts.queueSize) {
      this._giveUp(CloseCode.QUEUE_FULL, 'receive queue full');
      return;
    }
    this._queue.push(m);
  }

  /** Calls a user handler; its exception is reported, not propagated into the socket's handler.
   * @param {Function} fn @param {unknown} arg */
  _call(fn, arg) {
    try {
      fn.call(this, arg);
    } catch (e) {
      setTimeout(() => {
        throw e;
      });
    }
  }

  /** @param {Uint8Array} data */
  _pong(data) {
    if (data.length !== 9 || data[0] !== 0x70) return; // not ours: unsolicited PONGs are ignored
    const seq = Number(new DataView(data.buffer, data.byteOffset, 9).getBigUint64(1));
    const p = this._pings.get(seq);
    if (!p) return;
    this._pings.delete(seq);
    p.resolve(now() - p.start);
  }

  /** The server broke the protocol: close with 4002 and the error's text.
   * @param {unknown} e */
  _fail(e) {
    const reason = e instanceof Error ? e.message : String(e);
    this._giveUp(CloseCode.CLIENT_PROTOCOL_ERROR, reason, e);
  }

  /** Closes from this side for a reason of the client's own, reporting it at once.
   * @param {number} code @param {string} reason @param {unknown} [cause] */
  _giveUp(code, reason, cause) {
    const err = new CloseError(code, reason, { byClient: true, wasClean: false, cause });
    const conn = this._conn;
    if (conn && !conn.online) {
      // Not online yet: the attempt fails (a reconnecting client tries again).
      this._drop(conn, code, reason);
      this._greetFailed(conn, err);
      return;
    }
    if (code === CloseCode.KEEPALIVE_TIMEOUT && this._rs) {
      this._lost(err); // dropped with 4001: the session survives
      return;
    }
    this._closing = true;
    try {
      this._ws.close(code, truncateUTF8(reason, MAX_WS_CLOSE_REASON));
    } catch {
      // already closing
    }
    this._abandon(err);
  }

  /** Ends now with err, without waiting for the close handshake.
   * @param {CloseError} err */
  _abandon(err) {
    try {
      if (this._ws && this._ws.readyState < 2) this._ws.close();
    } catch {
      // nothing more to do
    }
    this._end(err);
  }

  /** @returns {void} */
  _stopTimers() {
    if (this._kaTimer) clearTimeout(this._kaTimer);
    this._kaTimer = null;
    if (this._rs?.ackTimer) clearTimeout(this._rs.ackTimer);
    if (this._rs) this._rs.ackTimer = null;
  }

  /** Records why the connection ended (the first cause wins) and tells everyone.
   * @param {CloseError} err */
  _end(err) {
    if (this._state === 'ended') return;
    this._state = 'ended';
    this._err = err;
    this._stopTimers();
    if (this._rs?.timer) clearTimeout(this._rs.timer);
    if (this._ws) {
      this._ws.onmessage = null;
      this._ws.onopen = null;
    }
    const conn = this._conn;
    if (conn && !conn.online) {
      this._conn = null;
      this._drop(conn, err.byClient ? err.code : CloseCode.NORMAL, err.reason, err); // (1006 becomes 1000)
    }
    for (const p of this._pings.values()) p.reject(err);
    this._pings.clear();
    for (const w of this._waiters.splice(0)) w.reject(err);
    if (this.onclose) this._call(this.onclose, err);
    for (const fn of this._handlers.get('close') ?? []) this._call(fn, err);
    this._resolveClosed(err);
  }

  /** Keep-alive: PING a silent server, give up when it stays silent. */
  _armKeepAlive() {
    const interval = this._opts.keepAliveInterval;
    if (this._kaTimer) clearTimeout(this._kaTimer);
    this._kaTimer = null;
    this._kaPinged = false;
    if (interval === false || !(interval > 0)) return;
    const tick = () => {
      if (this._state !== 'open') return;
      const idle = Date.now() - this._lastRecv;
      if (this._kaPinged) {
        if (idle >= interval + this._opts.keepAliveTimeout) {
          this._giveUp(CloseCode.KEEPALIVE_TIMEOUT, 'keep-alive timeout');
          return;
        }
      } else if (idle >= interval) {
        try {
          this._ws.send(encodeControl(Kind.PING, new Uint8Array(0)));
        } catch {
          return;
        }
        this._kaPinged = true;
      }
      const due = this._kaPinged ? interval + this._opts.keepAliveTimeout - idle : interval - idle;
      this._kaTimer = setTimeout(tick, Math.max(due, 10));
      /** @type {any} */ (this._kaTimer).unref?.(); // never keeps a Node process alive
    };
    this._kaTimer = setTimeout(tick, interval);
    /** @type {any} */ (this._kaTimer).unref?.();
  }
}

/** A session's ACK rhythm: every ACK_EVERY messages or ACK_BYTES bytes, or ACK_DELAY ms after the last. */
const ACK_EVERY = 32;
const ACK_BYTES = 64 << 10;
const ACK_DELAY = 1000;

/**
 * One WebSocket of a client: `online` once greeted (sends go to it);
 * `greeting` while a HELLO waits for its WELCOME; `settle` ends the
 * attempt (an error, or whether the session was resumed).
 * @typedef {object} Conn
 * @property {any} ws
 * @property {boolean} online
 * @property {boolean} greeting
 * @property {(err: CloseError | null, resumed?: boolean) => void} settle
 */

/**
 * A reconnecting client's state: the policy, its public state, the outbox,
 * the session (token, counts) and its timers.
 * @typedef {object} Resumer
 * @property {Required<import('./reconnect.js').ReconnectOptions>} policy
 * @property {string} state
 * @property {Outbox} out
 * @property {Uint8Array | null} token the session's token: resumes it next time
 * @property {boolean} sessOn the server keeps a session for us
 * @property {boolean} v1 the server does not know HELLO: never send it
 * @property {number} inSeq session: MESSAGEs received
 * @property {number} inAcked the count in the last ACK sent
 * @property {number} inAckBytes bytes received since that ACK
 * @property {ReturnType<typeof setTimeout> | null} timer the next attempt
 * @property {ReturnType<typeof setTimeout> | null} ackTimer
 */

/**
 * @param {Required<import('./reconnect.js').ReconnectOptions>} policy
 * @returns {Resumer}
 */
function newResumer(policy) {
  return {
    policy, state: '', out: new Outbox(policy.queueBytes), token: null, sessOn: false, v1: false,
    inSeq: 0, inAcked: 0, inAckBytes: 0, timer: null, ackTimer: null,
  };
}

/** @returns {number} ms, monotonic where available */
function now() {
  return globalThis.performance?.now() ?? Date.now();
}

/**
 * Connects a new SimpleClient to url: `new SimpleClient(options).connect(url)`.
 * @param {string | URL} url e.g. "ws://127.0.0.1:8080/ws"
 * @param {Options} [options]
 * @returns {Promise<SimpleClient>}
 */
export function connect(url, options) {
  return new SimpleClient(options).connect(url);
}

