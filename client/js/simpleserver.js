// @ts-check
/**
 * @module simpleserver
 * SimpleServer's JavaScript client: protocol v1 over WebSocket, in browsers
 * and in Node 20+. It mirrors the Go client (package client): connect, send,
 * sendRaw, a read() that never blocks, receive() that waits, ping() for a
 * round trip, and close reasons. No dependencies.
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

export * from './codec.js';

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
  KEEPALIVE_TIMEOUT: 4001, // the server stayed silent after a PING
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
 */

/** @typedef {(m: Message) => void} MessageHandler */
/** @typedef {(e: CloseError) => void} CloseHandler */

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
    /** @type {'new' | 'connecting' | 'open' | 'ended'} */
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
    /** @type {(e: CloseError) => void} */
    this._resolveClosed = () => {};
    /** Resolves with the CloseError once the connection has ended. @type {Promise<CloseError>} */
    this.closed = new Promise((resolve) => (this._resolveClosed = resolve));
    /** Called with each message not taken by receive(); set to take them from read(). @type {MessageHandler | null} */
    this.onmessage = null;
    /** Called once with the CloseError when the connection ends. @type {CloseHandler | null} */
    this.onclose = null;
  }

  /**
   * Connects to url (ws:, wss:, or http:/https:, mapped to ws:/wss:). It
   * resolves once the WebSocket is open and rejects with a CloseError when
   * the connection fails or takes longer than the connect timeout. A client
   * makes one connection in its life.
   * @param {string | URL} url
   * @returns {Promise<this>}
   */
  connect(url) {
    if (this._state !== 'new') return Promise.reject(new Error('simpleserver: already connected'));
    const WS = this._opts.WebSocket;
    if (typeof WS !== 'function') {
      return Promise.reject(
        new TypeError('simpleserver: no WebSocket here: pass {WebSocket} (e.g. from the ws package) or run Node 22+'),
      );
    }
    this._state = 'connecting';
    /** @type {any} */
    let ws;
    try {
      ws = new WS(wsURL(url), this._opts.protocols);
    } catch (e) {
      this._state = 'new';
      return Promise.reject(e);
    }
    this._ws = ws;
    ws.binaryType = 'arraybuffer';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._abandon(new CloseError(CloseCode.ABNORMAL, 'connect timeout', { byClient: true, wasClean: false }));
      }, this._opts.connectTimeout);
      /** @type {((e: CloseError) => void) | null} */
      let failConnect = (e) => {
        clearTimeout(timer);
        reject(e);
      };
      this._failConnect = (/** @type {CloseError} */ e) => failConnect?.(e);
      ws.onopen = () => {
        clearTimeout(timer);
        failConnect = null;
        if (ws.protocol && !this._opts.protocols.includes(ws.protocol)) {
          this._fail(new ProtocolError('unexpected subprotocol', ws.protocol));
          reject(this._err);
          return;
        }
        this._state = 'open';
        this._lastRecv = Date.now();
        this._armKeepAlive();
        resolve(this);
      };
      ws.onmessage = (/** @type {{data: any}} */ ev) => this._onData(ev.data);
      ws.onerror = () => {}; // a close event always follows, with the code
      ws.onclose = (/** @type {{code: number, reason: string, wasClean: boolean}} */ ev) => {
        this._end(new CloseError(ev.code, ev.reason, { byClient: this._closing, wasClean: ev.wasClean }));
      };
    });
  }

  /** The subprotocol the server chose ("" if none). */
  get protocol() {
    return this._ws?.protocol ?? '';
  }

  /** Bytes handed to send() that the WebSocket has not yet put on the wire. */
  get bufferedAmount() {
    return this._ws?.bufferedAmount ?? 0;
  }

  /** True while the connection is open (close() not called, not ended). */
  get connected() {
    return this._state === 'open' && !this._closing;
  }

  /**
   * Sends m as one MESSAGE. m is encoded at once and not retained. Throws
   * before connect and after the end (the CloseError), and a RangeError for
   * an invalid header name, which leaves the connection usable.
   * @param {Message} m
   */
  send(m) {
    if (!(m instanceof Message)) throw new TypeError('simpleserver: send needs a Message');
    const payload = encodeMessage(m);
    this._write(payload);
  }

  /**
   * Sends bytes (or text, as UTF-8) as the body of a message without
   * headers: the server sees a headerless NetworkMessage.
   * @param {import('./codec.js').BytesLike} b
   */
  sendRaw(b) {
    this._write(encodeRaw(b));
  }

  /**
   * Sends a PING and resolves with the round-trip time in milliseconds when
   * its PONG arrives; rejects with the CloseError if the connection ends first.
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
   * with the signal's reason when it aborts.
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
   * Adds a handler: 'message' (m: Message) or 'close' (e: CloseError).
   * @param {'message' | 'close'} type
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
   * @param {'message' | 'close'} type
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
   * connection has ended; queued messages stay readable.
   * @param {string} [reason]
   * @param {number} [code] 1000 or 3000..4999
   * @returns {Promise<CloseError>}
   */
  close(reason = 'client closed', code = CloseCode.NORMAL) {
    if (this._state === 'new') {
      this._end(new CloseError(code, reason, { byClient: true }));
    } else if (!this._closing && this._state !== 'ended') {
      this._closing = true;
      try {
        this._ws.close(code, truncateUTF8(reason, MAX_WS_CLOSE_REASON));
      } catch (e) {
        this._abandon(new CloseError(CloseCode.ABNORMAL, String(e), { byClient: true, wasClean: false }));
      }
    }
    return this.closed;
  }

  // --- internals ---

  /** @param {Uint8Array} payload */
  _write(payload) {
    if (this._state === 'ended' || this._closing) throw this._err ?? new CloseError(CloseCode.NORMAL, 'client closed', { byClient: true });
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
      this._deliver(new Message().setBody(data));
      return;
    }
    let p;
    try {
      p = decodePayload(toBytes(data), this._opts.limits);
    } catch (e) {
      this._fail(e);
      return;
    }
    switch (p.kind) {
      case Kind.MESSAGE:
        this._deliver(/** @type {Message} */ (p.message));
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
      case Kind.CLOSE: // protocol v1's own CLOSE inside a binary message
        this._closing = true;
        this._abandon(new CloseError(CloseCode.NORMAL, p.reason ?? '', { wasClean: true }));
        return;
    }
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
    this._closing = true;
    try {
      this._ws.close(code, truncateUTF8(reason, MAX_WS_CLOSE_REASON));
    } catch {
      // already closing
    }
    this._abandon(new CloseError(code, reason, { byClient: true, wasClean: false, cause }));
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

  /** Records why the connection ended (the first cause wins) and tells everyone.
   * @param {CloseError} err */
  _end(err) {
    if (this._state === 'ended') return;
    const wasConnecting = this._state === 'connecting';
    this._state = 'ended';
    this._err = err;
    if (this._kaTimer) clearTimeout(this._kaTimer);
    if (this._ws) {
      this._ws.onmessage = null;
      this._ws.onopen = null;
    }
    if (wasConnecting) this._failConnect?.(err);
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

