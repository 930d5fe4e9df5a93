// Run by the Go test TestNodeResumeUnderFaults: node resume-e2e.mjs URL N MS MODE.
// Once connected it sends "online", and the test starts cutting.
// A reconnecting client (MODE "sessions": asks for a session; "plain": the
// server keeps none) sends c1..cN paced over MS milliseconds and takes
// s1..sN from the server, through a proxy that the test cuts again and
// again. Once done (sN received with sessions; its own sends made without)
// it sends "fin" every 100 ms until the server answers "end", then prints
// what it saw as one JSON line and closes.
import { connect, QueueFullError } from '../simpleserver.js';

const [url, nArg, msArg, mode] = process.argv.slice(2);
const n = Number(nArg);
const sessions = mode === 'sessions';
const out = { states: [], got: 0, last: 0, errs: [], queueFull: 0, pings: 0 };

const client = await connect(url, { reconnect: { minDelay: 5, maxDelay: 100 }, connectTimeout: 2000, keepAliveInterval: 500, keepAliveTimeout: 500 });
client.on('state', (s) => out.states.push({ state: s.state, attempt: s.attempt, code: s.error?.code ?? 0, reason: s.error?.reason ?? '' }));

let resolveEnd;
const ended = new Promise((r) => (resolveEnd = r));
let finTimer = null;
const startFin = () => {
  if (finTimer) return;
  const fin = () => {
    try {
      client.sendRaw('fin');
    } catch (e) {
      if (!(e instanceof QueueFullError)) throw e;
    }
  };
  fin();
  finTimer = setInterval(fin, 100);
};

const take = (m) => {
  const body = m.bodyText();
  if (body === 'end') {
    resolveEnd();
    return;
  }
  const k = Number(body.slice(1));
  if (body[0] !== 's' || !Number.isInteger(k)) {
    out.errs.push('bad message ' + body);
  } else if (!(k === out.last + 1 || (!sessions && k > out.last))) {
    if (out.errs.length < 10) out.errs.push(`got s${k} after s${out.last}`);
  }
  out.got++;
  out.last = Math.max(out.last, k);
  if (sessions && out.last === n) startFin();
};
// Messages that came with the WELCOME, before connect() resolved, wait in
// the queue: read them first, then take the rest as they come.
for (let m; (m = client.read()); ) take(m);
client.onmessage = take;
client.sendRaw('online'); // the test starts cutting once the server has this

// Send c1..cN: a batch every 5 ms, so as to finish in about MS.
let next = 1;
const batch = Math.max(1, Math.ceil(n / (Number(msArg) / 5)));
await new Promise((resolve) => {
  const t = setInterval(() => {
    for (let i = 0; i < batch && next <= n; i++) {
      try {
        client.sendRaw('c' + next);
        next++;
      } catch (e) {
        if (!(e instanceof QueueFullError)) throw e;
        out.queueFull++; // offline and full: try again on the next tick
        break;
      }
    }
    if (next > n) {
      clearInterval(t);
      resolve();
    }
  }, 5);
});
if (!sessions) startFin();
await ended;
clearInterval(finTimer);
out.finalState = client.state;
console.log(JSON.stringify(out));
await client.close('done');
