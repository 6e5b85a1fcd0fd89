#!/usr/bin/env python3
"""Opens COUNT keep-alive connections to URL, sends one GET on each and reads its answer,
then holds them all open and idle until stdin closes or a signal arrives. Prints
`held COUNT` on stdout once every connection has been answered, so a caller can measure
the server's memory with that many idle clients (mobile clients keep connections open
between requests). Exits 1 if a connection fails or an answer is not 2xx.

    load/hold-connections.py URL COUNT [PARALLEL]
"""

import asyncio
import resource
import sys
from urllib.parse import urlsplit


async def one(host, port, request, held):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = head.split(b" ", 2)[1]
    if not status.startswith(b"2"):
        raise RuntimeError(f"answer {status.decode()} from {host}:{port}")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    held.append(writer)


async def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    url = urlsplit(sys.argv[1])
    count = int(sys.argv[2])
    parallel = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 1024), hard))
    host, port = url.hostname, url.port or 80
    path = url.path or "/"
    request = f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n".encode()
    held = []
    gate = asyncio.Semaphore(parallel)

    async def opened():
        async with gate:
            await one(host, port, request, held)

    await asyncio.gather(*(opened() for _ in range(count)))
    print(f"held {len(held)}", flush=True)
    # Idle until told to stop: stdin closing (the caller went away) or a signal.
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    for writer in held:
        writer.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except (OSError, RuntimeError, asyncio.IncompleteReadError) as err:
        print(f"hold-connections: {err}", file=sys.stderr)
        sys.exit(1)
