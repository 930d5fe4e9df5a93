// Generated from the JSDoc of session.js by the TypeScript compiler (npm run types); do not edit.
/**
 * A HELLO payload: an empty token asks for a new session (`04 00 00`); a
 * session's token and the count of its MESSAGEs received resume it.
 * @param {import('./codec.js').BytesLike} [token]
 * @param {number} [received]
 * @returns {Uint8Array}
 */
export function encodeHello(token?: import("./codec.js").BytesLike, received?: number): Uint8Array;
/**
 * A WELCOME payload (what a server sends; for tests and servers in JS).
 * @param {{flags?: number, token?: import('./codec.js').BytesLike, received?: number, graceMs?: number}} w
 * @returns {Uint8Array}
 */
export function encodeWelcome(w: {
    flags?: number;
    token?: import("./codec.js").BytesLike;
    received?: number;
    graceMs?: number;
}): Uint8Array;
/**
 * An ACK payload: received MESSAGEs of the session have arrived.
 * @param {number} received
 * @returns {Uint8Array}
 */
export function encodeAck(received: number): Uint8Array;
/**
 * Decodes a HELLO payload (kind byte included).
 * @param {Uint8Array | ArrayBuffer} payload
 * @returns {{token: Uint8Array, received: number}}
 */
export function decodeHello(payload: Uint8Array | ArrayBuffer): {
    token: Uint8Array;
    received: number;
};
/**
 * Decodes a WELCOME payload (kind byte included). Any violation of the
 * spec throws a ProtocolError.
 * @param {Uint8Array | ArrayBuffer} payload
 * @returns {Welcome}
 */
export function decodeWelcome(payload: Uint8Array | ArrayBuffer): Welcome;
/**
 * Decodes an ACK payload (kind byte included): the count it confirms.
 * @param {Uint8Array | ArrayBuffer} payload
 * @returns {number}
 */
export function decodeAck(payload: Uint8Array | ArrayBuffer): number;
/** The session frame kinds. */
export const SessionKind: Readonly<{
    HELLO: 4;
    WELCOME: 5;
    ACK: 6;
}>;
/** The longest session token, in bytes. */
export const MAX_TOKEN_LEN: 64;
/** WELCOME's flags bit 0: the server resumed the session. */
export const WELCOME_RESUMED: 1;
/**
 * A decoded WELCOME.
 */
export type Welcome = {
    /**
     * the flags byte
     */
    flags: number;
    /**
     * flags bit 0: the session was resumed
     */
    resumed: boolean;
    /**
     * the token that resumes it next time (empty: the server keeps no sessions)
     */
    token: Uint8Array;
    /**
     * how many of the client's MESSAGEs the server has
     */
    received: number;
    /**
     * the server's grace period, in milliseconds
     */
    graceMs: number;
};
