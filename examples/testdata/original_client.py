"""A stand-in for a client of the original Python SimpleServer library.

It is written from that library's wire format alone (see docs/PROTOCOL.md,
"The original library's format"), and behaves as its code does: a message is
"$", then "name:value|" per header, then "%", then the body; every message is
sent with one send(), and every recv(1024) is taken as one whole message.
Nothing here knows about the Go server. The examples' tests run it:

    python3 original_client.py handshake|echo|chat HOST PORT
"""
import select
import socket
import sys
import time

MESSAGE_PREFIX = "$"
HEADER_SEPARATOR = "|"
BODY_SEPARATOR = "%"


class Header:
    def __init__(self, name, value=""):
        self.name = name
        self.value = value

    def __str__(self):
        return self.name + ":" + self.value


class NetworkMessage:
    def __init__(self):
        self.headers = []
        self.body = ""

    def add_header(self, name, value=""):
        self.headers.append(Header(name, value))

    def has_header(self, name):
        return any(h.name == name for h in self.headers)

    def get_header(self, name):
        for h in self.headers:
            if h.name == name:
                return h
        return None

    def set_body(self, body):
        self.body = body

    def encode(self):
        text = MESSAGE_PREFIX
        for h in self.headers:
            text += str(h) + HEADER_SEPARATOR
        return (text + BODY_SEPARATOR + self.body).encode("utf-8")

    @staticmethod
    def decode(data):
        # As the original: drop the first character, body between the first
        # and second "%", headers split at "|" and then at ":".
        message = NetworkMessage()
        split = data.decode("utf-8")[1:].split(BODY_SEPARATOR)
        for piece in split[0].split(HEADER_SEPARATOR):
            if piece == "":
                continue
            parts = piece.split(":")
            message.add_header(parts[0], parts[1])
        message.set_body(split[1])
        return message


class SimpleClient:
    def __init__(self):
        self.sock = None

    def connect(self, host, port):
        try:
            self.sock = socket.create_connection((host, port), timeout=5)
            return True, "connected"
        except OSError as e:
            return False, str(e)

    def send(self, message):
        # A NetworkMessage, or raw text: the server makes the latter a
        # headerless message.
        data = message.encode() if isinstance(message, NetworkMessage) else message.encode("utf-8")
        self.sock.send(data)

    def read(self):
        ready, _, _ = select.select([self.sock], [], [], 0)
        if not ready:
            return None
        data = self.sock.recv(1024)
        if not data:
            raise ConnectionError("server closed the connection")
        return NetworkMessage.decode(data)


def wait_read(client, timeout=10):
    """The original's polling loop, bounded: the next message."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        message = client.read()
        if message:
            return message
        time.sleep(0.001)
    raise TimeoutError("no message within %ss" % timeout)


def check(cond, what):
    if not cond:
        print("FAIL:", what, flush=True)
        sys.exit(1)


def handshake(client):
    # The seed README's client example.
    message = NetworkMessage()
    message.add_header("handshake")
    message.set_body("Hello server!")
    client.send(message)
    while True:
        message = wait_read(client)
        if message.has_header("handshake"):
            print("Server handshake received:", message.get_header("handshake").value, message.body, flush=True)
            return


def echo(client):
    client.send("hello raw")
    m = wait_read(client)
    check(m.body == "hello raw" and not m.headers, "raw text echo: %r" % m.body)
    for i in range(20):  # lock-step, headers, UTF-8, up to ~900 bytes
        m = NetworkMessage()
        m.add_header("seq", str(i))
        m.add_header("flag")
        m.set_body("Grüße 世界 " + "x" * (45 * i))
        client.send(m)
        got = wait_read(client)
        check(got.get_header("seq").value == str(i) and got.has_header("flag"), "headers of %d" % i)
        check(got.body == m.body, "body of %d" % i)
    client.send(NetworkMessage())
    m = wait_read(client)
    check(m.body == "" and not m.headers, "empty message")
    print("echo ok", flush=True)


def chat(client):
    client.send("$handshake:|%hello from python")  # raw text in the format
    print("joined", flush=True)
    while True:
        m = wait_read(client)
        if m.get_header("from").value != "server":
            break
    print("from=%s body=%s" % (m.get_header("from").value, m.body), flush=True)
    reply = NetworkMessage()
    reply.set_body("bye from python")
    client.send(reply)
    print("chat ok", flush=True)


if __name__ == "__main__":
    scenario, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    client = SimpleClient()
    ok, why = client.connect(host, port)
    if not ok:
        print("Connection failed:", why, flush=True)
        sys.exit(1)
    {"handshake": handshake, "echo": echo, "chat": chat}[scenario](client)
