// Run by the Go test TestNodeAgainstServer against a real SimpleServer with
// WebSocket on: node e2e.mjs ws://127.0.0.1:PORT/ws. The server echoes
// every message, kicks on a "kick" header; this script prints what it saw
// as one JSON line for the Go side to check.
import { connect, Message, CloseError } from '../simpleserver.js';

const url = process.argv[2];
const text = (b) => new TextDecoder().decode(b);
const out = {};

const c = await connect(url);
out.protocol = c.protocol;

c.send(new Message().addHeader('handshake').addHeader('k', 'v').addHeader('k', 'second').setBody('Hello server!'));
const m = await c.receive();
out.echo = { headers: [...m.headers()].map(([n, v]) => [n, text(v)]), body: m.bodyText(), k: m.headerText('k') };

c.sendRaw('raw text');
const r = await c.receive();
out.raw = { headers: r.numHeaders, body: r.bodyText() };

const big = new Uint8Array(200_000).map((_, i) => i % 251);
c.sendRaw(big);
const b = await c.receive();
out.big = { size: b.body().length, same: b.body().every((x, i) => x === big[i]) };

out.rtt = await c.ping();
out.readEmpty = c.read() === null;

c.send(new Message().addHeader('kick'));
const e = await c.closed;
out.kicked = { code: e.code, reason: e.reason, byClient: e.byClient, isCloseError: e instanceof CloseError };
out.errAfter = c.err()?.code;

// A second connection leaves by itself, with a reason the server logs.
const d = await connect(url);
d.sendRaw('leaving');
await d.receive();
const de = await d.close('js says bye');
out.left = { code: de.code, byClient: de.byClient };

console.log(JSON.stringify(out));
