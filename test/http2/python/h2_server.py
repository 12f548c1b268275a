"""An RFC 8441 server made of Debian's h2 and wsproto, for our client.

    h2_server.py [CERTFILE KEYFILE]

Listens on 127.0.0.1 (TLS with ALPN h2 when given a certificate), prints {"event": "listening",
"port": N}, and for each extended CONNECT prints {"event": "request", "headers": …} and answers
200 (selecting the subprotocol "chat" when offered). Then, on the stream, by path:
  /echo   echoes every message and answers pings (wsproto); the closing handshake ends the
          stream with END_STREAM;
  /close  sends a close frame (4000, "python") after the first message;
  /reset  resets the stream (RST_STREAM CANCEL) after the first message.
Every connection has its own thread; the process runs until it is killed.
"""
import socket
import ssl
import sys
import threading

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Message, Ping, TextMessage
from wsproto.utilities import LocalProtocolError

from h2_peer import Peer, emit, headers_dict

CERT = sys.argv[1:3] if len(sys.argv) >= 3 else None


def serve(sock):
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    conn.local_settings = h2.settings.Settings(client=False, initial_values={
        h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL: 1,
        h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 100,
    })
    conn.initiate_connection()
    peer = Peer(sock, conn)
    peer.flush()
    streams = {}
    while True:
        try:
            events = peer.events()
        except (OSError, ssl.SSLError):
            return
        if events is None:
            return
        for event in events:
            if isinstance(event, h2.events.RequestReceived):
                headers = headers_dict(event.headers)
                emit("request", stream=event.stream_id, headers=headers)
                if headers.get(":method") != ["CONNECT"] or headers.get(":protocol") != ["websocket"]:
                    conn.send_headers(event.stream_id, [(":status", "400")], end_stream=True)
                    continue
                response = [(":status", "200")]
                offered = [p.strip() for value in headers.get("sec-websocket-protocol", []) for p in value.split(",")]
                if "chat" in offered:
                    response.append(("sec-websocket-protocol", "chat"))
                conn.send_headers(event.stream_id, response)
                streams[event.stream_id] = {"ws": Connection(ConnectionType.SERVER), "path": headers[":path"][0], "partial": None}
            elif isinstance(event, h2.events.DataReceived) and event.stream_id in streams:
                state = streams[event.stream_id]
                ws = state["ws"]
                if not event.data:
                    continue  # an empty DATA frame carrying END_STREAM
                ws.receive_data(event.data)
                for ws_event in ws.events():
                    if isinstance(ws_event, (TextMessage, BytesMessage)):
                        state["partial"] = (state["partial"] or (b"" if isinstance(ws_event, BytesMessage) else "")) + ws_event.data
                        if not ws_event.message_finished:
                            continue
                        data, state["partial"] = state["partial"], None
                        emit("message", stream=event.stream_id, size=len(data), text=isinstance(data, str))
                        if state["path"] == "/reset":
                            conn.reset_stream(event.stream_id, h2.errors.ErrorCodes.CANCEL)
                            del streams[event.stream_id]
                            break
                        if state["path"] == "/close":
                            peer.send_data(event.stream_id, ws.send(CloseConnection(code=4000, reason="python")))
                            continue
                        peer.send_data(event.stream_id, ws.send(Message(data=data)))
                    elif isinstance(ws_event, Ping):
                        peer.send_data(event.stream_id, ws.send(ws_event.response()))
                    elif isinstance(ws_event, CloseConnection):
                        emit("close", stream=event.stream_id, code=ws_event.code, reason=ws_event.reason)
                        try:
                            out = ws.send(ws_event.response())
                        except LocalProtocolError:
                            out = b""  # we started the closing handshake: it is complete

                        # RFC 8441 §5: the orderly end of the stream is END_STREAM.
                        peer.send_data(event.stream_id, out, end_stream=True)
            elif isinstance(event, h2.events.StreamEnded) and event.stream_id in streams:
                emit("ended", stream=event.stream_id)
                del streams[event.stream_id]
            elif isinstance(event, h2.events.StreamReset):
                emit("reset", stream=event.stream_id, code=int(event.error_code))
                streams.pop(event.stream_id, None)
        peer.flush()


def main():
    listener = socket.create_server(("127.0.0.1", 0))
    context = None
    if CERT:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*CERT)
        context.set_alpn_protocols(["h2"])
    emit("listening", port=listener.getsockname()[1])
    while True:
        sock, _ = listener.accept()
        sock.settimeout(None)
        if context is not None:
            try:
                sock = context.wrap_socket(sock, server_side=True)
            except (OSError, ssl.SSLError):
                sock.close()
                continue
        threading.Thread(target=serve, args=(sock,), daemon=True).start()


main()
