"""A permessage-deflate peer built on the `websockets` package (10.x, legacy asyncio API), the
independent implementation of test/deflate/python.integration.test.ts. Its zlib inflates with
the exact window negotiated (8 bits means 256 bytes), which Node's zlib cannot do.

Run with the interpreter that has `websockets` (Debian: /usr/bin/python3):

    /usr/bin/python3 deflate_peer.py server [PARAMS]
    /usr/bin/python3 deflate_peer.py client URL [--max-size BYTES] [PARAMS]

PARAMS configure permessage-deflate (RFC 7692 §7.1), with the `websockets` factories' meaning:

    --server-no-context-takeover  --client-no-context-takeover
    --server-max-window-bits N    --client-max-window-bits N | true

Reports on stdout, one JSON object a line:

    server: {"event": "listening", "port": N}
            {"event": "connection", "extensions": "<Sec-WebSocket-Extensions of the response>"}
    client: {"event": "result", "extensions": "...", "checked": N, "errors": [...]}

The server echoes every message as it came (text as text, binary as binary) and exits when
its stdin ends. The client sends its workload (text and binary, compressible and not, whole and
fragmented, up to --max-size bytes), checks every echo, closes with 1000 and exits.
"""

import argparse
import asyncio
import json
import random
import sys

import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory, ServerPerMessageDeflateFactory

PHRASE = "permessage-deflate — täglich 日本語 🎉 "


def report(**event) -> None:
    print(json.dumps(event), flush=True)


def window(value: str):
    return True if value == "true" else int(value)


def deflate_params(args) -> dict:
    params = {
        "server_no_context_takeover": args.server_no_context_takeover,
        "client_no_context_takeover": args.client_no_context_takeover,
    }
    if args.server_max_window_bits is not None:
        params["server_max_window_bits"] = args.server_max_window_bits
    if args.client_max_window_bits is not None:
        params["client_max_window_bits"] = args.client_max_window_bits
    return params


def text_of(size: int) -> str:
    """Text of at most `size` UTF-8 bytes: the phrase repeated, padded with 'a'."""
    phrase = PHRASE.encode("utf-8")
    whole = size // len(phrase)
    return (phrase * whole + b"a" * (size - whole * len(phrase))).decode("utf-8")


def workload(max_size: int) -> list:
    """(name, message, pieces) triples; pieces > 1 sends the message fragmented."""
    rng = random.Random(7692)
    sizes = [s for s in (0, 1, 125, 1023, 1024, 65535, 65536, 1 << 20, 16 << 20) if s <= max_size]
    out = []
    for size in sizes:
        out.append((f"text {size}", text_of(size), 1))
        out.append((f"compressible {size}", (b"repeated phrase, " * (size // 17 + 1))[:size], 1))
        out.append((f"incompressible {size}", rng.randbytes(size), 1))
    block = rng.randbytes(300)
    # Repeats 300 bytes apart: beyond an 8-bit window (256 bytes), so a peer compressing with a
    # larger window than agreed makes the decompression here fail.
    out.append(("300-byte block repeated", block * 200, 1))
    out.append(("fragmented text", text_of(100_000), 3))
    out.append(("fragmented binary", (b"fragment me " * 20_000), 7))
    return out


def fragments(message, pieces: int) -> list:
    step = -(-len(message) // pieces)
    return [message[i : i + step] for i in range(0, len(message), step)]


async def run_server(args) -> None:
    factory = ServerPerMessageDeflateFactory(**deflate_params(args))

    async def echo(ws, _path=None) -> None:
        report(event="connection", extensions=ws.response_headers.get("Sec-WebSocket-Extensions", ""))
        try:
            async for message in ws:
                await ws.send(message)
        except websockets.ConnectionClosed:
            pass

    loop = asyncio.get_running_loop()
    async with websockets.serve(echo, "127.0.0.1", 0, extensions=[factory], compression=None, max_size=None) as server:
        report(event="listening", port=server.sockets[0].getsockname()[1])
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        await reader.read()


async def run_client(args) -> None:
    factory = ClientPerMessageDeflateFactory(**deflate_params(args))
    errors = []
    checked = 0
    async with websockets.connect(args.url, extensions=[factory], compression=None, max_size=None) as ws:
        extensions = ws.response_headers.get("Sec-WebSocket-Extensions", "")
        for name, message, pieces in workload(args.max_size):
            if pieces > 1:
                await ws.send(fragments(message, pieces))
            else:
                await ws.send(message)
            echo = await asyncio.wait_for(ws.recv(), 60)
            if type(echo) is not type(message) or echo != message:
                errors.append(f"echo of {name} differs ({type(echo).__name__} of {len(echo)})")
            checked += 1
        await ws.close(1000)
    report(event="result", extensions=extensions, checked=checked, errors=errors)


def main() -> None:
    parser = argparse.ArgumentParser(description="permessage-deflate peer for interop tests")
    parser.add_argument("mode", choices=["server", "client"])
    parser.add_argument("url", nargs="?")
    parser.add_argument("--max-size", type=int, default=1 << 20)
    parser.add_argument("--server-no-context-takeover", action="store_true")
    parser.add_argument("--client-no-context-takeover", action="store_true")
    parser.add_argument("--server-max-window-bits", type=int)
    parser.add_argument("--client-max-window-bits", type=window)
    args = parser.parse_args()
    try:
        asyncio.run(run_server(args) if args.mode == "server" else run_client(args))
    except Exception as error:  # reported, so the test shows what went wrong
        report(event="error", message=f"{type(error).__name__}: {error}")
        sys.exit(1)


if __name__ == "__main__":
    main()
