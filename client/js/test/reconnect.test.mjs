// The opt-in reconnect against an in-memory WebSocket: the test plays the
// server, cuts the connection and checks what the client sends, delivers
// and reports. (TestNodeResumeUnderFaults runs it against the real server
// through a proxy that cuts the connection.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  connect, Message, CloseError, State, QueueFullError, SessionKind, Kind,
  encodeRaw, encodeWelcome, encodeAck, encodeControl, decodeHello, decodeAck, decodePayload,
  backoff, reconnectPolicy, retryable, Outbox,
} from '../simpleserver.js';
import { FakeWS } from './fakews.mjs';

const tokA = new Uint8Array(16).fill(0xa);
const tokB = new Uint8Array(16).fill(0xb);
const fast = { minDelay: 1, maxDelay: 2 };
/** Lets the client's promise chains run (a state change follows the WELCOME by a few microtasks). */
const tick = () => new Promise((r) => setTimeout(r, 0));

/** Waits until FakeWS has made more than n sockets (the client's next attempt). */
async function nextSocket(n) {
  for (let i = 0; i < 500 && FakeWS.all.length <= n; i++) await new Promise((r) => setTimeout(r, 2));
  assert.ok(FakeWS.all.length > n, 'the client did not reconnect');
  return FakeWS.all[FakeWS.all.length - 1];
}

/** The kinds of what the client sent on ws, and the bodies of its MESSAGEs. */
const kinds = (ws) => ws.sent.map((b) => b[0]);
const bodies = (ws) => ws.sent.filter((b) => b[0] === Kind.MESSAGE).map((b) => decodePayload(b).message.bodyText());

/** Connects with reconnect and answers the HELLO with a new session. */
async function session(opts = {}) {
  const states = [];
  const p = connect('ws://127.0.0.1:1/ws', { WebSocket: FakeWS, keepAliveInterval: false, reconnect: { ...fast, ...opts.reconnect }, ...opts.client });
  const ws = FakeWS.last;
  ws.open();
  assert.deepEqual(kinds(ws), [SessionKind.HELLO], 'HELLO is the first frame, and alone');
  assert.deepEqual(decodeHello(ws.sent[0]), { token: new Uint8Array(0), received: 0 });
  ws.deliver(encodeWelcome({ token: tokA, graceMs: 10_000 }));
  const client = await p;
  client.on('state', (s) => states.push(s));
  assert.equal(client.state, State.CONNECTED);
  assert.deepEqual(Array.from(ws.sent[1]), [SessionKind.ACK, 0], 'the ACK that confirms the WELCOME');
  return { client, ws, states };
}

test('backoff doubles from minDelay up to maxDelay, drawn from [d/2, d]', () => {
  const p = reconnectPolicy({ minDelay: 100, maxDelay: 1000 });
  assert.equal(backoff(p, 1, () => 0), 50);
  assert.ok(backoff(p, 1, () => 0.999999) > 99.99 && backoff(p, 1, () => 0.999999) < 100);
  assert.equal(backoff(p, 3, () => 0), 200);
  assert.equal(backoff(p, 30, () => 0), 500);
  assert.ok(backoff(p, 30, () => 0.999999) <= 1000);
  assert.deepEqual(reconnectPolicy(true), { minDelay: 100, maxDelay: 5000, maxAttempts: 0, queueBytes: 1 << 20, noSession: false });
  assert.throws(() => reconnectPolicy({ minDelay: 10, maxDelay: 5 }), /maxDelay 5 < minDelay 10/);
  assert.throws(() => reconnectPolicy({ queueBytes: -1 }), /queueBytes must be a number >= 0/);
});

test('which ends are worth a reconnect', () => {
  assert.ok(retryable(1006, '', false));
  assert.ok(retryable(1001, 'server shutting down', false));
  assert.ok(retryable(1013, 'server full', false));
  assert.ok(retryable(1000, 'session: unknown or expired token', false));
  assert.ok(retryable(1008, 'idle timeout', false));
  assert.ok(retryable(4001, 'keep-alive timeout', true));
  assert.ok(!retryable(4000, 'kicked: cheating', false));
  assert.ok(!retryable(1002, 'protocol error: malformed message', false));
  assert.ok(!retryable(1008, 'slow consumer', false));
  assert.ok(!retryable(1000, 'client closed', true));
});

test('Outbox: bounded, confirms what the server counts, keeps the unwritten on a new session', () => {
  const o = new Outbox(10);
  o.push(new Uint8Array(4));
  o.push(new Uint8Array(4));
  assert.throws(() => o.push(new Uint8Array(3)), QueueFullError);
  o.written = 1;
  assert.equal(o.confirm(3), false);
  assert.equal(o.confirm(1), true);
  assert.equal(o.length, 1);
  assert.equal(o.written, 0);
  o.push(new Uint8Array(2));
  o.written = 1;
  o.restart();
  assert.equal(o.length, 1);
  assert.equal(o.at(0).length, 2);
  assert.equal(o.acked, 0);
});

test('a lost connection resumes: replay without duplicates, resend of what the server lacks, in order', async () => {
  const { client, ws, states } = await session();
  client.sendRaw('c1');
  client.sendRaw('c2');
  client.sendRaw('c3');
  assert.deepEqual(bodies(ws), ['c1', 'c2', 'c3']);
  ws.deliver(encodeRaw('s1'));
  ws.deliver(encodeRaw('s2'));
  const n = FakeWS.all.length;
  ws.end(1006, '', false);
  assert.equal(client.state, State.RECONNECTING);
  assert.equal(states[0].state, State.RECONNECTING);
  assert.equal(states[0].error.code, 1006);
  assert.equal(client.connected, false);
  assert.equal(client.err(), null);
  client.sendRaw('c4'); // offline: queued
  assert.deepEqual(bodies(ws), ['c1', 'c2', 'c3']);
  await assert.rejects(client.ping(), /offline/);

  const ws2 = await nextSocket(n);
  ws2.open();
  assert.deepEqual(kinds(ws2), [SessionKind.HELLO]);
  assert.deepEqual(decodeHello(ws2.sent[0]), { token: tokA, received: 2 });
  // The server has c1 only: the client resends c2, c3 and the queued c4.
  ws2.deliver(encodeWelcome({ flags: 1, token: tokB, received: 1, graceMs: 10_000 }));
  assert.deepEqual(Array.from(ws2.sent[1]), [SessionKind.ACK, 2]);
  assert.deepEqual(bodies(ws2), ['c2', 'c3', 'c4']);
  ws2.deliver(encodeRaw('s3')); // the replay starts after the client's count
  await tick();
  assert.equal(client.state, State.RESUMED);
  assert.deepEqual(states.map((s) => s.state), [State.RECONNECTING, State.RESUMED]);
  assert.deepEqual([client.read(), client.read(), client.read()].map((m) => m.bodyText()), ['s1', 's2', 's3']);
  client.sendRaw('c5');
  assert.deepEqual(bodies(ws2), ['c2', 'c3', 'c4', 'c5']);

  // The server's ACK forgets what it confirms: the next resume resends only the rest.
  ws2.deliver(encodeAck(4));
  ws2.end(1006, '', false);
  const ws3 = await nextSocket(n + 1);
  ws3.open();
  assert.deepEqual(decodeHello(ws3.sent[0]), { token: tokB, received: 3 });
  ws3.deliver(encodeWelcome({ flags: 1, token: tokA, received: 4, graceMs: 10_000 }));
  assert.deepEqual(bodies(ws3), ['c5']);
  client.close();
});

test('an ACK outside what was sent is a protocol error (4002)', async () => {
  const { client, ws } = await session();
  client.sendRaw('c1');
  ws.deliver(encodeAck(2));
  const e = await client.closed;
  assert.equal(e.code, 4002);
  assert.match(e.reason, /ACK 2 outside 0\.\.1/);
});

test('the client ACKs every 32 messages', async () => {
  const { ws } = await session();
  for (let i = 1; i <= 64; i++) ws.deliver(encodeRaw('s' + i));
  const acks = ws.sent.filter((b) => b[0] === SessionKind.ACK).map((b) => decodeAck(b));
  assert.deepEqual(acks, [0, 32, 64]);
});

test('a refused token: the client asks at once for a new session and says so', async () => {
  const { client, ws, states } = await session();
  client.sendRaw('c1');
  ws.deliver(encodeRaw('s1'));
  const n = FakeWS.all.length;
  ws.end(1006, '', false);
  const ws2 = await nextSocket(n);
  ws2.open();
  ws2.end(1000, 'session: unknown or expired token');
  const ws3 = await nextSocket(n + 1); // at once, no backoff attempt counted
  ws3.open();
  assert.deepEqual(decodeHello(ws3.sent[0]), { token: new Uint8Array(0), received: 0 });
  ws3.deliver(encodeWelcome({ token: tokB, graceMs: 10_000 }));
  assert.deepEqual(Array.from(ws3.sent[1]), [SessionKind.ACK, 0]);
  assert.deepEqual(bodies(ws3), [], 'c1 was written on the old connection: its fate is unknown, it is not resent');
  await tick();
  assert.deepEqual(states.map((s) => [s.state, s.attempt]), [[State.RECONNECTING, 0], [State.NEW_SESSION, 0]]);
  assert.equal(client.read().bodyText(), 's1');
});

test('a version 1 server refuses HELLO: the client goes on without sessions', async () => {
  const p = connect('ws://127.0.0.1:1/ws', { WebSocket: FakeWS, keepAliveInterval: false, reconnect: fast });
  const n = FakeWS.all.length;
  FakeWS.last.open();
  FakeWS.last.end(1002, 'protocol error: unknown frame kind: kind 0x4');
  const ws = await nextSocket(n);
  ws.open();
  const client = await p;
  assert.equal(client.state, State.CONNECTED);
  client.sendRaw('x');
  assert.deepEqual(kinds(ws), [Kind.MESSAGE]);
});

test('a server without sessions: WELCOME with an empty token, and every reconnect is a new session', async () => {
  const states = [];
  const p = connect('ws://127.0.0.1:1/ws', { WebSocket: FakeWS, keepAliveInterval: false, reconnect: fast });
  const ws = FakeWS.last;
  ws.open();
  ws.deliver(encodeRaw('early')); // such a server may speak before WELCOME
  ws.deliver(encodeWelcome({}));
  const client = await p;
  client.on('state', (s) => states.push(s.state));
  assert.deepEqual(kinds(ws), [SessionKind.HELLO], 'no ACK without a session');
  assert.equal(client.read().bodyText(), 'early');
  client.sendRaw('a');
  const n = FakeWS.all.length;
  ws.end(1006, '', false);
  client.sendRaw('b'); // offline: sent on the new connection
  const ws2 = await nextSocket(n);
  ws2.open();
  ws2.deliver(encodeWelcome({}));
  assert.deepEqual(bodies(ws2), ['b']);
  await tick();
  assert.deepEqual(states, [State.RECONNECTING, State.NEW_SESSION]);
});

test('noSession: no HELLO at all', async () => {
  const p = connect('ws://127.0.0.1:1/ws', { WebSocket: FakeWS, keepAliveInterval: false, reconnect: { noSession: true } });
  FakeWS.last.open();
  const client = await p;
  client.sendRaw('x');
  assert.deepEqual(kinds(FakeWS.last), [Kind.MESSAGE]);
});

test('sends while offline are bounded: past queueBytes send throws QueueFullError and queues nothing', async () => {
  const { client, ws } = await session({ reconnect: { queueBytes: 10, minDelay: 10_000, maxDelay: 10_000 } });
  ws.end(1006, '', false);
  client.sendRaw('1234'); // 6 bytes of payload
  assert.throws(() => client.sendRaw('12345'), (e) => e instanceof QueueFullError && /queue full: 6 bytes kept, 7 more would pass 10/.test(e.message));
  client.sendRaw('12'); // still fits: the refusal harmed nothing
  await client.close();
});

test('maxAttempts: the client gives up, reports it and ends', async () => {
  const { client, ws, states } = await session({ reconnect: { maxAttempts: 2 } });
  let n = FakeWS.all.length;
  ws.end(1006, '', false);
  for (let i = 0; i < 2; i++) {
    const w = await nextSocket(n++);
    w.end(1006, '', false); // the attempt fails
  }
  const e = await client.closed;
  assert.match(e.reason, /gave up after 2 attempts/);
  assert.equal(client.state, State.GAVE_UP);
  assert.deepEqual(states.map((s) => [s.state, s.attempt]), [[State.RECONNECTING, 0], [State.RECONNECTING, 1], [State.GAVE_UP, 2]]);
  await assert.rejects(client.receive(), CloseError);
  assert.throws(() => client.sendRaw('x'), CloseError);
});

test('close() while reconnecting ends at once; a kick is not retried', async () => {
  const a = await session({ reconnect: { minDelay: 10_000, maxDelay: 10_000 } });
  a.ws.end(1006, '', false);
  const e = await a.client.close('bye');
  assert.ok(e.byClient);
  assert.equal(a.client.state, State.CLOSED);
  const b = await session();
  const n = FakeWS.all.length;
  b.ws.end(4000, 'kicked: cheating');
  assert.equal((await b.client.closed).code, 4000);
  assert.equal(FakeWS.all.length, n);
});

test('keep-alive timeout in a session: dropped with 4001 (the server keeps the session), then resumed', async () => {
  const { client, ws, states } = await session({ client: { keepAliveInterval: 20, keepAliveTimeout: 20 } });
  const n = FakeWS.all.length;
  const keep = setInterval(() => {}, 1000);
  try {
    const ws2 = await nextSocket(n);
    assert.equal(ws.closes[0][0], 4001);
    assert.equal(states[0].error.code, 4001);
    ws2.open();
    assert.deepEqual(decodeHello(ws2.sent[0]), { token: tokA, received: 0 });
    ws2.deliver(encodeWelcome({ flags: 1, token: tokB, received: 0, graceMs: 1000 }));
    await tick();
    assert.equal(client.state, State.RESUMED);
    client.close();
  } finally {
    clearInterval(keep);
  }
});

test('a PING during the greeting is answered; the first connect failing rejects', async () => {
  const p = connect('ws://127.0.0.1:1/ws', { WebSocket: FakeWS, keepAliveInterval: false, reconnect: fast });
  FakeWS.last.open();
  FakeWS.last.deliver(encodeControl(Kind.PING, 'x'));
  assert.equal(FakeWS.last.sent[1][0], Kind.PONG);
  FakeWS.last.end(1006, '', false);
  await assert.rejects(p, (e) => e instanceof CloseError && e.code === 1006);
  void Message;
});
