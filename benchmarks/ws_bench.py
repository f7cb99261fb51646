"""Measures the WebSocket echo servers for benchmarks/run_websocket.sh:
gale's ws_echo_gale and Tornado 6.2's ws_echo_tornado.py, with the floor
ws_echo_floor (raw sockets, no framework) beside them for the rates, back to
back in each repetition (the order alternates), the server pinned to one
core and the load generator to another.

    /usr/bin/python3 benchmarks/ws_bench.py --build DIR [--reps N] [--seconds S]
        [--clients 1,100] [--in-flight K] [--load raw|gale] [--idle N] [--size B]
        [--server-cpu C] [--client-cpu C] [--callgrind]

For each server and each client count: messages/s (K messages in flight per
connection, 1 by default, B bytes, echoed) and the server's CPU time per
message (user + system, from /proc/PID/stat: less sensitive to a busy machine
than the rate). The load generator is ws_load_raw (raw sockets: the client
costs little beside the kernel's work) unless --load gale picks ws_load
(gale's own client; in-flight 1 only).
Then the idle part: a fresh server, one connection's echo to warm it, its RSS,
then N connections opened and each checked with an echo, its RSS again; the
difference over N is the user-space memory per idle connection (the kernel's
socket buffers are not in RSS). With --callgrind, each server's instructions
per message too (valgrind; independent of the machine's load). Prints a markdown report: medians over the
repetitions, the gale/Tornado ratios, and the 1-minute load average before
and after.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TICKS = os.sysconf("SC_CLK_TCK")


def start_server(command, cpu):
    server = subprocess.Popen(["taskset", "-c", str(cpu)] + command, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    line = server.stdout.readline().split()
    if len(line) != 2 or line[0] != "port":
        server.kill()
        raise SystemExit("%s did not start: %r %s" % (command[0], line, server.stderr.read()))
    return server, int(line[1])


def stop_server(server):
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def cpu_seconds(pid):
    """(user, system) CPU seconds of the process so far."""
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS  # utime, stime


def rss_kib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def load_average():
    return float(open("/proc/loadavg").read().split()[0])


def servers(args):
    """The echo servers: gale, Tornado, and the floor (ws_echo_floor, raw sockets and no framework: what the
    machine allows), measured for the rates only."""
    gale = [os.path.join(args.build, "benchmarks", "ws_echo_gale")]
    tornado = ["/usr/bin/python3", os.path.join(HERE, "ws_echo_tornado.py")]
    floor = [os.path.join(args.build, "benchmarks", "ws_echo_floor")]
    return {"gale": gale, "Tornado": tornado, "floor": floor}


MEASURED_WHOLE = ("gale", "Tornado")  # idle memory and instructions: the floor is not a server to weigh


def load(args, port, *extra):
    """ws_load (gale's client) with a mode (echo or idle) and its arguments."""
    command = ["taskset", "-c", str(args.client_cpu), os.path.join(args.build, "benchmarks", "ws_load")]
    return command + [extra[0], "ws://127.0.0.1:%d/" % port] + list(extra[1:])


def echo_load(args, port, clients, seconds):
    """The load generator of the echo runs: `clients` connections for `seconds`."""
    common = ["--clients", str(clients), "--seconds", str(seconds), "--size", str(args.size)]
    if args.load == "gale":
        return load(args, port, "echo", *common)
    return (["taskset", "-c", str(args.client_cpu), os.path.join(args.build, "benchmarks", "ws_load_raw"),
             "ws://127.0.0.1:%d/" % port] + common + ["--in-flight", str(args.in_flight)])


def echo_run(args, name, command, clients):
    """(messages/s, server CPU microseconds per message, the user-space part of them) of one run."""
    server, port = start_server(command, args.server_cpu)
    try:
        cpu0 = cpu_seconds(server.pid)
        out = subprocess.run(echo_load(args, port, clients, args.seconds), capture_output=True, text=True,
                             check=True).stdout
        cpu1 = cpu_seconds(server.pid)
    finally:
        stop_server(server)
    words = out.split()
    messages, seconds = int(words[1]), float(words[3])
    user, system = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    return messages / seconds, 1e6 * (user + system) / messages, 1e6 * user / messages


def instructions(args, command, seconds):
    """(instructions the server ran, messages echoed) under callgrind, 100 clients for `seconds`."""
    profile = "/tmp/ws_bench.callgrind.%d" % os.getpid()
    server, port = start_server(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + profile] + command,
                                args.server_cpu)
    try:
        out = subprocess.run(echo_load(args, port, 100, seconds), capture_output=True, text=True,
                             check=True).stdout
    finally:
        stop_server(server)
    total = next(int(line.split()[1]) for line in open(profile) if line.startswith(("summary:", "totals:")))
    os.remove(profile)
    return total, int(out.split()[1])


def instructions_per_message(args, command):
    """The server's instructions per echoed message: the difference of a short and a long callgrind run,
    so that start-up and the handshakes cancel out."""
    short_total, short_messages = instructions(args, command, 2)
    long_total, long_messages = instructions(args, command, 6)
    return (long_total - short_total) / (long_messages - short_messages)


def idle_run(args, command):
    """(server KiB per idle connection, client KiB per connection, server RSS KiB with them open)."""
    server, port = start_server(command, args.server_cpu)
    client = None
    try:
        subprocess.run(load(args, port, "echo", "--clients", "1", "--seconds", "0.2"), capture_output=True,
                       check=True)
        before = rss_kib(server.pid)
        client = subprocess.Popen(load(args, port, "idle", "--connections", str(args.idle)),
                                  stdout=subprocess.PIPE, text=True)
        line = client.stdout.readline()
        if not line.startswith("open"):
            raise SystemExit("ws_load idle failed: %r" % line)
        time.sleep(1)
        after = rss_kib(server.pid)
        client_rss = rss_kib(client.pid)
    finally:
        if client:
            client.kill()
            client.wait()
        stop_server(server)
    return (after - before) / args.idle, client_rss / args.idle, after


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", required=True)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--clients", default="1,100")
    parser.add_argument("--idle", type=int, default=10000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--in-flight", type=int, default=1, help="messages in flight per connection (raw load)")
    parser.add_argument("--load", choices=["raw", "gale"], default="raw",
                        help="the echo load generator: ws_load_raw (default) or ws_load, gale's client")
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--callgrind", action="store_true",
                        help="also count the servers' instructions per message (valgrind's callgrind, 100 clients)")
    args = parser.parse_args()
    if args.load == "gale" and args.in_flight != 1:
        parser.error("--load gale keeps one message in flight")
    named = servers(args)
    client_counts = [int(c) for c in args.clients.split(",")]

    load_before = load_average()
    rate = {(n, c): [] for n in named for c in client_counts}
    cost = {(n, c): [] for n in named for c in client_counts}
    user_cost = {(n, c): [] for n in named for c in client_counts}
    idle = {n: [] for n in MEASURED_WHOLE}
    for rep in range(args.reps):
        order = list(named) if rep % 2 == 0 else list(reversed(list(named)))
        for name in order:
            for clients in client_counts:
                r, c, u = echo_run(args, name, named[name], clients)
                rate[(name, clients)].append(r)
                cost[(name, clients)].append(c)
                user_cost[(name, clients)].append(u)
                print("rep %d %s %d clients: %.0f messages/s, %.2f us server CPU/message" % (rep, name, clients, r, c),
                      file=sys.stderr, flush=True)
            if args.idle and name in MEASURED_WHOLE:
                per, client_per, total = idle_run(args, named[name])
                idle[name].append((per, client_per, total))
                print("rep %d %s %d idle: %.2f KiB/connection (server RSS %d KiB)" % (rep, name, args.idle, per, total),
                      file=sys.stderr, flush=True)
    counted = ({name: instructions_per_message(args, named[name]) for name in MEASURED_WHOLE} if args.callgrind
               else {})
    load_after = load_average()

    med = statistics.median
    generator = "ws_load (gale's client)" if args.load == "gale" else "ws_load_raw"
    print("Echo of %d-byte text messages, %d in flight per connection, %.0f s per run, %d repetitions (medians);"
          % (args.size, args.in_flight, args.seconds, args.reps))
    print("server on CPU %d, %s on CPU %d; 1-minute load average %.2f before, %.2f after."
          % (args.server_cpu, generator, args.client_cpu, load_before, load_after))
    print()
    print("Server CPU per message: user + system microseconds (the user-space part in brackets). The floor is "
          "ws_echo_floor, an echo on raw sockets with no framework: the most this machine gives.")
    print()
    print("gale/Tornado: the median of the repetitions' ratios (the two run back to back in each), then its range.")
    print()
    print("| clients | gale messages/s | Tornado messages/s | floor messages/s | gale/Tornado | gale/floor | "
          "gale CPU us/message | Tornado CPU us/message | floor CPU us/message | Tornado/gale CPU |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for clients in client_counts:
        g, t, f = (med(rate[(name, clients)]) for name in ("gale", "Tornado", "floor"))
        gc, tc, fc = (med(cost[(name, clients)]) for name in ("gale", "Tornado", "floor"))
        gu, tu, fu = (med(user_cost[(name, clients)]) for name in ("gale", "Tornado", "floor"))
        ratios = [a / b for a, b in zip(rate[("gale", clients)], rate[("Tornado", clients)])]
        print("| %d | %.0f | %.0f | %.0f | %.1f (%.1f-%.1f) | %.2f | %.1f (%.1f) | %.1f (%.1f) | %.1f (%.1f) | %.1f |"
              % (clients, g, t, f, med(ratios), min(ratios), max(ratios), g / f, gc, gu, tc, tu, fc, fu, tc / gc))
    if counted:
        print()
        print("Instructions per echoed message in the server (callgrind, 100 clients; the difference of a 2 s and a 6 s "
              "run): gale %.0f, Tornado %.0f (Tornado/gale %.1f)."
              % (counted["gale"], counted["Tornado"], counted["Tornado"] / counted["gale"]))
    if args.idle:
        print()
        print("%d idle connections (each opened and checked with one echo), RSS growth of the server per connection:"
              % args.idle)
        print()
        print("| server | KiB per idle connection | server RSS with them open (MiB) | ws_load (gale client) KiB "
              "per connection |")
        print("|---|---:|---:|---:|")
        for name in MEASURED_WHOLE:
            per = med([x[0] for x in idle[name]])
            total = med([x[2] for x in idle[name]])
            client = med([x[1] for x in idle[name]])
            print("| %s | %.2f | %.1f | %.2f |" % (name, per, total / 1024, client))


if __name__ == "__main__":
    main()
