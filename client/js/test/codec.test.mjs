// Codec tests: docs/PROTOCOL.md's worked examples byte for byte, uvarints,
// every protocol error, and decode(encode(m)) round trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Kind, Message, ProtocolError, ProtocolErrors, DEFAULT_LIMITS,
  encodeMessage, encodeRaw, encodeControl, encodeFrame, decodePayload,
  putUvarint, getUvarint, uvarintLen,
} from '../simpleserver.js';

/** "00 00 00 1a 00 ..." -> Uint8Array */
const hex = (s) => Uint8Array.from(s.trim().split(/\s+/).map((b) => parseInt(b, 16)));
const toHex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

test('worked example: handshake header and "Hello server!", byte for byte', () => {
  const want = hex('00 00 00 1a  00  01  09 68 61 6e 64 73 68 61 6b 65  00  48 65 6c 6c 6f 20 73 65 72 76 65 72 21');
  assert.equal(want.length, 30);
  const m = new Message().addHeader('handshake', '').setBody('Hello server!');
  assert.equal(toHex(encodeFrame(m)), toHex(want));
  // Over WebSocket the same payload goes without the 4-byte length.
  assert.equal(toHex(encodeMessage(m)), toHex(want.subarray(4)));

  const p = decodePayload(want.subarray(4));
  assert.equal(p.kind, Kind.MESSAGE);
  assert.ok(p.message.hasHeader('handshake'));
  assert.equal(p.message.header('handshake').length, 0);
  assert.equal(p.message.headerText('handshake'), '');
  assert.equal(p.message.bodyText(), 'Hello server!');
  assert.equal(p.message.numHeaders, 1);
});

test('the other examples of the spec', () => {
  assert.equal(toHex(encodeFrame(new Message())), '00 00 00 02 00 00');
  assert.equal(toHex(encodeFrame(encodeRaw('abc'))), '00 00 00 05 00 00 61 62 63');
  assert.equal(toHex(encodeFrame(encodeRaw(new Uint8Array([0x61, 0x62, 0x63])))), '00 00 00 05 00 00 61 62 63');
  assert.equal(toHex(encodeFrame(new Message().addHeader('user', 'bob'))), '00 00 00 0b 00 01 04 75 73 65 72 03 62 6f 62');
  assert.equal(toHex(encodeFrame(encodeControl(Kind.PING, 't=42'))), '00 00 00 05 01 74 3d 34 32');
  assert.equal(toHex(encodeFrame(encodeControl(Kind.PONG, 't=42'))), '00 00 00 05 02 74 3d 34 32');
  assert.equal(toHex(encodeFrame(encodeControl(Kind.CLOSE, 'bye'))), '00 00 00 04 03 62 79 65');
  assert.equal(toHex(encodeFrame(encodeControl(Kind.CLOSE))), '00 00 00 01 03');

  const ping = decodePayload(hex('01 74 3d 34 32'));
  assert.equal(ping.kind, Kind.PING);
  assert.equal(new TextDecoder().decode(ping.data), 't=42');
  const close = decodePayload(hex('03 62 79 65'));
  assert.equal(close.kind, Kind.CLOSE);
  assert.equal(close.reason, 'bye');
  const raw = decodePayload(hex('00 00 61 62 63'));
  assert.equal(raw.message.numHeaders, 0);
  assert.equal(raw.message.bodyText(), 'abc');
});

test('a 300-byte header value has the length prefix ac 02', () => {
  const b = encodeMessage(new Message().addHeader('v', 'x'.repeat(300)));
  assert.equal(toHex(b.subarray(0, 6)), '00 01 01 76 ac 02');
  assert.equal(decodePayload(b).message.headerText('v'), 'x'.repeat(300));
});

test('uvarints: the table of the spec, and round trips', () => {
  const table = [[0, '00'], [9, '09'], [127, '7f'], [128, '80 01'], [255, 'ff 01'], [300, 'ac 02'], [16384, '80 80 01']];
  for (const [v, h] of table) {
    const b = new Uint8Array(10);
    const n = putUvarint(b, 0, v);
    assert.equal(toHex(b.subarray(0, n)), h, `encode ${v}`);
    assert.equal(uvarintLen(v), n);
    assert.deepEqual(getUvarint(hex(h), 0), [v, n], `decode ${h}`);
  }
  for (const v of [2 ** 21 - 1, 2 ** 21, 2 ** 35 + 5, Number.MAX_SAFE_INTEGER]) {
    const b = new Uint8Array(10);
    const n = putUvarint(b, 0, v);
    assert.deepEqual(getUvarint(b.subarray(0, n), 0), [v, n]);
  }
  // 2^64-1 is the largest valid uvarint: 9 x ff, then 01.
  assert.equal(getUvarint(hex('ff ff ff ff ff ff ff ff ff 01'), 0)[1], 10);
});

test('malformed uvarints are rejected as the spec says', () => {
  const cases = [
    ['80', 'runs past the payload'],
    ['80 00', 'is not minimally encoded'],
    ['81 00', 'is not minimally encoded'],
    ['ff ff ff ff ff ff ff ff ff 02', 'overflows 64 bits'],
    ['ff ff ff ff ff ff ff ff ff ff 01', 'overflows 64 bits'],
  ];
  for (const [h, why] of cases) {
    assert.throws(() => getUvarint(hex(h), 0, 'x'), (e) => e instanceof ProtocolError && e.kind === ProtocolErrors.MALFORMED && e.message.endsWith(why), h);
  }
});

/** decodePayload(bytes) must throw a ProtocolError of kind with this text. */
function rejects(bytes, kind, text, limits) {
  assert.throws(() => decodePayload(bytes, limits), (e) => {
    assert.ok(e instanceof ProtocolError, `${e}`);
    assert.equal(e.kind, kind);
    if (text) assert.equal(e.message, text);
    return true;
  });
}

test('every protocol error, with the Go server\'s texts', () => {
  rejects(new Uint8Array(0), ProtocolErrors.EMPTY_FRAME, 'protocol error: empty frame');
  rejects(new Uint8Array(11), ProtocolErrors.FRAME_TOO_LARGE, 'protocol error: frame too large: length 11 > max 10', { maxFrameSize: 10 });
  rejects(hex('04'), ProtocolErrors.UNKNOWN_KIND, 'protocol error: unknown frame kind: kind 0x4');
  rejects(hex('ff 00'), ProtocolErrors.UNKNOWN_KIND, 'protocol error: unknown frame kind: kind 0xff');
  rejects(encodeControl(Kind.PONG, new Uint8Array(126)).map((b, i) => (i === 0 ? Kind.PING : b)), ProtocolErrors.PING_TOO_LARGE, 'protocol error: ping payload too large: 126 > 125 bytes');
  rejects(hex('00 41'), ProtocolErrors.TOO_MANY_HEADERS, 'protocol error: too many headers: 65 > 64');
  rejects(hex('00 03 01 61 00'), ProtocolErrors.MALFORMED, 'protocol error: malformed message: header count 3 runs past the payload');
  rejects(hex('00 01 00 00'), ProtocolErrors.BAD_HEADER_NAME, 'protocol error: bad header name: name length 0 not in 1..255');
  rejects(hex('00 01 05 61 62'), ProtocolErrors.MALFORMED, 'protocol error: malformed message: header name runs past the payload');
  rejects(hex('00 01 01 61 05 62'), ProtocolErrors.MALFORMED, 'protocol error: malformed message: header value runs past the payload');
  rejects(hex('00 01 01 61 80 00'), ProtocolErrors.MALFORMED, 'protocol error: malformed message: header value length is not minimally encoded');
  rejects(hex('00 80'), ProtocolErrors.MALFORMED, 'protocol error: malformed message: header count runs past the payload');
  rejects(hex('00 01 03 61 62 63 00'), ProtocolErrors.BAD_HEADER_NAME, 'protocol error: bad header name: name length 3 not in 1..2', { maxHeaderName: 2 });
  rejects(hex('00 02 01 61 00 01 62 00'), ProtocolErrors.TOO_MANY_HEADERS, 'protocol error: too many headers: 2 > 1', { maxHeaders: 1 });
  // A PING of exactly 125 bytes and a CLOSE with any reason are fine.
  assert.equal(decodePayload(encodeControl(Kind.PING, new Uint8Array(125))).data.length, 125);
  assert.equal(DEFAULT_LIMITS.maxFrameSize, 1 << 20);
});

test('encoding refuses what no receiver accepts', () => {
  assert.throws(() => encodeMessage(new Message().addHeader('', 'v')), RangeError);
  assert.throws(() => encodeMessage(new Message().addHeader('x'.repeat(256))), RangeError);
  assert.doesNotThrow(() => encodeMessage(new Message().addHeader('x'.repeat(255))));
  assert.throws(() => encodeControl(Kind.PING, new Uint8Array(126)), RangeError);
});

test('headers keep order and duplicates; lookups return the first; names compare as bytes', () => {
  const m = new Message()
    .addHeader('a', '1').addHeader('b').addHeader('a', '2')
    .addHeader(new Uint8Array([0xff, 0x00]), new Uint8Array([1, 2, 3]))
    .addHeader('é', 'ü')
    .setBody(new Uint8Array([0, 1, 2, 255]));
  const d = decodePayload(encodeMessage(m)).message;
  assert.deepEqual([...d.headers()].map(([n, v]) => [n, Array.from(v)]), [
    ['a', [0x31]], ['b', []], ['a', [0x32]], ['\ufffd\u0000', [1, 2, 3]], ['é', [0xc3, 0xbc]],
  ]);
  assert.equal(d.headerText('a'), '1');
  assert.ok(d.hasHeader('b'));
  assert.ok(!d.hasHeader('B'));
  assert.equal(d.header('nope'), undefined);
  assert.equal(d.headerText('nope'), undefined);
  assert.deepEqual(Array.from(d.header(new Uint8Array([0xff, 0x00]))), [1, 2, 3]);
  assert.equal(d.headerText('é'), 'ü');
  assert.deepEqual(Array.from(d.body()), [0, 1, 2, 255]);
  assert.deepEqual(Array.from(d.headerAt(3)[0]), [0xff, 0x00]);
  assert.throws(() => d.headerAt(5), RangeError);
  // clone is deep: changing the source's bytes leaves it alone.
  const src = encodeMessage(m);
  const dec = decodePayload(src).message;
  const c = dec.clone();
  src.fill(0x7a);
  assert.equal(c.headerText('a'), '1');
  assert.deepEqual(Array.from(c.body()), [0, 1, 2, 255]);
});

test('round trip: every accepted payload re-encodes to the same bytes (random messages)', () => {
  let seed = 42;
  const rnd = (n) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  const bytes = (n) => Uint8Array.from({ length: n }, () => rnd(256));
  for (let i = 0; i < 500; i++) {
    const m = new Message();
    const hs = rnd(6);
    for (let h = 0; h < hs; h++) m.addHeader(bytes(1 + rnd(rnd(2) ? 10 : 255)), bytes(rnd(2) ? rnd(5) : rnd(400)));
    m.setBody(bytes(rnd(3) ? rnd(50) : rnd(20000)));
    const b = encodeMessage(m);
    const again = encodeMessage(decodePayload(b).message);
    assert.ok(again.length === b.length && again.every((x, j) => x === b[j]), `message ${i} re-encodes differently`);
  }
});

test('random bytes never crash the decoder: a payload or a ProtocolError', () => {
  let seed = 7;
  const rnd = (n) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  for (let i = 0; i < 5000; i++) {
    const b = Uint8Array.from({ length: rnd(24) }, () => (rnd(4) ? rnd(4) : rnd(256)));
    try {
      const p = decodePayload(b);
      if (p.kind === Kind.MESSAGE) assert.equal(toHex(encodeMessage(p.message)), toHex(b));
    } catch (e) {
      assert.ok(e instanceof ProtocolError, `${toHex(b)}: ${e}`);
    }
  }
});
