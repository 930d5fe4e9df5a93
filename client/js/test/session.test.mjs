// The Sessions extension's frames, byte for byte as docs/PROTOCOL.md
// ("Sessions") specifies them. (TestNodeSessionCodecMatchesGo checks the
// same encoders against package proto.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SessionKind, MAX_TOKEN_LEN, WELCOME_RESUMED, encodeHello, encodeWelcome, encodeAck,
  decodeHello, decodeWelcome, decodeAck, encodeFrame, decodePayload, ProtocolError,
} from '../simpleserver.js';

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
const tok = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
const tokHex = hex(tok);

test('HELLO: a new session is 04 00 00, the spec\'s 00 00 00 03 04 00 00 over TCP', () => {
  assert.equal(hex(encodeHello()), '04 00 00');
  assert.equal(hex(encodeFrame(encodeHello())), '00 00 00 03 04 00 00');
  assert.equal(hex(encodeHello(new Uint8Array(0), 0)), '04 00 00');
});

test('HELLO: a resume carries token_len, the token and received as uvarints', () => {
  assert.equal(hex(encodeHello(tok, 300)), `04 10 ${tokHex} ac 02`);
  assert.deepEqual(decodeHello(encodeHello(tok, 300)), { token: tok, received: 300 });
  assert.equal(hex(encodeHello(tok, 127)).slice(-2), '7f');
});

test('WELCOME: flags, token, received, grace_ms', () => {
  const w = encodeWelcome({ flags: WELCOME_RESUMED, token: tok, received: 5, graceMs: 10_000 });
  assert.equal(hex(w), `05 01 10 ${tokHex} 05 90 4e`);
  assert.deepEqual(decodeWelcome(w), { flags: 1, resumed: true, token: tok, received: 5, graceMs: 10_000 });
  // A server that keeps no sessions: flags 0, empty token.
  const none = decodeWelcome(new Uint8Array([0x05, 0, 0, 0, 0]));
  assert.equal(none.resumed, false);
  assert.equal(none.token.length, 0);
  assert.equal(hex(encodeWelcome({})), '05 00 00 00 00');
  // A new session: flags 0, a token, received 0.
  assert.equal(decodeWelcome(encodeWelcome({ token: tok, graceMs: 1 })).resumed, false);
});

test('ACK: received as a uvarint', () => {
  assert.equal(hex(encodeAck(0)), '06 00');
  assert.equal(hex(encodeAck(32)), '06 20');
  assert.equal(hex(encodeAck(128)), '06 80 01');
  assert.equal(hex(encodeFrame(encodeAck(16_384))), '00 00 00 04 06 80 80 01');
  assert.equal(decodeAck(new Uint8Array([0x06, 0x80, 0x80, 0x01])), 16_384);
});

test('session frames that break the spec are protocol errors', () => {
  const bad = [
    [() => decodeAck(new Uint8Array([0x06])), /ACK count runs past/],
    [() => decodeAck(new Uint8Array([0x06, 0x01, 0x00])), /ACK has 1 trailing bytes/],
    [() => decodeAck(new Uint8Array([0x06, 0x80, 0x00])), /not minimally encoded/],
    [() => decodeWelcome(new Uint8Array([0x05])), /WELCOME has no flags/],
    [() => decodeWelcome(new Uint8Array([0x05, 0, 0x41, ...new Uint8Array(65), 0, 0])), /token length 65 > 64/],
    [() => decodeWelcome(new Uint8Array([0x05, 0, 0x05, 1, 2])), /token runs past/],
    [() => decodeWelcome(new Uint8Array([0x05, 0, 0, 0])), /WELCOME grace runs past/],
    [() => decodeWelcome(new Uint8Array([0x05, 0, 0, 0, 0, 9])), /WELCOME has 1 trailing bytes/],
    [() => decodeHello(new Uint8Array([0x04, 0])), /HELLO received count runs past/],
    [() => decodeAck(new Uint8Array([0x05, 0])), /not a ACK/],
    [() => decodeAck(new Uint8Array(0)), /empty frame/],
  ];
  for (const [fn, re] of bad) assert.throws(fn, (e) => e instanceof ProtocolError && re.test(e.message), String(re));
  assert.throws(() => encodeHello(new Uint8Array(MAX_TOKEN_LEN + 1)), RangeError);
  assert.throws(() => encodeAck(-1), RangeError);
  assert.throws(() => encodeAck(1.5), RangeError);
});

test('outside a session the kinds stay unknown to decodePayload, as for a version 1 peer', () => {
  for (const k of Object.values(SessionKind)) {
    assert.throws(() => decodePayload(new Uint8Array([k, 0, 0])), /unknown frame kind/);
  }
});
