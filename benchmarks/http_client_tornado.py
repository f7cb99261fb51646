"""Sequential fetches with Tornado 6.2's simple HTTP client, the reference
for the HTTP client benchmark (benchmarks/run_http.sh).

    /usr/bin/python3 benchmarks/http_client_tornado.py URL [--requests N]

Same protocol as http_client_gale: 100 untimed warm-up fetches, then N
(10,000 by default) fetches one after the other, each a 200 with the body
"Hello, World!"; prints "fetches N seconds S cpu C" (wall time, and the
process's user + system CPU time). Tornado's simple_httpclient opens a new
connection for every request (it sends "Connection: close").
"""

import argparse
import asyncio
import resource
import sys
import time

from tornado.httpclient import AsyncHTTPClient


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def fetch_many(client, url, count):
    for _ in range(count):
        response = await client.fetch(url)
        if response.code != 200 or response.body != b"Hello, World!":
            sys.exit("unexpected response %d: %r" % (response.code, response.body))


async def main(args):
    client = AsyncHTTPClient()
    await fetch_many(client, args.url, 100)
    cpu0, t0 = cpu_seconds(), time.monotonic()
    await fetch_many(client, args.url, args.requests)
    wall, cpu = time.monotonic() - t0, cpu_seconds() - cpu0
    print("fetches %d seconds %.6f cpu %.6f" % (args.requests, wall, cpu), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--requests", type=int, default=10000)
    asyncio.run(main(parser.parse_args()))
