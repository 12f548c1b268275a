"""What the interop peers share: deterministic payloads (the same as test/interop/payloads.ts:
both sides build the same bytes from a size, so a 16 MiB message is described by its size and
checked by its SHA-256), message reports, and reading stdin without blocking the event loop."""

import asyncio
import hashlib
import os
import stat
import sys
import threading


def pattern_bytes(size: int) -> bytes:
    """Binary pattern: byte i is (i * 31 + 7) mod 256, so every byte value occurs and no
    period lines up with frame or buffer boundaries."""
    period = bytes((i * 31 + 7) & 0xFF for i in range(256))
    whole, rest = divmod(size, 256)
    return period * whole + period[:rest]


def pattern_text(size: int) -> str:
    """Text pattern of exactly `size` UTF-8 bytes: printable ASCII, character i is
    chr(32 + (i * 7) mod 95)."""
    period = "".join(chr(32 + (i * 7) % 95) for i in range(95))
    whole, rest = divmod(size, 95)
    return period * whole + period[:rest]


def describe(message) -> dict:
    """What a JSON report says about a received message: its type, length in bytes, SHA-256,
    and the content itself when it is small."""
    if isinstance(message, str):
        raw = message.encode("utf-8")
        report = {"type": "text", "length": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
        if len(raw) <= 256:
            report["data"] = message
    else:
        raw = bytes(message)
        report = {"type": "binary", "length": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
        if len(raw) <= 256:
            report["hex"] = raw.hex()
    return report


def chunks(message, size: int) -> list:
    """`message` cut into pieces of `size` units (characters for text, bytes for binary), for
    sending as a fragmented message; an empty message is one empty fragment."""
    if len(message) == 0:
        return [message]
    return [message[i : i + size] for i in range(0, len(message), size)]


async def open_stdin() -> asyncio.StreamReader:
    """stdin as an asyncio stream. A pipe is watched by the event loop; anything the loop cannot
    poll (a regular file, /dev/null) is read by a thread instead."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
    mode = os.fstat(sys.stdin.fileno()).st_mode
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode) and sys.stdin.isatty():
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    else:

        def pump() -> None:
            for line in sys.stdin.buffer:
                loop.call_soon_threadsafe(reader.feed_data, line)
            loop.call_soon_threadsafe(reader.feed_eof)

        threading.Thread(target=pump, daemon=True).start()
    return reader
