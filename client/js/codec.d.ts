// Generated from the JSDoc of codec.js by the TypeScript compiler (npm run types); do not edit.
/**
 * Bytes or text; text is encoded as UTF-8.
 * @typedef {Uint8Array | ArrayBuffer | string} BytesLike
 */
/**
 * @param {BytesLike | ArrayBufferView | null | undefined} b
 * @returns {Uint8Array}
 */
export function toBytes(b: BytesLike | ArrayBufferView | null | undefined): Uint8Array;
/**
 * The length of n as a uvarint.
 * @param {number} n a non-negative safe integer
 */
export function uvarintLen(n: number): number;
/**
 * Writes n as a uvarint (unsigned LEB128) at dst[p]; returns the position
 * after it.
 * @param {Uint8Array} dst
 * @param {number} p
 * @param {number} n a non-negative safe integer
 */
export function putUvarint(dst: Uint8Array, p: number, n: number): number;
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
export function getUvarint(b: Uint8Array, p: number, what?: string): [number, number];
/**
 * The size of m's payload (kind byte included); throws a RangeError for a
 * header name that is empty or longer than 255 bytes.
 * @param {Message} m
 */
export function payloadSize(m: Message): number;
/**
 * Encodes m as a MESSAGE payload (kind byte + rest): what one binary
 * WebSocket message carries.
 * @param {Message} m
 * @returns {Uint8Array}
 */
export function encodeMessage(m: Message): Uint8Array;
/**
 * A headerless MESSAGE payload whose body is b: "raw bytes".
 * @param {BytesLike} b
 */
export function encodeRaw(b: BytesLike): Uint8Array<ArrayBuffer>;
/**
 * A control payload: PING, PONG or CLOSE with its data or reason.
 * @param {number} kind Kind.PING, Kind.PONG or Kind.CLOSE
 * @param {BytesLike} [data]
 */
export function encodeControl(kind: number, data?: BytesLike): Uint8Array<ArrayBuffer>;
/**
 * Prefixes a payload with its 4-byte big-endian length: a frame as it goes
 * over TCP. Accepts a Message (encoded first) or an encoded payload.
 * @param {Message | Uint8Array} m
 */
export function encodeFrame(m: Message | Uint8Array): Uint8Array<ArrayBuffer>;
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
export function decodePayload(payload: Uint8Array | ArrayBuffer, limits?: Limits): Payload;
/**
 * Decodes the rest of a MESSAGE payload (everything after the kind byte).
 * @param {Uint8Array} rest
 * @param {Limits} [limits]
 * @returns {Message}
 */
export function decodeMessage(rest: Uint8Array, limits?: Limits): Message;
/** Frame kinds (the first payload byte). */
export const Kind: Readonly<{
    MESSAGE: 0;
    PING: 1;
    PONG: 2;
    CLOSE: 3;
}>;
/** The largest PING data a receiver accepts, in bytes. */
export const MAX_PING_PAYLOAD: 125;
/** Header names are 1..255 bytes. */
export const MAX_HEADER_NAME_LEN: 255;
/** The longest CLOSE reason this implementation sends, in bytes. */
export const MAX_CLOSE_REASON: 1000;
/**
 * Receiver limits (docs/PROTOCOL.md, "Limits").
 * @typedef {object} Limits
 * @property {number} [maxFrameSize] largest payload accepted, bytes (default 1 MiB)
 * @property {number} [maxHeaders] most headers per MESSAGE (default 64)
 * @property {number} [maxHeaderName] longest header name, 1..255 bytes (default 255)
 */
/** @type {Required<Limits>} */
export const DEFAULT_LIMITS: Required<Limits>;
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
    constructor(kind: string, detail?: string);
    /** @type {string} */
    kind: string;
    /** @type {string} */
    detail: string;
}
/** Error classes of ProtocolError.kind, the same texts as Go's proto sentinels. */
export const ProtocolErrors: Readonly<{
    EMPTY_FRAME: "empty frame";
    FRAME_TOO_LARGE: "frame too large";
    UNKNOWN_KIND: "unknown frame kind";
    MALFORMED: "malformed message";
    TOO_MANY_HEADERS: "too many headers";
    BAD_HEADER_NAME: "bad header name";
    PING_TOO_LARGE: "ping payload too large";
}>;
/**
 * A NetworkMessage: ordered headers (name and value are byte strings; a
 * header "without a value" has an empty one) and a body. Duplicate names are
 * kept in order; lookups return the first. Names compare byte for byte.
 */
export class Message {
    /** @type {{name: Uint8Array, value: Uint8Array}[]} */
    _headers: {
        name: Uint8Array;
        value: Uint8Array;
    }[];
    /** @type {Uint8Array} */
    _body: Uint8Array;
    /**
     * Appends a header. The name must be 1..255 bytes (checked when encoding).
     * @param {BytesLike} name
     * @param {BytesLike} [value] empty: a header without a value
     * @returns {this}
     */
    addHeader(name: BytesLike, value?: BytesLike): this;
    /** @param {BytesLike} name */
    _find(name: BytesLike): {
        name: Uint8Array;
        value: Uint8Array;
    } | undefined;
    /**
     * Reports whether the message has a header called name.
     * @param {BytesLike} name
     */
    hasHeader(name: BytesLike): boolean;
    /**
     * The value of the first header called name, or undefined.
     * @param {BytesLike} name
     * @returns {Uint8Array | undefined}
     */
    header(name: BytesLike): Uint8Array | undefined;
    /**
     * header() decoded as UTF-8 text, or undefined.
     * @param {BytesLike} name
     * @returns {string | undefined}
     */
    headerText(name: BytesLike): string | undefined;
    /**
     * The headers in order, as [name decoded as UTF-8, value bytes] pairs.
     * @returns {IterableIterator<[string, Uint8Array]>}
     */
    headers(): IterableIterator<[string, Uint8Array]>;
    /** The number of headers. */
    get numHeaders(): number;
    /**
     * The i'th header's raw name and value bytes.
     * @param {number} i
     * @returns {[Uint8Array, Uint8Array]}
     */
    headerAt(i: number): [Uint8Array, Uint8Array];
    /**
     * Sets the body (text is encoded as UTF-8).
     * @param {BytesLike} body
     * @returns {this}
     */
    setBody(body: BytesLike): this;
    /** The body; empty when there is none. @returns {Uint8Array} */
    body(): Uint8Array;
    /** The body decoded as UTF-8 text. */
    bodyText(): string;
    /** A deep copy. */
    clone(): Message;
}
/**
 * Bytes or text; text is encoded as UTF-8.
 */
export type BytesLike = Uint8Array | ArrayBuffer | string;
/**
 * A decoded payload: a MESSAGE carries `message`; PING and PONG carry `data`;
 * CLOSE carries its `reason` (decoded leniently as UTF-8) and raw `data`.
 */
export type Payload = {
    kind: number;
    message?: Message | undefined;
    data?: Uint8Array<ArrayBufferLike> | undefined;
    reason?: string | undefined;
};
/**
 * Receiver limits (docs/PROTOCOL.md, "Limits").
 */
export type Limits = {
    /**
     * largest payload accepted, bytes (default 1 MiB)
     */
    maxFrameSize?: number | undefined;
    /**
     * most headers per MESSAGE (default 64)
     */
    maxHeaders?: number | undefined;
    /**
     * longest header name, 1..255 bytes (default 255)
     */
    maxHeaderName?: number | undefined;
};
