// @ts-check
// The parts of the opt-in reconnect that need no socket: the policy and its
// backoff, the states, the bounded queue of what is sent, and which ends of
// a connection are worth reconnecting. They mirror the Go client's
// WithReconnect (client/reconnect.go, client/session.go).

/** The states of a reconnecting client, as the Go client names them. */
export const State = Object.freeze({
  /** The first connection is up (and its session, if the server keeps sessions). */
  CONNECTED: 'connected',
  /** The connection was lost; the client is retrying. Sends are queued. */
  RECONNECTING: 'reconnecting',
  /** Reconnected and the session resumed: nothing lost or doubled either way. */
  RESUMED: 'resumed',
  /** Reconnected to a new session: the server's state for this client is gone, and messages in flight at the cut may be lost. */
  NEW_SESSION: 'new session',
  /** maxAttempts attempts failed in a row: the client is finished. */
  GAVE_UP: 'gave up',
  /** close() was called. */
  CLOSED: 'closed',
});

/** Defaults of the reconnect policy, the Go client's. */
export const ReconnectDefaults = Object.freeze({
  minDelay: 100, // ms before the first retry; doubles per failed attempt
  maxDelay: 5_000, // ms, the cap
  maxAttempts: 0, // 0: never give up
  queueBytes: 1 << 20, // bytes of messages kept to (re)send
});

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
  constructor(kept, more, limit) {
    super(`simpleserver: reconnect queue full: ${kept} bytes kept, ${more} more would pass ${limit}`);
    this.name = 'QueueFullError';
  }
}

/**
 * Fills in and checks a reconnect policy.
 * @param {ReconnectOptions | true} p
 * @returns {Required<ReconnectOptions>}
 */
export function reconnectPolicy(p) {
  const o = p === true ? {} : p;
  const minDelay = o.minDelay ?? ReconnectDefaults.minDelay;
  const maxDelay = o.maxDelay ?? Math.max(ReconnectDefaults.maxDelay, minDelay);
  const maxAttempts = o.maxAttempts ?? ReconnectDefaults.maxAttempts;
  const queueBytes = o.queueBytes ?? ReconnectDefaults.queueBytes;
  for (const [k, v] of Object.entries({ minDelay, maxDelay, maxAttempts, queueBytes })) {
    if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) throw new RangeError(`simpleserver: reconnect.${k} must be a number >= 0, got ${v}`);
  }
  if (maxDelay < minDelay) throw new RangeError(`simpleserver: reconnect.maxDelay ${maxDelay} < minDelay ${minDelay}`);
  return { minDelay, maxDelay, maxAttempts, queueBytes, noSession: !!o.noSession };
}

/**
 * The wait before attempt n (1-based), in ms: minDelay doubled per attempt,
 * capped at maxDelay, drawn at random from [d/2, d].
 * @param {{minDelay: number, maxDelay: number}} p
 * @param {number} n
 * @param {() => number} [random] in [0, 1)
 */
export function backoff(p, n, random = Math.random) {
  let d = p.minDelay;
  for (let i = 1; i < n && d < p.maxDelay; i++) d *= 2;
  d = Math.min(d, p.maxDelay);
  return d / 2 + random() * (d / 2);
}

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
export function retryable(code, reason, byClient) {
  if (byClient) return code === 4001; // our keep-alive gave the connection up
  if (reason.startsWith('session: ')) return true;
  switch (code) {
    case 1001:
    case 1006:
    case 1012:
    case 1013:
      return true;
    case 1008:
      return reason === 'idle timeout' || reason === 'frame timeout';
  }
  return false;
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
  constructor(limit) {
    this.limit = limit;
    /** @type {Uint8Array[]} */
    this._q = [];
    this._head = 0; // _q[.._head] is gone
    /** Payloads in the queue. */
    this.length = 0;
    /** Their bytes. */
    this.bytes = 0;
    /** Payloads at the start of the queue handed to the current connection. */
    this.written = 0;
    /** Session: payloads the server has confirmed (ACK, WELCOME). */
    this.acked = 0;
  }

  /**
   * Appends a payload, or throws a QueueFullError.
   * @param {Uint8Array} p
   */
  push(p) {
    if (this.bytes + p.length > this.limit) throw new QueueFullError(this.bytes, p.length, this.limit);
    this._q.push(p);
    this.length++;
    this.bytes += p.length;
  }

  /** The i'th payload in the queue. @param {number} i */
  at(i) {
    return this._q[this._head + i];
  }

  /**
   * Drops the first n payloads: the server has them (session), or they were
   * written and no session can tell their fate (a new session).
   * @param {number} n
   */
  drop(n) {
    for (let i = 0; i < n; i++) {
      this.bytes -= this._q[this._head].length;
      this._q[this._head++] = EMPTY;
    }
    this.length -= n;
    this.written = Math.max(this.written - n, 0);
    if (this._head > 1024 && this._head > this._q.length / 2) {
      this._q = this._q.slice(this._head);
      this._head = 0;
    }
  }

  /**
   * Session: the server confirms received payloads in all. Returns false
   * (and changes nothing) for a count outside what was sent.
   * @param {number} received
   */
  confirm(received) {
    if (received < this.acked || received - this.acked > this.length) return false;
    const n = received - this.acked;
    this.drop(n);
    this.acked = received;
    return true;
  }

  /** A new session: what was written is dropped, what never was is kept. */
  restart() {
    this.drop(this.written);
    this.acked = 0;
  }
}

const EMPTY = new Uint8Array(0);
