// SimpleClient tests against an in-memory WebSocket, so they need no server
// and no network: what the client puts on the wire, what it does with what
// arrives, and how each kind of end is reported. (The Go test
// TestJSClientAgainstServer runs the same client against the real server.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  connect, SimpleClient, Message, CloseError, CloseCode, Kind, SUBPROTOCOL, ProtocolError,
  encodeMessage, encodeControl, encodeRaw, decodePayload, truncateUTF8,
} from '../simpleserver.js';
import { FakeWS } from './fakews.mjs';

/** Keeps the event loop alive while fn runs: the client's own timers are unref'd. */
async function alive(fn) {
  const keep = setInterval(() => {}, 1000);
  try {
    return await fn();
  } finally {
    clearInterval(keep);
  }
}

async function open(opts = {}) {
  const p = connect('ws://127.0.0.1:1/ws', { WebSocket: FakeWS, keepAliveInterval: false, ...opts });
  const ws = FakeWS.last;
  ws.open();
  return { client: await p, ws };
}

test('connect offers simpleserver.v1, asks for ArrayBuffers and maps http: to ws:', async () => {
  const p = connect('http://localhost:8080/ws', { WebSocket: FakeWS });
  const ws = FakeWS.last;
  assert.equal(ws.url, 'ws://localhost:8080/ws');
  assert.deepEqual(ws.protocols, ['simpleserver.v1']);
  assert.equal(ws.binaryType, 'arraybuffer');
  ws.open();
  const c = await p;
  assert.equal(c.protocol, 'simpleserver.v1');
  assert.ok(c.connected);
  c.close();
  assert.throws(() => new SimpleClient({ WebSocket: FakeWS }).sendRaw('x'), /not connected/);
});

test('a failed connection rejects with the close code; without WebSocket it says what to do', async () => {
  const p = connect('ws://127.0.0.1:1/ws', { WebSocket: FakeWS });
  FakeWS.last.end(1006, '', false);
  await assert.rejects(p, (e) => e instanceof CloseError && e.code === 1006 && /connection lost/.test(e.message));
  await assert.rejects(connect('ws://x/', { WebSocket: null }), /pass \{WebSocket\}/);
  await assert.rejects(connect('ftp://x/', { WebSocket: FakeWS }), TypeError);
});

test('connect times out', async () => {
  const p = connect('ws://127.0.0.1:1/ws', { WebSocket: FakeWS, connectTimeout: 20 });
  await assert.rejects(p, (e) => e instanceof CloseError && e.reason === 'connect timeout');
});

test('send and sendRaw put one protocol v1 payload in each binary message', async () => {
  const { client, ws } = await open();
  client.send(new Message().addHeader('handshake').setBody('Hello server!'));
  client.sendRaw('abc');
  client.sendRaw(new Uint8Array([1, 2]));
  assert.deepEqual(Array.from(ws.sent[0]), Array.from(encodeMessage(new Message().addHeader('handshake').setBody('Hello server!'))));
  assert.deepEqual(Array.from(ws.sent[1]), [0, 0, 0x61, 0x62, 0x63]);
  assert.deepEqual(Array.from(ws.sent[2]), [0, 0, 1, 2]);
  // An invalid message is refused and leaves the connection usable.
  assert.throws(() => client.send(new Message().addHeader('')), RangeError);
  assert.throws(() => client.send('text'), TypeError);
  client.sendRaw('still here');
  assert.equal(ws.sent.length, 4);
});

test('read never blocks; receive waits; messages keep their order', async () => {
  const { client, ws } = await open();
  assert.equal(client.read(), null);
  const waiting = client.receive();
  ws.deliver(encodeMessage(new Message().addHeader('n', '1')));
  assert.equal((await waiting).headerText('n'), '1');
  for (let i = 2; i <= 4; i++) ws.deliver(encodeMessage(new Message().addHeader('n', String(i))));
  ws.deliver('plain text'); // a text message is a headerless MESSAGE
  assert.equal(client.read().headerText('n'), '2');
  assert.equal((await client.receive()).headerText('n'), '3');
  assert.equal(client.read().headerText('n'), '4');
  const t = client.read();
  assert.equal(t.numHeaders, 0);
  assert.equal(t.bodyText(), 'plain text');
  assert.equal(client.read(), null);
  const ac = new AbortController();
  const r = client.receive({ signal: ac.signal });
  ac.abort(new Error('gave up'));
  await assert.rejects(r, /gave up/);
});

test('onmessage and on("message") take messages instead of the queue', async () => {
  const { client, ws } = await open();
  const got = [];
  client.onmessage = (m) => got.push('prop:' + m.bodyText());
  const h = (m) => got.push('on:' + m.bodyText());
  client.on('message', h);
  ws.deliver(encodeRaw('a'));
  client.onmessage = null;
  ws.deliver(encodeRaw('b'));
  client.off('message', h);
  ws.deliver(encodeRaw('c'));
  assert.deepEqual(got, ['prop:a', 'on:a', 'on:b']);
  assert.equal(client.read().bodyText(), 'c');
});

test('a PING from the server is answered with a PONG carrying its data', async () => {
  const { ws } = await open();
  ws.deliver(encodeControl(Kind.PING, 't=42'));
  assert.deepEqual(Array.from(ws.sent.at(-1)), [0x02, 0x74, 0x3d, 0x34, 0x32]);
  ws.deliver(encodeControl(Kind.PONG, 'unsolicited')); // ignored
  assert.equal(ws.sent.length, 1);
});

test('ping() resolves with the round trip when its PONG comes back', async () => {
  const { client, ws } = await open();
  const p1 = client.ping();
  const p2 = client.ping();
  const [a, b] = ws.payloads();
  assert.equal(a.kind, Kind.PING);
  assert.equal(a.data.length, 9);
  assert.equal(a.data[0], 0x70);
  ws.deliver(encodeControl(Kind.PONG, b.data)); // answers out of order are matched by sequence number
  ws.deliver(encodeControl(Kind.PONG, a.data));
  const [r1, r2] = await Promise.all([p1, p2]);
  assert.ok(r1 >= 0 && r2 >= 0);
  const p3 = client.ping();
  ws.end(1001, 'server shutting down');
  await assert.rejects(p3, (e) => e.code === 1001);
});

test('the server closing: the reason after the messages sent before it', async () => {
  const { client, ws } = await open();
  let closed = null;
  client.onclose = (e) => (closed = e);
  ws.deliver(encodeRaw('last words'));
  const pending = client.receive().then(() => client.receive());
  ws.end(4000, 'kicked: cheating');
  await assert.rejects(pending, (e) => e instanceof CloseError && e.code === 4000 && e.reason === 'kicked: cheating' && !e.byClient);
  assert.equal(closed.reason, 'kicked: cheating');
  assert.equal((await client.closed).code, 4000);
  assert.equal(client.err().code, 4000);
  assert.throws(() => client.sendRaw('x'), CloseError);
  assert.equal(client.read(), null);
});

test('err() stays null until every message received before the end is read', async () => {
  const { client, ws } = await open();
  ws.deliver(encodeRaw('1'));
  ws.end(1001, 'server shutting down');
  assert.equal(client.err(), null);
  assert.equal(client.read().bodyText(), '1');
  assert.equal(client.err().reason, 'server shutting down');
  assert.match(client.err().message, /server closed the connection: server shutting down \(code 1001\)/);
});

test('a protocol v1 CLOSE inside a binary message ends the connection with its reason', async () => {
  const { client, ws } = await open();
  ws.deliver(encodeControl(Kind.CLOSE, 'bye'));
  const e = await client.closed;
  assert.equal(e.reason, 'bye');
  assert.ok(ws.closes.length >= 1);
});

test('close() sends code 1000 and the reason, cut to 123 bytes at a character boundary', async () => {
  const { client, ws } = await open();
  const long = 'é'.repeat(100); // 200 bytes
  const done = client.close(long);
  assert.equal(ws.closes.length, 1);
  assert.equal(ws.closes[0][0], 1000);
  assert.equal(new TextEncoder().encode(ws.closes[0][1]).length, 122);
  assert.equal(ws.closes[0][1], 'é'.repeat(61));
  assert.throws(() => client.sendRaw('x'), CloseError);
  ws.end(1000, ws.closes[0][1]);
  const e = await done;
  assert.ok(e.byClient);
  assert.equal(e.code, 1000);
  assert.equal(await client.close(), e); // again: the same result
  assert.equal(truncateUTF8('abc', 2), 'ab');
  assert.equal(truncateUTF8('a€', 3), 'a');
});

test('bytes that break the protocol close the connection with 4002 and the error', async () => {
  const { client, ws } = await open();
  ws.deliver(new Uint8Array([0x07, 1, 2]));
  const e = await client.closed;
  assert.equal(e.code, CloseCode.CLIENT_PROTOCOL_ERROR);
  assert.ok(e.cause instanceof ProtocolError);
  assert.deepEqual(ws.closes[0], [4002, 'protocol error: unknown frame kind: kind 0x7']);
  ws.end(4002, 'protocol error: unknown frame kind: kind 0x7'); // the late close event changes nothing
  assert.equal(client.err().code, 4002);
});

test('a full receive queue closes with 4008 rather than growing without bound', async () => {
  const { client, ws } = await open({ queueSize: 3 });
  for (let i = 0; i < 4; i++) ws.deliver(encodeRaw(String(i)));
  const e = await client.closed;
  assert.equal(e.code, CloseCode.QUEUE_FULL);
  assert.equal(ws.closes[0][0], 4008);
  assert.deepEqual([client.read(), client.read(), client.read()].map((m) => m.bodyText()), ['0', '1', '2']);
  assert.equal(client.read(), null);
});

test('keep-alive: a silent server gets a PING, then the client gives up', async () => {
  const { client, ws } = await open({ keepAliveInterval: 30, keepAliveTimeout: 30 });
  const e = await alive(() => client.closed);
  const pings = ws.payloads().filter((p) => p.kind === Kind.PING);
  assert.equal(pings.length, 1);
  assert.equal(e.code, CloseCode.KEEPALIVE_TIMEOUT);
  assert.equal(e.reason, 'keep-alive timeout');
});

test('keep-alive: an answer keeps the connection up', async () => {
  const { client, ws } = await open({ keepAliveInterval: 30, keepAliveTimeout: 200 });
  // Answer every PING the client sends, until it has sent three.
  await alive(() => new Promise((resolve) => {
    const orig = ws.send.bind(ws);
    let n = 0;
    ws.send = (d) => {
      orig(d);
      if (decodePayload(new Uint8Array(d)).kind === Kind.PING && ++n <= 3) {
        setTimeout(() => ws.deliver(encodeControl(Kind.PONG, new Uint8Array(0))), 5);
        if (n === 3) resolve();
      }
    };
  }));
  assert.ok(client.connected);
  client.close();
  ws.end(1000, 'client closed');
  assert.equal((await client.closed).code, 1000);
});
