"""A WebSocket client built on the `websockets` package (10.x, legacy asyncio API), the
independent peer of test/interop/python.integration.test.ts.

    /usr/bin/python3 client.py URL [--subprotocol P]... [--compression]

It connects to URL, then reads commands from stdin, one JSON object a line:

    {"op": "send", "type": "text" | "binary", "data": "..." | "hex": "..." | "size": N |
     "random": N, "fragment": K}
                           send a message (literal, the shared pattern of N bytes, or N random
                           bytes), as a fragmented message of K-unit pieces when "fragment" is given
    {"op": "ping", "data": "..."}        ping with that payload and report the matching pong
    {"op": "close", "code": C, "reason": "..."}   start the closing handshake

and reports on stdout, one JSON object a line:

    {"event": "open", "subprotocol": ..., "headers": [[name, value], ...]}
    {"event": "message", "type": "text" | "binary", "length": N, "sha256": ..., "data"/"hex": ...}
    {"event": "pong", "data": "..."}
    {"event": "closed", "code": C, "reason": "..."}
    {"event": "error", "message": "...", "status": S (when the handshake was rejected)}

When stdin ends it closes normally (1000) and exits once the closing handshake is over.
"""

import argparse
import asyncio
import json
import os
import sys

import websockets

from common import chunks, describe, open_stdin, pattern_bytes, pattern_text


def report(**event) -> None:
    print(json.dumps(event), flush=True)


def build_message(command: dict):
    if "random" in command:
        return os.urandom(command["random"])
    if command["type"] == "text":
        if "data" in command:
            return command["data"]
        return pattern_text(command["size"])
    if "hex" in command:
        return bytes.fromhex(command["hex"])
    return pattern_bytes(command["size"])


async def run_commands(ws, stdin: asyncio.StreamReader) -> None:
    try:
        await execute_commands(ws, stdin)
    except websockets.ConnectionClosed:
        pass


async def execute_commands(ws, stdin: asyncio.StreamReader) -> None:
    while True:
        line = await stdin.readline()
        if not line:
            await ws.close()
            return
        command = json.loads(line)
        op = command["op"]
        if op == "send":
            message = build_message(command)
            if "fragment" in command:
                await ws.send(chunks(message, command["fragment"]))
            else:
                await ws.send(message)
        elif op == "ping":
            pong_waiter = await ws.ping(command["data"].encode("utf-8"))

            async def report_pong(waiter=pong_waiter, data=command["data"]) -> None:
                try:
                    await waiter
                except websockets.ConnectionClosed:
                    return
                report(event="pong", data=data)

            asyncio.create_task(report_pong())
        elif op == "close":
            await ws.close(command.get("code", 1000), command.get("reason", ""))
        else:
            report(event="error", message="unknown op " + op)


async def read_messages(ws) -> None:
    try:
        async for message in ws:
            report(event="message", **describe(message))
    except websockets.ConnectionClosed:
        pass


async def main() -> int:
    parser = argparse.ArgumentParser(description="websockets client for interop tests")
    parser.add_argument("url")
    parser.add_argument("--subprotocol", action="append", default=[], help="a subprotocol to offer (repeatable)")
    parser.add_argument("--compression", action="store_true", help="offer permessage-deflate (RFC 7692)")
    args = parser.parse_args()

    stdin = await open_stdin()

    try:
        ws = await websockets.connect(
            args.url,
            subprotocols=args.subprotocol or None,
            max_size=None,
            compression="deflate" if args.compression else None,
            open_timeout=10,
        )
    except websockets.InvalidStatusCode as error:
        report(event="error", message=str(error), status=error.status_code)
        return 1
    except (OSError, websockets.WebSocketException, asyncio.TimeoutError) as error:
        report(event="error", message=str(error) or type(error).__name__)
        return 1

    report(event="open", subprotocol=ws.subprotocol, headers=[list(item) for item in ws.response_headers.raw_items()])
    reader = asyncio.create_task(read_messages(ws))
    commands = asyncio.create_task(run_commands(ws, stdin))
    await ws.wait_closed()
    await reader
    if not commands.done():
        commands.cancel()
    report(event="closed", code=ws.close_code, reason=ws.close_reason)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
