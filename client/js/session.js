// @ts-check
// The Sessions extension's frames (docs/PROTOCOL.md, "Sessions"): HELLO,
// WELCOME and ACK payloads, with no I/O. Over WebSocket each travels as one
// binary message holding the payload (kind byte + rest); encodeFrame adds
// the 4-byte length TCP needs. A peer sees these kinds only in a session
// it asked for; decodePayload keeps refusing them as unknown kinds.

import { ProtocolError, ProtocolErrors, getUvarint, putUvarint, toBytes, uvarintLen } from './codec.js';

/** The session frame kinds. */
export const SessionKind = Object.freeze({ HELLO: 0x04, WELCOME: 0x05, ACK: 0x06 });

/** The longest session token, in bytes. */
export const MAX_TOKEN_LEN = 64;

/** WELCOME's flags bit 0: the server resumed the session. */
export const WELCOME_RESUMED = 0x01;

/**
 * A decoded WELCOME.
 * @typedef {object} Welcome
 * @property {number} flags the flags byte
 * @property {boolean} resumed flags bit 0: the session was resumed
 * @property {Uint8Array} token the token that resumes it next time (empty: the server keeps no sessions)
 * @property {number} received how many of the client's MESSAGEs the server has
 * @property {number} graceMs the server's grace period, in milliseconds
 */

/**
 * @param {number} n
 * @param {string} what
 */
function checkCount(n, what) {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${n}`);
}

/**
 * @param {import('./codec.js').BytesLike | undefined} token
 */
function tokenBytes(token) {
  const t = toBytes(token);
  if (t.length > MAX_TOKEN_LEN) throw new RangeError(`token is ${t.length} > ${MAX_TOKEN_LEN} bytes`);
  return t;
}

/**
 * A HELLO payload: an empty token asks for a new session (`04 00 00`); a
 * session's token and the count of its MESSAGEs received resume it.
 * @param {import('./codec.js').BytesLike} [token]
 * @param {number} [received]
 * @returns {Uint8Array}
 */
export function encodeHello(token, received = 0) {
  const t = tokenBytes(token);
  checkCount(received, 'received');
  const out = new Uint8Array(1 + uvarintLen(t.length) + t.length + uvarintLen(received));
  out[0] = SessionKind.HELLO;
  let p = putUvarint(out, 1, t.length);
  out.set(t, p);
  putUvarint(out, p + t.length, received);
  return out;
}

/**
 * A WELCOME payload (what a server sends; for tests and servers in JS).
 * @param {{flags?: number, token?: import('./codec.js').BytesLike, received?: number, graceMs?: number}} w
 * @returns {Uint8Array}
 */
export function encodeWelcome(w) {
  const t = tokenBytes(w.token);
  const received = w.received ?? 0;
  const grace = w.graceMs ?? 0;
  checkCount(received, 'received');
  checkCount(grace, 'graceMs');
  const out = new Uint8Array(2 + uvarintLen(t.length) + t.length + uvarintLen(received) + uvarintLen(grace));
  out[0] = SessionKind.WELCOME;
  out[1] = (w.flags ?? 0) & 0xff;
  let p = putUvarint(out, 2, t.length);
  out.set(t, p);
  p = putUvarint(out, p + t.length, received);
  putUvarint(out, p, grace);
  return out;
}

/**
 * An ACK payload: received MESSAGEs of the session have arrived.
 * @param {number} received
 * @returns {Uint8Array}
 */
export function encodeAck(received) {
  checkCount(received, 'received');
  const out = new Uint8Array(1 + uvarintLen(received));
  out[0] = SessionKind.ACK;
  putUvarint(out, 1, received);
  return out;
}

/**
 * @param {Uint8Array} b
 * @param {number} kind
 * @param {string} name
 */
function checkKind(b, kind, name) {
  if (b.length === 0) throw new ProtocolError(ProtocolErrors.EMPTY_FRAME);
  if (b[0] !== kind) throw new ProtocolError(ProtocolErrors.MALFORMED, `not a ${name}: kind 0x${b[0].toString(16)}`);
}

/**
 * @param {Uint8Array} b
 * @param {number} p
 * @returns {[Uint8Array, number]}
 */
function readToken(b, p) {
  let n;
  [n, p] = getUvarint(b, p, 'token length');
  if (n > MAX_TOKEN_LEN) throw new ProtocolError(ProtocolErrors.MALFORMED, `token length ${n} > ${MAX_TOKEN_LEN}`);
  if (n > b.length - p) throw new ProtocolError(ProtocolErrors.MALFORMED, 'token runs past the payload');
  return [b.slice(p, p + n), p + n];
}

/**
 * @param {Uint8Array} b
 * @param {number} p
 * @param {string} name
 */
function noTrailing(b, p, name) {
  if (p !== b.length) throw new ProtocolError(ProtocolErrors.MALFORMED, `${name} has ${b.length - p} trailing bytes`);
}

/**
 * Decodes a HELLO payload (kind byte included).
 * @param {Uint8Array | ArrayBuffer} payload
 * @returns {{token: Uint8Array, received: number}}
 */
export function decodeHello(payload) {
  const b = toBytes(payload);
  checkKind(b, SessionKind.HELLO, 'HELLO');
  const [token, p0] = readToken(b, 1);
  const [received, p] = getUvarint(b, p0, 'HELLO received count');
  noTrailing(b, p, 'HELLO');
  return { token, received };
}

/**
 * Decodes a WELCOME payload (kind byte included). Any violation of the
 * spec throws a ProtocolError.
 * @param {Uint8Array | ArrayBuffer} payload
 * @returns {Welcome}
 */
export function decodeWelcome(payload) {
  const b = toBytes(payload);
  checkKind(b, SessionKind.WELCOME, 'WELCOME');
  if (b.length < 2) throw new ProtocolError(ProtocolErrors.MALFORMED, 'WELCOME has no flags');
  const flags = b[1];
  let [token, p] = readToken(b, 2);
  let received, graceMs;
  [received, p] = getUvarint(b, p, 'WELCOME received count');
  [graceMs, p] = getUvarint(b, p, 'WELCOME grace');
  noTrailing(b, p, 'WELCOME');
  return { flags, resumed: (flags & WELCOME_RESUMED) !== 0, token, received, graceMs };
}

/**
 * Decodes an ACK payload (kind byte included): the count it confirms.
 * @param {Uint8Array | ArrayBuffer} payload
 * @returns {number}
 */
export function decodeAck(payload) {
  const b = toBytes(payload);
  checkKind(b, SessionKind.ACK, 'ACK');
  const [n, p] = getUvarint(b, 1, 'ACK count');
  noTrailing(b, p, 'ACK');
  return n;
}
