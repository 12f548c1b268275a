"""An RFC 8441 client made of Debian's h2 and wsproto, against our server.

    h2_client.py HOST PORT CAFILE|- SCENARIO

Scenarios (each prints one JSON line per result, then {"event": "done"}):
  echo       three WebSockets on one connection: text, 70 000 bytes of binary, a fragmented
             message, a ping, then the closing handshake, each on its own stream;
  malformed  extended CONNECTs that break a rule, one per stream, then a valid one on the same
             connection (the session survived them);
  nosetting  an extended CONNECT to a server that did not send SETTINGS_ENABLE_CONNECT_PROTOCOL,
             then a GET on the same connection.
"""
import sys

import h2.config
import h2.connection
import h2.events
import h2.settings
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Message, Ping, Pong, TextMessage

from h2_peer import Peer, emit, fail, headers_dict, open_socket

HOST, PORT, CAFILE, SCENARIO = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
SECURE = CAFILE != "-"
SCHEME = "https" if SECURE else "http"
AUTHORITY = f"localhost:{PORT}"


def connect():
    sock = open_socket(HOST, PORT, CAFILE if SECURE else None)
    # Outbound validation off: the malformed requests must leave as written.
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, validate_outbound_headers=False, normalize_outbound_headers=False))
    conn.initiate_connection()
    peer = Peer(sock, conn)
    peer.flush()
    while True:
        events = peer.events()
        if events is None:
            fail("the server closed before its SETTINGS")
        for event in events:
            if isinstance(event, h2.events.RemoteSettingsChanged):
                settings = {int(code): changed.new_value for code, changed in event.changed_settings.items()}
                emit("settings", enable_connect_protocol=settings.get(int(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL), 0),
                     max_concurrent_streams=settings.get(int(h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS)))
                return peer


def websocket_request(path, extra=(), drop=(), protocol="websocket"):
    fields = [(":method", "CONNECT"), (":protocol", protocol), (":scheme", SCHEME), (":path", path), (":authority", AUTHORITY),
              ("sec-websocket-version", "13")]
    return [(name, value) for name, value in fields if name not in drop] + list(extra)


def wait_for_answers(peer, stream_ids):
    """Read until each stream got a response or a reset: {stream: result}."""
    results = {}
    while len(results) < len(stream_ids):
        events = peer.events()
        if events is None:
            fail(f"the connection closed; answers so far: {results}")
        for event in events:
            if isinstance(event, h2.events.ResponseReceived) and event.stream_id in stream_ids:
                results[event.stream_id] = {"status": int(headers_dict(event.headers)[":status"][0]), "headers": headers_dict(event.headers)}
            elif isinstance(event, h2.events.StreamReset) and event.stream_id in stream_ids and event.stream_id not in results:
                results[event.stream_id] = {"reset": int(event.error_code)}
            elif isinstance(event, h2.events.ConnectionTerminated):
                fail(f"the server ended the connection (GOAWAY {int(event.error_code)})")
    return results


def echo():
    peer = connect()
    streams = {}
    for index in range(3):
        stream_id = peer.conn.get_next_available_stream_id()
        peer.conn.send_headers(stream_id, websocket_request(f"/py/{index}", extra=[("sec-websocket-protocol", "superchat, chat"), ("origin", "http://www.example.com")]))
        streams[stream_id] = {"ws": Connection(ConnectionType.CLIENT), "messages": [], "pongs": [], "partial": None, "closed": None, "ended": False}
    peer.flush()
    answers = wait_for_answers(peer, set(streams))
    for stream_id, answer in answers.items():
        emit("response", stream=stream_id, **answer)
        if answer.get("status") != 200:
            fail(f"stream {stream_id} was not accepted: {answer}")
    binary = bytes((i * 7) & 0xFF for i in range(70_000))
    for stream_id, state in streams.items():
        ws = state["ws"]
        out = ws.send(Message(data=f"hello {stream_id}"))
        out += ws.send(Message(data=binary))
        out += ws.send(Message(data="frag", message_finished=False)) + ws.send(Message(data="mented", message_finished=True))
        out += ws.send(Ping(payload=b"are you there"))
        peer.send_data(stream_id, out)
    closing_sent = set()
    while not all(state["ended"] for state in streams.values()):
        events = peer.events()
        if events is None:
            fail("the connection closed during the exchange")
        for event in events:
            if isinstance(event, h2.events.StreamReset):
                fail(f"stream {event.stream_id} was reset ({int(event.error_code)})")
            if isinstance(event, h2.events.StreamEnded) and event.stream_id in streams:
                streams[event.stream_id]["ended"] = True
                continue
            if not isinstance(event, h2.events.DataReceived) or event.stream_id not in streams:
                continue
            state = streams[event.stream_id]
            ws = state["ws"]
            ws.receive_data(event.data)
            for ws_event in ws.events():
                if isinstance(ws_event, (TextMessage, BytesMessage)):
                    state["partial"] = (state["partial"] or (b"" if isinstance(ws_event, BytesMessage) else "")) + ws_event.data
                    if ws_event.message_finished:
                        data = state["partial"]
                        state["messages"].append({"text": data} if isinstance(data, str) else {"binary": len(data), "intact": data == binary})
                        state["partial"] = None
                elif isinstance(ws_event, Pong):
                    state["pongs"].append(ws_event.payload.decode())
                elif isinstance(ws_event, CloseConnection):
                    state["closed"] = [ws_event.code, ws_event.reason]
            if len(state["messages"]) == 3 and state["pongs"] and event.stream_id not in closing_sent:
                closing_sent.add(event.stream_id)
                # RFC 6455 §7.1.2 from our side; RFC 8441 §5: the orderly end is END_STREAM.
                peer.send_data(event.stream_id, ws.send(CloseConnection(code=1000, reason="done")), end_stream=True)
    for stream_id, state in streams.items():
        emit("stream", stream=stream_id, messages=state["messages"], pongs=state["pongs"], closed=state["closed"], ended=state["ended"])
    emit("done")


def malformed():
    peer = connect()
    cases = {
        "no :protocol": [(":method", "CONNECT"), (":authority", AUTHORITY)],
        ":protocol chat": websocket_request("/m", protocol="chat"),
        "no :path": websocket_request("/m", drop=(":path",)),
        "no :authority": websocket_request("/m", drop=(":authority",)),
        "no :scheme": websocket_request("/m", drop=(":scheme",)),
        "version 8": websocket_request("/m", drop=("sec-websocket-version",), extra=[("sec-websocket-version", "8")]),
        "no version": websocket_request("/m", drop=("sec-websocket-version",)),
        "origin refused": websocket_request("/m", extra=[("origin", "http://evil.example")]),
        "bad extensions": websocket_request("/m", extra=[("sec-websocket-extensions", "permessage-deflate; =")]),
        "connection header": websocket_request("/m", extra=[("connection", "upgrade")]),
    }
    for name, fields in cases.items():
        stream_id = peer.conn.get_next_available_stream_id()
        peer.conn.send_headers(stream_id, fields)
        peer.flush()
        answer = wait_for_answers(peer, {stream_id})[stream_id]
        emit("case", name=name, stream=stream_id, **answer)
    # The session survived every one of them: a valid request on it is accepted.
    stream_id = peer.conn.get_next_available_stream_id()
    peer.conn.send_headers(stream_id, websocket_request("/m/valid"))
    peer.flush()
    emit("case", name="valid after", stream=stream_id, **wait_for_answers(peer, {stream_id})[stream_id])
    emit("done")


def nosetting():
    peer = connect()
    stream_id = peer.conn.get_next_available_stream_id()
    peer.conn.send_headers(stream_id, websocket_request("/ns"))
    peer.flush()
    emit("case", name="extended CONNECT", stream=stream_id, **wait_for_answers(peer, {stream_id})[stream_id])
    stream_id = peer.conn.get_next_available_stream_id()
    peer.conn.send_headers(stream_id, [(":method", "GET"), (":scheme", SCHEME), (":path", "/"), (":authority", AUTHORITY)], end_stream=True)
    peer.flush()
    emit("case", name="GET after", stream=stream_id, **wait_for_answers(peer, {stream_id})[stream_id])
    emit("done")


{"echo": echo, "malformed": malformed, "nosetting": nosetting}[SCENARIO]()
