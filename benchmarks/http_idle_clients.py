"""Opens many keep-alive connections to an HTTP server and leaves them idle,
for the idle-connection memory benchmark (benchmarks/run_http.sh).

    /usr/bin/python3 benchmarks/http_idle_clients.py PORT [--count N] [--parallel P]

Each connection sends one "GET / HTTP/1.1" request, reads its whole answer
(head and Content-Length body) and then stays open, idle. Connections are
opened at most P at a time (the server's listen backlog is 128). Once all
N are open and answered, prints "ready N" on stdout, then holds them until
stdin reaches end of file (or SIGTERM), and closes them. Needs a file
descriptor limit above N (ulimit -n).
"""

import argparse
import asyncio
import signal
import sys

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


async def open_one(host, port, semaphore):
    async with semaphore:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(REQUEST)
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError("unexpected answer: %r" % head[:80])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        return reader, writer


async def main(args):
    semaphore = asyncio.Semaphore(args.parallel)
    connections = await asyncio.gather(
        *(open_one(args.host, args.port, semaphore) for _ in range(args.count)))
    print("ready", len(connections), flush=True)

    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, done.set)
    loop.add_reader(sys.stdin.fileno(), lambda: done.set() if not sys.stdin.buffer.read1(4096) else None)
    await done.wait()
    for _, writer in connections:
        writer.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--parallel", type=int, default=64)
    asyncio.run(main(parser.parse_args()))
