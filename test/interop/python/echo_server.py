"""A WebSocket server built on the `websockets` package (10.x, legacy asyncio API), the
independent peer of test/interop/python.integration.test.ts.

Run with the interpreter that has `websockets` (Debian: /usr/bin/python3):

    /usr/bin/python3 echo_server.py [--subprotocol P]... [--compression]

It listens on
127.0.0.1 on a free port and reports on stdout, one JSON object a line:

    {"event": "listening", "port": N}
    {"event": "connection", "path": "/echo", "subprotocol": "chat" | null}
    {"event": "closed", "path": "/echo", "code": 1000, "reason": "bye"}

What a connection does depends on its path:

    /echo                      echo every message, text as text, binary as binary
    /fragments?size=K          echo every message as a fragmented message of K-unit pieces
    /close?code=C&reason=R     close at once with code C and reason R
    /ping?data=D               ping with payload D; once the matching pong arrives, send the
                               text "pong:D"; then echo

It exits when its stdin ends (so it never outlives the test that spawned it) or on SIGTERM.
"""

import argparse
import asyncio
import json
import signal
import urllib.parse

import websockets

from common import chunks, open_stdin


def report(**event) -> None:
    print(json.dumps(event), flush=True)


async def echo(ws, fragment_size=None) -> None:
    async for message in ws:
        if fragment_size is None:
            await ws.send(message)
        else:
            await ws.send(chunks(message, fragment_size))


async def handler(ws) -> None:
    target = urllib.parse.urlsplit(ws.path)
    query = dict(urllib.parse.parse_qsl(target.query, keep_blank_values=True))
    report(event="connection", path=target.path, subprotocol=ws.subprotocol)
    try:
        if target.path == "/echo":
            await echo(ws)
        elif target.path == "/fragments":
            await echo(ws, int(query.get("size", "1024")))
        elif target.path == "/close":
            await ws.close(int(query["code"]), query.get("reason", ""))
        elif target.path == "/ping":
            data = query.get("data", "")
            pong_waiter = await ws.ping(data.encode("utf-8"))
            await pong_waiter
            await ws.send("pong:" + data)
            await echo(ws)
        else:
            await ws.close(1008, "unknown path " + target.path)
    except websockets.ConnectionClosed:
        pass
    await ws.wait_closed()
    report(event="closed", path=target.path, code=ws.close_code, reason=ws.close_reason)


async def main() -> None:
    parser = argparse.ArgumentParser(description="websockets echo server for interop tests")
    parser.add_argument("--subprotocol", action="append", default=[], help="a subprotocol to accept (repeatable)")
    parser.add_argument("--compression", action="store_true", help="accept permessage-deflate (RFC 7692)")
    args = parser.parse_args()

    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda: stop.done() or stop.set_result(None))

    # Exit when the parent closes our stdin (or dies): never outlive the test.
    stdin = await open_stdin()

    async def watch_stdin() -> None:
        while await stdin.read(4096):
            pass
        if not stop.done():
            stop.set_result(None)

    watcher = asyncio.create_task(watch_stdin())
    async with websockets.serve(
        handler,
        "127.0.0.1",
        0,
        subprotocols=args.subprotocol or None,
        max_size=None,
        compression="deflate" if args.compression else None,
    ) as server:
        report(event="listening", port=server.sockets[0].getsockname()[1])
        await stop
    watcher.cancel()


if __name__ == "__main__":
    asyncio.run(main())
