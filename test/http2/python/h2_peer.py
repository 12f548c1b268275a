"""Shared by the HTTP/2 peers: a blocking socket (TCP, or TLS with ALPN h2) driving an h2
connection, with every read bounded by a timeout, and DATA sent within the flow-control windows
(RFC 7540 §5.2) as the peer opens them.

Only Debian's python3-h2 and python3-wsproto are used: the frames, the HPACK and the WebSocket
framing on the wire are theirs, not ours.
"""
import json
import socket
import ssl
import sys
import threading

import h2.connection
import h2.events

TIMEOUT_S = 10


_EMIT = threading.Lock()


def emit(event, **fields):
    """One JSON line on stdout: what the test reads (whole lines, whichever thread writes)."""
    with _EMIT:
        print(json.dumps({"event": event, **fields}), flush=True)


def open_socket(host, port, cafile):
    """A TCP socket, wrapped in TLS with ALPN h2 when `cafile` is given."""
    raw = socket.create_connection((host, port), timeout=TIMEOUT_S)
    if not cafile:
        return raw
    context = ssl.create_default_context(cafile=cafile)
    context.set_alpn_protocols(["h2"])
    wrapped = context.wrap_socket(raw, server_hostname="localhost")
    if wrapped.selected_alpn_protocol() != "h2":
        raise RuntimeError("the server did not select h2 by ALPN")
    return wrapped


class Peer:
    """An h2 connection over a socket, with a send queue per stream held to the windows."""

    def __init__(self, sock, conn):
        self.sock = sock
        self.conn = conn
        self.pending = {}

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def send_data(self, stream_id, data, end_stream=False):
        """Queue `data` on the stream; it leaves as the windows allow (`pump`)."""
        queued = self.pending.setdefault(stream_id, [bytearray(), False])
        queued[0] += data
        queued[1] = queued[1] or end_stream
        self.pump()

    def pump(self):
        for stream_id in list(self.pending):
            buffer, end_stream = self.pending[stream_id]
            while buffer:
                window = min(self.conn.local_flow_control_window(stream_id), self.conn.max_outbound_frame_size)
                if window <= 0:
                    break
                chunk = bytes(buffer[:window])
                del buffer[:window]
                self.conn.send_data(stream_id, chunk)
            if not buffer:
                if end_stream:
                    self.conn.end_stream(stream_id)
                del self.pending[stream_id]
        self.flush()

    def events(self):
        """The h2 events of the next read (an empty list when the peer closed)."""
        data = self.sock.recv(65536)
        if not data:
            return None
        events = self.conn.receive_data(data)
        for event in events:
            if isinstance(event, h2.events.DataReceived):
                # Read is consumed: open the windows again (RFC 7540 §6.9).
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            if isinstance(event, h2.events.WindowUpdated):
                pass
        self.pump()
        return events


def headers_dict(headers):
    out = {}
    for name, value in headers:
        name = name.decode() if isinstance(name, bytes) else name
        value = value.decode() if isinstance(value, bytes) else value
        out.setdefault(name, []).append(value)
    return out


def fail(message):
    emit("failed", message=message)
    sys.exit(1)
