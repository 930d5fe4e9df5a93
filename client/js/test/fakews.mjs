// A WebSocket stand-in for the unit tests: records what the client does;
// the test plays the server. Every instance is kept in FakeWS.all.
import { SUBPROTOCOL, decodePayload } from '../simpleserver.js';

export class FakeWS {
  static last = null;
  static all = [];
  constructor(url, protocols) {
    FakeWS.last = this;
    FakeWS.all.push(this);
    this.url = url;
    this.protocols = protocols;
    this.readyState = 0;
    this.protocol = '';
    this.binaryType = 'blob';
    this.bufferedAmount = 0;
    this.sent = [];
    this.closes = [];
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
  }
  send(data) {
    if (this.readyState !== 1) throw new Error('InvalidStateError');
    this.sent.push(new Uint8Array(data.buffer ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) : data));
  }
  close(code, reason) {
    if (code !== undefined && code !== 1000 && (code < 3000 || code > 4999)) throw new Error('InvalidAccessError: code ' + code);
    this.closes.push([code, reason]);
    if (this.readyState < 2) this.readyState = 2;
  }
  // the server's side
  open(protocol = SUBPROTOCOL) { this.readyState = 1; this.protocol = protocol; this.onopen?.({}); }
  deliver(payload) {
    const ab = typeof payload === 'string' ? payload : payload.buffer.slice(payload.byteOffset, payload.byteOffset + payload.byteLength);
    this.onmessage?.({ data: ab });
  }
  end(code, reason = '', wasClean = true) { this.readyState = 3; this.onclose?.({ code, reason, wasClean }); }
  /** the decoded payloads the client sent */
  payloads() { return this.sent.map((b) => decodePayload(b)); }
}

