// @ts-check
// Protocol v1 codec: NetworkMessage and the payload encoding of
// docs/PROTOCOL.md, with no I/O. Over WebSocket one binary message carries one
// payload (kind byte + rest); over TCP the payload follows a 4-byte big-endian
// length (encodeFrame). Everything here runs unchanged in browsers and Node.

/** Frame kinds (the first payload byte). */
export const Kind = Object.freeze({ MESSAGE: 0x00, PING: 0x01, PONG: 0x02, CLOSE: 0x03 });

/** The largest PING data a receiver accepts, in bytes. */
export const MAX_PING_PAYLOAD = 125;
/** Header names are 1..255 bytes. */
export const MAX_HEADER_NAME_LEN = 255;
/** The longest CLOSE reason this implementation sends, in bytes. */
export const MAX_CLOSE_REASON = 1000;

/**
 * Receiver limits (docs/PROTOCOL.md, "Limits").
 * @typedef {object} Limits
 * @property {number} [maxFrameSize] largest payload accepted, bytes (default 1 MiB)
 * @property {number} [maxHeaders] most headers per MESSAGE (default 64)
 * @property {number} [maxHeaderName] longest header name, 1..255 bytes (default 255)
 */

/** @type {Required<Limits>} */
export const DEFAULT_LIMITS = Object.freeze({ maxFrameSize: 1 << 20, maxHeaders: 64, maxHeaderName: 255 });

const encoder = new TextEncoder();
const decoder = new TextDecoder(); // lossy: U+FFFD for bytes that are not UTF-8
const EMPTY = new Uint8Array(0);

/**
 * A frame that breaks protocol v1. `kind` names the class, as Go's sentinels
 * do ("malformed message", "too many headers", ...); `message` is
 * "protocol error: <kind>: <detail>", the text the Go server sends too.
 */
export class ProtocolError extends Error {
  /**
   * @param {string} kind the class of error, e.g. "frame too large"
   * @param {string} [detail] what exactly was wrong
   */
  constructor(kind, detail = '') {
    super(detail ? `protocol error: ${kind}: ${detail}` : `protocol error: ${kind}`);
    this.name = 'ProtocolError';
    /** @type {string} */
    this.kind = kind;
    /** @type {string} */
    this.detail = detail;
  }
}

/** Error classes of ProtocolError.kind, the same texts as Go's proto sentinels. */
export const ProtocolErrors = Object.freeze({
  EMPTY_FRAME: 'empty frame',
  FRAME_TOO_LARGE: 'frame too large',
  UNKNOWN_KIND: 'unknown frame kind',
  MALFORMED: 'malformed message',
  TOO_MANY_HEADERS: 'too many headers',
  BAD_HEADER_NAME: 'bad header name',
  PING_TOO_LARGE: 'ping payload too large',
});

/**
 * Bytes or text; text is encoded as UTF-8.
 * @typedef {Uint8Array | ArrayBuffer | string} BytesLike
 */

/**
 * @param {BytesLike | ArrayBufferView | null | undefined} b
 * @returns {Uint8Array}
 */
export function toBytes(b) {
  if (b == null) return EMPTY;
  if (typeof b === 'string') return encoder.encode(b);
  if (b instanceof Uint8Array) return b;
  if (b instanceof ArrayBuffer) return new Uint8Array(b);
  if (ArrayBuffer.isView(b)) return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  throw new TypeError('expected a string, Uint8Array or ArrayBuffer');
}

/** @param {Uint8Array} a @param {Uint8Array} b */
function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A NetworkMessage: ordered headers (name and value are byte strings; a
 * header "without a value" has an empty one) and a body. Duplicate names are
 * kept in order; lookups return the first. Names compare byte for byte.
 */
export class Message {
  constructor() {
    /** @type {{name: Uint8Array, value: Uint8Array}[]} */
    this._headers = [];
    /** @type {Uint8Array} */
    this._body = EMPTY;
  }

  /**
   * Appends a header. The name must be 1..255 bytes (checked when encoding).
   * @param {BytesLike} name
   * @param {BytesLike} [value] empty: a header without a value
   * @returns {this}
   */
  addHeader(name, value = EMPTY) {
    this._headers.push({ name: toBytes(name), value: toBytes(value) });
    return this;
  }

  /** @param {BytesLike} name */
  _find(name) {
    const n = toBytes(name);
    for (const h of this._headers) if (bytesEqual(h.name, n)) return h;
    return undefined;
  }

  /**
   * Reports whether the message has a header called name.
   * @param {BytesLike} name
   */
  hasHeader(name) {
    return this._find(name) !== undefined;
  }

  /**
   * The value of the first header called name, or undefined.
   * @param {BytesLike} name
   * @returns {Uint8Array | undefined}
   */
  header(name) {
    return this._find(name)?.value;
  }

  /**
   * header() decoded as UTF-8 text, or undefined.
   * @param {BytesLike} name
   * @returns {string | undefined}
   */
  headerText(name) {
    const v = this.header(name);
    return v === undefined ? undefined : decoder.decode(v);
  }

  /**
   * The headers in order, as [name decoded as UTF-8, value bytes] pairs.
   * @returns {IterableIterator<[string, Uint8Array]>}
   */
  *headers() {
    for (const h of this._headers) yield [decoder.decode(h.name), h.value];
  }

  /** The number of headers. */
  get numHeaders() {
    return this._headers.length;
  }

  /**
   * The i'th header's raw name and value bytes.
   * @param {number} i
   * @returns {[Uint8Array, Uint8Array]}
   */
  headerAt(i) {
    const h = this._headers[i];
    if (!h) throw new RangeError(`header ${i} of ${this._headers.length}`);
    return [h.name, h.value];
  }

  /**
   * Sets the body (text is encoded as UTF-8).
   * @param {BytesLike} body
   * @returns {this}
   */
  setBody(body) {
    this._body = toBytes(body);
    return this;
  }

  /** The body; empty when there is none. @returns {Uint8Array} */
  body() {
    return this._body;
  }

  /** The body decoded as UTF-8 text. */
  bodyText() {
    return decoder.decode(this._body);
  }

  /** A deep copy. */
  clone() {
    const m = new Message();
    for (const h of this._headers) m._headers.push({ name: h.name.slice(), value: h.value.slice() });
    m._body = this._body.slice();
    return m;
  }
}

/**
 * The length of n as a uvarint.
 * @param {number} n a non-negative safe integer
 */
export function uvarintLen(n) {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/**
 * Writes n as a uvarint (unsigned LEB128) at dst[p]; returns the position
 * after it.
 * @param {Uint8Array} dst
 * @param {number} p
 * @param {number} n a non-negative safe integer
 */
export function putUvarint(dst, p, n) {
  while (n >= 0x80) {
    dst[p++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  dst[p++] = n;
  return p;
}

/**
 * Decodes the uvarint at b[p]; returns [value, position after it]. Rejects,
 * as the spec requires, uvarints that run past the end, overflow 64 bits or
 * are not minimally encoded. Values above 2^53 lose precision, which is
 * harmless: every such count or length runs past any payload.
 * @param {Uint8Array} b
 * @param {number} p
 * @param {string} [what] named in the error
 * @returns {[number, number]}
 */
export function getUvarint(b, p, what = 'uvarint') {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (p + i >= b.length) throw new ProtocolError(ProtocolErrors.MALFORMED, `${what} runs past the payload`);
    const c = b[p + i];
    value += (c & 0x7f) * scale;
    if (c < 0x80) {
      if (i === 9 && c > 1) throw new ProtocolError(ProtocolErrors.MALFORMED, `${what} overflows 64 bits`);
      if (i > 0 && c === 0) throw new ProtocolError(ProtocolErrors.MALFORMED, `${what} is not minimally encoded`);
      return [value, p + i + 1];
    }
    scale *= 128;
  }
  throw new ProtocolError(ProtocolErrors.MALFORMED, `${what} overflows 64 bits`);
}

/**
 * The size of m's payload (kind byte included); throws a RangeError for a
 * header name that is empty or longer than 255 bytes.
 * @param {Message} m
 */
export function payloadSize(m) {
  let n = 1 + uvarintLen(m._headers.length);
  for (const h of m._headers) {
    if (h.name.length < 1 || h.name.length > MAX_HEADER_NAME_LEN) {
      throw new RangeError(`header name must be 1..${MAX_HEADER_NAME_LEN} bytes, got ${h.name.length}`);
    }
    n += uvarintLen(h.name.length) + h.name.length + uvarintLen(h.value.length) + h.value.length;
  }
  return n + m._body.length;
}

/**
 * Encodes m as a MESSAGE payload (kind byte + rest): what one binary
 * WebSocket message carries.
 * @param {Message} m
 * @returns {Uint8Array}
 */
export function encodeMessage(m) {
  const out = new Uint8Array(payloadSize(m));
  out[0] = Kind.MESSAGE;
  let p = putUvarint(out, 1, m._headers.length);
  for (const h of m._headers) {
    p = putUvarint(out, p, h.name.length);
    out.set(h.name, p);
    p += h.name.length;
    p = putUvarint(out, p, h.value.length);
    out.set(h.value, p);
    p += h.value.length;
  }
  out.set(m._body, p);
  return out;
}

/**
 * A headerless MESSAGE payload whose body is b: "raw bytes".
 * @param {BytesLike} b
 */
export function encodeRaw(b) {
  const body = toBytes(b);
  const out = new Uint8Array(2 + body.length);
  out.set(body, 2); // out[0] = MESSAGE, out[1] = 0 headers
  return out;
}

/**
 * A control payload: PING, PONG or CLOSE with its data or reason.
 * @param {number} kind Kind.PING, Kind.PONG or Kind.CLOSE
 * @param {BytesLike} [data]
 */
export function encodeControl(kind, data) {
  const d = toBytes(data);
  if (kind === Kind.PING && d.length > MAX_PING_PAYLOAD) {
    throw new RangeError(`ping data is ${d.length} > ${MAX_PING_PAYLOAD} bytes`);
  }
  const out = new Uint8Array(1 + d.length);
  out[0] = kind;
  out.set(d, 1);
  return out;
}

/**
 * Prefixes a payload with its 4-byte big-endian length: a frame as it goes
 * over TCP. Accepts a Message (encoded first) or an encoded payload.
 * @param {Message | Uint8Array} m
 */
export function encodeFrame(m) {
  const payload = m instanceof Message ? encodeMessage(m) : m;
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, 4);
  return out;
}

/**
 * A decoded payload: a MESSAGE carries `message`; PING and PONG carry `data`;
 * CLOSE carries its `reason` (decoded leniently as UTF-8) and raw `data`.
 * @typedef {object} Payload
 * @property {number} kind
 * @property {Message} [message]
 * @property {Uint8Array} [data]
 * @property {string} [reason]
 */

/**
 * Decodes one payload (kind byte + rest, as one binary WebSocket message
 * carries it). The message's headers and body are views into payload, not
 * copies. Any violation of the spec throws a ProtocolError.
 * @param {Uint8Array | ArrayBuffer} payload
 * @param {Limits} [limits]
 * @returns {Payload}
 */
export function decodePayload(payload, limits) {
  const b = toBytes(payload);
  const lim = { ...DEFAULT_LIMITS, ...limits };
  if (b.length === 0) throw new ProtocolError(ProtocolErrors.EMPTY_FRAME);
  if (b.length > lim.maxFrameSize) {
    throw new ProtocolError(ProtocolErrors.FRAME_TOO_LARGE, `length ${b.length} > max ${lim.maxFrameSize}`);
  }
  const kind = b[0];
  const rest = b.subarray(1);
  switch (kind) {
    case Kind.MESSAGE:
      return { kind, message: decodeMessage(rest, lim) };
    case Kind.PING:
      if (rest.length > MAX_PING_PAYLOAD) {
        throw new ProtocolError(ProtocolErrors.PING_TOO_LARGE, `${rest.length} > ${MAX_PING_PAYLOAD} bytes`);
      }
      return { kind, data: rest };
    case Kind.PONG:
      return { kind, data: rest };
    case Kind.CLOSE:
      return { kind, data: rest, reason: decoder.decode(rest) };
  }
  throw new ProtocolError(ProtocolErrors.UNKNOWN_KIND, `kind 0x${kind.toString(16)}`);
}

/**
 * Decodes the rest of a MESSAGE payload (everything after the kind byte).
 * @param {Uint8Array} rest
 * @param {Limits} [limits]
 * @returns {Message}
 */
export function decodeMessage(rest, limits) {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  const maxName = Math.min(lim.maxHeaderName, MAX_HEADER_NAME_LEN);
  let [count, p] = getUvarint(rest, 0, 'header count');
  if (count > lim.maxHeaders) throw new ProtocolError(ProtocolErrors.TOO_MANY_HEADERS, `${count} > ${lim.maxHeaders}`);
  // Every header takes at least 2 bytes: catches absurd counts before looping.
  if (count * 2 > rest.length - p) {
    throw new ProtocolError(ProtocolErrors.MALFORMED, `header count ${count} runs past the payload`);
  }
  const m = new Message();
  for (let i = 0; i < count; i++) {
    let nl, vl;
    [nl, p] = getUvarint(rest, p, 'header name length');
    if (nl === 0 || nl > maxName) {
      throw new ProtocolError(ProtocolErrors.BAD_HEADER_NAME, `name length ${nl} not in 1..${maxName}`);
    }
    if (nl > rest.length - p) throw new ProtocolError(ProtocolErrors.MALFORMED, 'header name runs past the payload');
    const name = rest.subarray(p, p + nl);
    p += nl;
    [vl, p] = getUvarint(rest, p, 'header value length');
    if (vl > rest.length - p) throw new ProtocolError(ProtocolErrors.MALFORMED, 'header value runs past the payload');
    m._headers.push({ name, value: rest.subarray(p, p + vl) });
    p += vl;
  }
  m._body = rest.subarray(p);
  return m;
}
