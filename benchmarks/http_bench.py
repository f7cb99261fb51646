"""Driver of the HTTP benchmarks; benchmarks/run_http.sh builds the servers
and runs this. Prints markdown on stdout, progress on stderr.

    /usr/bin/python3 benchmarks/http_bench.py --build-dir DIR [options]

Parts (--parts, comma-separated; all by default):

throughput  Each server in turn (gale's bare HTTPServer, the raw-Asio floor,
            Tornado 6.2's hello world as tornado.web and as a bare
            tornado.httpserver callback) is started pinned to --server-cpu
            and loaded by `wrk -t1 -cC --latency` pinned to --client-cpu,
            for each C in --connections, after a 1 s warm-up. Server CPU
            time (utime + stime from /proc/<pid>/stat, before and after the
            wrk run) divided by the requests wrk completed is the CPU per
            request. Repetitions are interleaved (every server and
            connection count, then the next repetition) and medians are
            reported; ratios are medians of the per-repetition ratios.
            "other load" is what the rest of the machine used meanwhile
            (busy and steal time from /proc/stat minus the server's and
            wrk's), in cores. Before each run the driver waits (up to --quiet-wait s)
            until the machine is idle (under --max-foreign cores busy over
            2 s), and a run during which other load exceeded --max-foreign is
            retried (--retries times, keeping the quietest).
callgrind   User-space instructions per request (valgrind --tool=callgrind,
            Ir) for gale and raw Asio: two runs of different lengths under
            wrk, each stopped with SIGTERM (the server then prints how many
            requests it answered and exits normally, so callgrind writes its
            profile); Ir/request = (Ir_long - Ir_short) / (n_long - n_short),
            so start-up and shutdown cancel out.
syscalls    Network system calls per request (recv, send, epoll_wait, epoll_ctl)
            for every server, counted in the server by an LD_PRELOAD library
            (libhttp_syscount.so, see http_syscount.cpp) over a wrk run.
client      Sequential fetches: benchmarks/http_client_gale (gale's
            AsyncHTTPClient, pooling on, then off) and
            benchmarks/http_client_tornado.py (Tornado's simple client),
            each doing --fetches fetches one after the other against gale's
            hello server (server on --server-cpu, client on --client-cpu);
            fetches/s from the client's wall time, CPU per fetch for the
            client (getrusage) and the server (/proc).
rss         Memory of idle keep-alive connections: VmRSS of the server
            (/proc/<pid>/status) before and after --idle connections are
            opened by benchmarks/http_idle_clients.py, each having sent one
            request and read its answer; the difference per connection.
web         The full framework (issue 4): benchmarks/web_hello_gale, an
            Application answering TechEmpower's /plaintext and /json with a
            RequestHandler per request, measured as in "throughput" beside
            gale's bare HTTPServer (plain and --json), raw Asio (plain and
            --json) and Tornado's tornado.web answering the same paths; and
            a route table of 100 regex rules, the request matching the last
            (web_hello_gale --routes regex100 / pcre100, Tornado --routes
            regex100). Three tables: plaintext, JSON, route table.
webcallgrind  Instructions (Ir) and malloc calls per request, as in
            "callgrind", for the Application's /plaintext, /json and route
            tables, the bare server (plain and JSON) and raw Asio; the
            malloc calls are counted from the profiles' call counts.
"""

import argparse
import os
import re
import select
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"
TICK = os.sysconf("SC_CLK_TCK")

SERVER_TITLES = {
    "gale": "gale HTTPServer (bare callback)",
    "asio": "raw Asio (no parsing)",
    "tornado-web": "Tornado 6.2 tornado.web hello world",
    "tornado-bare": "Tornado 6.2 bare HTTPServer callback",
    # the "web" parts: TechEmpower's plaintext and JSON tests, and a route table
    "gale-web-plaintext": "gale Application, /plaintext",
    "gale-web-json": "gale Application, /json",
    "gale-json": "gale HTTPServer (bare callback), JSON",
    "asio-json": "raw Asio (no parsing), fixed JSON bytes",
    "tornado-web-plaintext": "Tornado 6.2 tornado.web, /plaintext",
    "tornado-web-json": "Tornado 6.2 tornado.web, /json",
    "gale-web-regex100": "gale Application, 100 regex routes (literal prefixes), the last one",
    "gale-web-pcre100": "gale Application, 100 regex routes (all through PCRE2), the last one",
    "tornado-web-regex100": "Tornado 6.2 tornado.web, 100 regex routes, the last one",
}

# name -> (program: a benchmarks/ binary or "tornado", its arguments, the path wrk asks for)
SERVER_VARIANTS = {
    "gale": ("http_hello_gale", [], "/"),
    "asio": ("http_hello_asio", [], "/"),
    "tornado-web": ("tornado", ["--mode", "web"], "/"),
    "tornado-bare": ("tornado", ["--mode", "bare"], "/"),
    "gale-web-plaintext": ("web_hello_gale", [], "/plaintext"),
    "gale-web-json": ("web_hello_gale", [], "/json"),
    "gale-json": ("http_hello_gale", ["--json"], "/"),
    "asio-json": ("http_hello_asio", ["--json"], "/"),
    "tornado-web-plaintext": ("tornado", ["--mode", "web"], "/plaintext"),
    "tornado-web-json": ("tornado", ["--mode", "web"], "/json"),
    "gale-web-regex100": ("web_hello_gale", ["--routes", "regex100"], "/api/v1/res99/12345"),
    "gale-web-pcre100": ("web_hello_gale", ["--routes", "pcre100"], "/api/v1/res99/12345"),
    "tornado-web-regex100": ("tornado", ["--mode", "web", "--routes", "regex100"], "/api/v1/res99/12345"),
}

# The "web" part's tables: (title, servers, the row the "vs" column divides by, its heading).
WEB_GROUPS = [
    ("Plaintext", ["gale-web-plaintext", "gale", "asio", "tornado-web-plaintext"], "gale",
     "vs gale bare"),
    ("JSON", ["gale-web-json", "gale-json", "asio-json", "tornado-web-json"], "gale-json",
     "vs gale bare JSON"),
    ("Route table", ["gale-web-plaintext", "gale-web-regex100", "gale-web-pcre100", "tornado-web-plaintext",
                     "tornado-web-regex100"], "gale-web-plaintext", "vs /plaintext"),
]


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def server_command(name, build_dir):
    program, arguments, _ = SERVER_VARIANTS[name]
    if program == "tornado":
        return [PYTHON, os.path.join(HERE, "http_hello_tornado.py"), *arguments]
    return [os.path.join(build_dir, "benchmarks", program), *arguments]


def start_server(name, args, **kwargs):
    """Starts server variant `name`; its url is the path wrk asks for."""
    return Server(server_command(name, args.build_dir), args.server_cpu, path=SERVER_VARIANTS[name][2], **kwargs)


# ------------------------------------------------------------ processes


class Server:
    """A server process pinned to a CPU; knows its port and reads its CPU time."""

    def __init__(self, command, cpu, prefix=(), startup_timeout=60, env=None, path="/"):
        self.process = subprocess.Popen(["taskset", "-c", str(cpu), *prefix, *command],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        stdin=subprocess.DEVNULL, env=env)
        self.stderr = b""
        self.pid = self.process.pid  # taskset and valgrind exec, so this is the server
        ready, _, _ = select.select([self.process.stdout], [], [], startup_timeout)
        line = self.process.stdout.readline().decode() if ready else ""
        m = re.match(r"port (\d+)", line)
        if not m:
            self.process.kill()
            _, err = self.process.communicate()
            raise RuntimeError("server %s did not start: %r %r" % (command, line, err[-2000:]))
        self.port = int(m.group(1))
        self.url = "http://127.0.0.1:%d%s" % (self.port, path)

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime

    def status(self, key):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024  # kB
        raise KeyError(key)

    def stop(self, timeout=60):
        """SIGTERM; returns the number of requests the server says it answered."""
        self.process.send_signal(signal.SIGTERM)
        try:
            _, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        self.stderr = err
        m = re.search(rb"^requests (\d+)", err, re.M)
        return int(m.group(1)) if m else None


def machine_busy_seconds():
    """CPU time of the whole machine so far (all cores) that this benchmark
    could not have: busy time, plus steal (time the hypervisor gave the
    virtual CPUs to someone else)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = v[:8]
    return (user + nice + system + irq + softirq + steal) / TICK


def parse_duration_ms(value, unit):
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}[unit]


def run_wrk(url, connections, duration, cpu):
    """Runs wrk; returns its figures and its own CPU time (from wait4)."""
    process = subprocess.Popen(
        ["taskset", "-c", str(cpu), "wrk", "-t1", "-c%d" % connections, "-d%ds" % duration,
         "--latency", url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError("wrk failed: " + out)
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    result = {
        "requests": int(m.group(1)),
        "seconds": parse_duration_ms(m.group(2), m.group(3)) / 1e3,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p99_ms": parse_duration_ms(*re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", out).groups()),
        "wrk_cpu": usage.ru_utime + usage.ru_stime,
        "errors": 0,
    }
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        result["errors"] += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        result["errors"] += int(m.group(1))
    return result


def machine_busy_now(seconds=2.0):
    """Cores the machine keeps busy right now (measured over `seconds`)."""
    b0, t0 = machine_busy_seconds(), time.monotonic()
    time.sleep(seconds)
    return (machine_busy_seconds() - b0) / (time.monotonic() - t0)


def wait_until_idle(args):
    """Before a timed run: waits (at most --quiet-wait s) until the rest of the
    machine uses less than --max-foreign cores."""
    deadline = time.time() + args.quiet_wait
    while True:
        busy = machine_busy_now()
        if busy <= args.max_foreign or time.time() >= deadline:
            return busy
        log("  machine busy (%.2f cores), waiting" % busy)
        time.sleep(10)


def wait_for_quiet(max_load, wait):
    """Waits (at most `wait` s) until the 1-minute load average is below max_load."""
    deadline = time.time() + wait
    while True:
        load = os.getloadavg()[0]
        if load <= max_load or time.time() >= deadline:
            return load
        log("load average %.2f > %.2f, waiting" % (load, max_load))
        time.sleep(15)


# ------------------------------------------------------------ parts


def measure_once(name, args, connections):
    server = start_server(name, args)
    try:
        run_wrk(server.url, connections, 1, args.client_cpu)  # warm-up
        cpu0, busy0, t0 = server.cpu_seconds(), machine_busy_seconds(), time.monotonic()
        r = run_wrk(server.url, connections, args.duration, args.client_cpu)
        cpu1, busy1, t1 = server.cpu_seconds(), machine_busy_seconds(), time.monotonic()
    finally:
        server.stop()
    wall = t1 - t0
    r["cpu"] = cpu1 - cpu0
    r["cpu_us"] = r["cpu"] / r["requests"] * 1e6
    r["busy"] = r["cpu"] / wall
    r["foreign"] = max(0.0, (busy1 - busy0) - r["cpu"] - r["wrk_cpu"]) / wall
    return r


def interleaved_runs(servers, args):
    """Every server at every connection count, --reps times, interleaved;
    returns {(server, connections): [best run of each repetition]} and the
    other load of every kept run."""
    results = {}  # (server, connections) -> [run per repetition]
    foreign_all = []
    for rep in range(args.reps):
        for c in args.connections:
            for name in servers:
                best = None
                for attempt in range(args.retries + 1):
                    wait_until_idle(args)
                    r = measure_once(name, args, c)
                    log("rep %d c=%d %-12s %8.0f req/s  p99 %6.2f ms  %6.2f us/req  busy %3.0f%%  other %.2f"
                        % (rep + 1, c, name, r["rps"], r["p99_ms"], r["cpu_us"], r["busy"] * 100, r["foreign"]))
                    if best is None or r["foreign"] < best["foreign"]:
                        best = r
                    if r["foreign"] <= args.max_foreign or attempt == args.retries:
                        break
                    log("  other load %.2f cores > %.2f: retrying" % (r["foreign"], args.max_foreign))
                results.setdefault((name, c), []).append(best)
                foreign_all.append(best["foreign"])
    return results, foreign_all


def cpu_ratio(results, a, b, c):
    """Median over repetitions of server a's CPU per request / server b's."""
    return statistics.median(x["cpu_us"] / y["cpu_us"] for x, y in zip(results[(a, c)], results[(b, c)]))


def runs_summary(args, foreign_all):
    return ("Medians of %d runs of %d s each; server on CPU %s, wrk -t1 on CPU %s. Other load during the "
            "runs: median %.2f, max %.2f cores." % (args.reps, args.duration, args.server_cpu, args.client_cpu,
                                                    statistics.median(foreign_all), max(foreign_all)))


def server_cells(results, name, c):
    """The first cells of a server's row: name, requests/s, p99, busy, CPU per request."""
    runs = results[(name, c)]
    med = lambda key: statistics.median(r[key] for r in runs)
    errors = sum(r["errors"] for r in runs)
    note = " (%d wrk errors)" % errors if errors else ""
    return "| %s%s | %.0f | %s | %.0f%% | %.2f us" % (
        SERVER_TITLES[name], note, med("rps"), format_ms(med("p99_ms")), med("busy") * 100, med("cpu_us"))


def print_every_run(results, servers, args):
    print("Every run (CPU us per request):")
    print()
    for c in args.connections:
        for name in servers:
            print("- c=%d %s: %s" % (c, name, ", ".join("%.2f" % r["cpu_us"] for r in results[(name, c)])))
    print()


def throughput(args):
    servers = ["gale", "asio", "tornado-web", "tornado-bare"]
    results, foreign_all = interleaved_runs(servers, args)
    print("#### Throughput and CPU per request (wrk, 127.0.0.1)")
    print()
    print(runs_summary(args, foreign_all))
    print()
    for c in args.connections:
        print("%d connection%s:" % (c, "" if c == 1 else "s"))
        print()
        print("| server | requests/s | p99 latency | server CPU busy | server CPU per request "
              "| vs raw Asio | Tornado web / this | Tornado bare / this |")
        print("|---|--:|--:|--:|--:|--:|--:|--:|")
        for name in servers:
            print("%s | %.2f | %.1f | %.1f |" % (
                server_cells(results, name, c), cpu_ratio(results, name, "asio", c),
                cpu_ratio(results, "tornado-web", name, c), cpu_ratio(results, "tornado-bare", name, c)))
        print()
    print_every_run(results, servers, args)


def format_ms(ms):
    return "%.0f us" % (ms * 1e3) if ms < 1 else "%.2f ms" % ms


def callgrind_total(path):
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError("no totals in " + path)


def callgrind_calls(path, function):
    """How many times the profile's code called `function` (e.g. malloc)."""
    names = {}  # callgrind's compressed names: "(12) malloc" once, then "(12)"
    calls = 0
    target = False
    with open(path) as f:
        for line in f:
            if line.startswith(("fn=", "cfn=", "cfi=", "cfl=", "fl=", "fi=", "fe=", "ob=", "cob=")):
                key, _, rest = line.rstrip("\n").partition("=")
                m = re.match(r"\((\d+)\)(?: (.*))?", rest)
                name = rest
                if m:
                    if m.group(2) is not None:
                        names[(key.lstrip("c")[:2], m.group(1))] = m.group(2)
                    name = names.get((key.lstrip("c")[:2], m.group(1)), "")
                if key == "cfn":
                    target = name == function
            elif line.startswith("calls=") and target:
                calls += int(line[6:].split()[0])
                target = False
    return calls


def callgrind_per_request(name, c, args):
    """Ir and malloc calls per request of server variant `name` under wrk
    with c connections: the difference of a long and a short run."""
    os.makedirs(args.out_dir, exist_ok=True)
    points = []
    for d in (args.callgrind_short, args.callgrind_long):
        out = os.path.join(args.out_dir, "callgrind.%s.c%d.%ds.out" % (name, c, d))
        server = start_server(name, args, prefix=["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                                                  "--log-file=" + out + ".log"])
        try:
            run_wrk(server.url, c, d, args.client_cpu)
        finally:
            n = server.stop(timeout=300)
        ir, mallocs = callgrind_total(out), callgrind_calls(out, "malloc")
        points.append((n, ir, mallocs))
        log("callgrind c=%d %-20s %2ds: %d requests, %d Ir, %d mallocs" % (c, name, d, n, ir, mallocs))
    (n0, ir0, m0), (n1, ir1, m1) = points
    return (ir1 - ir0) / (n1 - n0), (m1 - m0) / (n1 - n0)


def callgrind(args):
    rows = {}
    for c in args.connections:
        for name in ("gale", "asio"):
            rows[(name, c)] = callgrind_per_request(name, c, args)[0]
    print("#### Instructions per request (callgrind)")
    print()
    print("User-space instructions (Ir) per request, all of the server process: (Ir of a %d s run - Ir of "
          "a %d s run) / (requests answered in each), under wrk -t1. Profiles: %s." % (
              args.callgrind_long, args.callgrind_short, args.out_dir))
    print()
    print("| connections | gale | raw Asio | gale / raw Asio |")
    print("|--:|--:|--:|--:|")
    for c in args.connections:
        g, a = rows[("gale", c)], rows[("asio", c)]
        print("| %d | %s | %s | %.2f |" % (c, "{:,.0f}".format(g), "{:,.0f}".format(a), g / a))
    print()


def web(args):
    servers = list(dict.fromkeys(name for _, names, _, _ in WEB_GROUPS for name in names))
    results, foreign_all = interleaved_runs(servers, args)
    print("#### The full framework: TechEmpower's plaintext and JSON tests (wrk, 127.0.0.1)")
    print()
    print(runs_summary(args, foreign_all) + " Ratios are medians of per-repetition ratios of server CPU per request.")
    print()
    for title, names, base, base_heading in WEB_GROUPS:
        tornado = names[3]
        for c in args.connections:
            print("%s, %d connection%s:" % (title, c, "" if c == 1 else "s"))
            print()
            print("| server | requests/s | p99 latency | server CPU busy | server CPU per request | %s "
                  "| Tornado / this |" % base_heading)
            print("|---|--:|--:|--:|--:|--:|--:|")
            for name in names:
                print("%s | %.2f | %.1f |" % (server_cells(results, name, c), cpu_ratio(results, name, base, c),
                                             cpu_ratio(results, tornado, name, c)))
            print()
    print_every_run(results, servers, args)


WEB_CALLGRIND = ["gale-web-plaintext", "gale", "gale-web-json", "gale-json", "asio",
                 "gale-web-regex100", "gale-web-pcre100"]


def webcallgrind(args):
    rows = {}
    for c in args.connections:
        for name in WEB_CALLGRIND:
            rows[(name, c)] = callgrind_per_request(name, c, args)
    print("#### The full framework: instructions and allocations per request (callgrind)")
    print()
    print("User-space instructions (Ir) and malloc calls per request, all of the server process: (a %d s run "
          "- a %d s run) / (requests answered in each), under wrk -t1. Profiles: %s." % (
              args.callgrind_long, args.callgrind_short, args.out_dir))
    print()
    print("| server | connections | Ir per request | vs gale bare | vs raw Asio | mallocs per request |")
    print("|---|--:|--:|--:|--:|--:|")
    for c in args.connections:
        for name in WEB_CALLGRIND:
            ir, mallocs = rows[(name, c)]
            bare = rows[("gale-json" if "json" in name else "gale", c)][0]
            print("| %s | %d | %s | %.2f | %.2f | %.2f |" % (
                SERVER_TITLES[name], c, "{:,.0f}".format(ir), ir / bare, ir / rows[("asio", c)][0], mallocs))
    print()


def syscalls(args):
    servers = ["gale", "asio", "tornado-web", "tornado-bare"]
    library = os.path.join(args.build_dir, "benchmarks", "libhttp_syscount.so")
    env = dict(os.environ, LD_PRELOAD=library)
    rows = {}
    for c in args.connections:
        for name in servers:
            wait_until_idle(args)
            server = Server(server_command(name, args.build_dir), args.server_cpu, env=env)
            try:
                run_wrk(server.url, c, 1, args.client_cpu)  # warm-up
                server.process.send_signal(signal.SIGUSR2)
                time.sleep(0.2)
                r = run_wrk(server.url, c, args.duration, args.client_cpu)
                server.process.send_signal(signal.SIGUSR2)
                time.sleep(0.2)
            finally:
                server.stop()
            counts = [dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", line))
                      for line in server.stderr.decode().splitlines() if line.startswith("syscalls ")]
            if len(counts) < 2:
                raise RuntimeError("no system call counts from %s: %r" % (name, server.stderr[-500:]))
            per = dict((k, (counts[1][k] - counts[0][k]) / r["requests"]) for k in counts[0])
            rows[(name, c)] = per
            log("syscalls c=%d %-12s %s" % (c, name, " ".join("%s=%.2f" % kv for kv in per.items())))
    print("#### System calls per request")
    print()
    print("Counted inside the server (LD_PRELOAD of libhttp_syscount.so) over one %d s wrk run, divided by the "
          "requests wrk completed." % args.duration)
    print()
    print("| server | connections | recv | send | epoll_wait | epoll_ctl | total |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    for c in args.connections:
        for name in servers:
            per = rows[(name, c)]
            print("| %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f |" % (
                SERVER_TITLES[name], c, per["recv"], per["send"], per["epoll_wait"], per["epoll_ctl"],
                sum(per.values())))
    print()


CLIENT_TITLES = {
    "gale-pool": "gale AsyncHTTPClient, keep-alive pooling",
    "gale-nopool": "gale AsyncHTTPClient, keep_alive = false",
    "tornado": "Tornado 6.2 simple_httpclient (a connection per fetch)",
}


def client(args):
    clients = ["gale-pool", "gale-nopool", "tornado"]
    results = {}
    for rep in range(args.reps):
        for name in clients:
            if name == "tornado":
                command = [PYTHON, os.path.join(HERE, "http_client_tornado.py")]
            else:
                command = [os.path.join(args.build_dir, "benchmarks", "http_client_gale")]
                if name == "gale-nopool":
                    command.append("--no-keep-alive")
            wait_until_idle(args)
            server = Server(server_command("gale", args.build_dir), args.server_cpu)
            try:
                cpu0 = server.cpu_seconds()
                out = subprocess.run(["taskset", "-c", str(args.client_cpu), *command, server.url,
                                      "--requests", str(args.fetches)],
                                     check=True, capture_output=True, text=True).stdout
                server_cpu = server.cpu_seconds() - cpu0
            finally:
                server.stop()
            m = re.search(r"fetches (\d+) seconds ([\d.]+) cpu ([\d.]+)", out)
            n, wall, cpu = int(m.group(1)), float(m.group(2)), float(m.group(3))
            r = {"rate": n / wall, "client_us": cpu / n * 1e6, "server_us": server_cpu / (n + 100) * 1e6}
            results.setdefault(name, []).append(r)
            log("client rep %d %-12s %7.0f fetches/s  client %6.1f us/fetch  server %5.1f us/fetch"
                % (rep + 1, name, r["rate"], r["client_us"], r["server_us"]))
    print("#### HTTP client: %s sequential fetches" % "{:,}".format(args.fetches))
    print()
    print("Each fetch awaited before the next, against gale's hello server on 127.0.0.1 (server on CPU %s, "
          "client on CPU %s), after 100 untimed fetches; medians of %d runs. Server CPU per fetch includes "
          "accepting the connection when the client opens one per fetch." % (args.server_cpu, args.client_cpu,
                                                                                args.reps))
    print()
    print("| client | fetches/s | client CPU per fetch | server CPU per fetch | fetches/s vs Tornado |")
    print("|---|--:|--:|--:|--:|")
    for name in clients:
        runs = results[name]
        med = lambda key: statistics.median(r[key] for r in runs)
        speedup = statistics.median(x["rate"] / y["rate"] for x, y in zip(runs, results["tornado"]))
        print("| %s | %.0f | %.1f us | %.1f us | %.1f |" % (
            CLIENT_TITLES[name], med("rate"), med("client_us"), med("server_us"), speedup))
    print()


def open_idle(port, count, parallel, timeout=300):
    client = subprocess.Popen([PYTHON, os.path.join(HERE, "http_idle_clients.py"), str(port),
                               "--count", str(count), "--parallel", str(parallel)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    ready, _, _ = select.select([client.stdout], [], [], timeout)
    line = client.stdout.readline().decode() if ready else ""
    if line.strip() != "ready %d" % count:
        client.kill()
        raise RuntimeError("idle clients did not get ready: %r" % line)
    return client


def close_idle(client):
    client.stdin.close()
    client.wait(timeout=120)


def rss(args):
    servers = ["gale", "asio", "tornado-bare"]
    results = {}
    for rep in range(args.reps):
        for name in servers:
            server = Server(server_command(name, args.build_dir), args.server_cpu)
            try:
                close_idle(open_idle(server.port, 1, 1))  # warm-up: one request
                time.sleep(0.5)
                before = server.status("VmRSS")
                client = open_idle(server.port, args.idle, args.idle_parallel)
                time.sleep(1)
                after = server.status("VmRSS")
                close_idle(client)
                time.sleep(1)
                closed = server.status("VmRSS")
            finally:
                n = server.stop()
            per = (after - before) / args.idle
            results.setdefault(name, []).append((before, after, closed, per))
            log("rss rep %d %-12s before %d KiB, with %d idle %d KiB (%.2f KiB each), after they closed %d KiB"
                " [%s requests]" % (rep + 1, name, before // 1024, args.idle, after // 1024, per / 1024,
                                    closed // 1024, n))
    print("#### Memory of %s idle keep-alive connections" % "{:,}".format(args.idle))
    print()
    print("Server VmRSS before and with the connections open, each having sent one request and read its "
          "answer; medians of %d runs." % args.reps)
    print()
    print("| server | VmRSS before | VmRSS with %s idle | per idle connection | VmRSS after they closed |"
          % "{:,}".format(args.idle))
    print("|---|--:|--:|--:|--:|")
    for name in servers:
        runs = results[name]
        med = lambda i: statistics.median(r[i] for r in runs)
        print("| %s | %.1f MiB | %.1f MiB | %.2f KiB | %.1f MiB |" % (
            SERVER_TITLES[name], med(0) / 2**20, med(1) / 2**20, med(3) / 1024, med(2) / 2**20))
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--parts", default="throughput,callgrind,syscalls,client,rss,web,webcallgrind")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", default="1,64")
    parser.add_argument("--server-cpu", default=str(os.cpu_count() - 1))
    parser.add_argument("--client-cpu", default="0")
    parser.add_argument("--max-load", type=float, default=1.5,
                        help="wait until the 1-minute load average is below this before starting")
    parser.add_argument("--load-wait", type=int, default=1800, help="seconds to wait for that at most")
    parser.add_argument("--max-foreign", type=float, default=0.3,
                        help="retry a run when the rest of the machine used more cores than this")
    parser.add_argument("--retries", type=int, default=2)
    parser.add_argument("--quiet-wait", type=int, default=900,
                        help="before each timed run, wait at most this long for the machine to be idle")
    parser.add_argument("--callgrind-short", type=int, default=3)
    parser.add_argument("--callgrind-long", type=int, default=9)
    parser.add_argument("--fetches", type=int, default=10000)
    parser.add_argument("--idle", type=int, default=10000)
    parser.add_argument("--idle-parallel", type=int, default=64)
    parser.add_argument("--out-dir", default="/tmp/http-bench-results")
    args = parser.parse_args()
    args.connections = [int(c) for c in args.connections.split(",")]
    parts = args.parts.split(",")
    all_parts = ("throughput", "callgrind", "syscalls", "client", "rss", "web", "webcallgrind")
    unknown = set(parts) - set(all_parts)
    if unknown:
        parser.error("unknown parts: " + ", ".join(sorted(unknown)))

    load = wait_for_quiet(args.max_load, args.load_wait)
    print("- load average when the measurements started: %.2f (1 min), %.2f, %.2f" % (load, *os.getloadavg()[1:]))
    print()
    for part in all_parts:
        if part in parts:
            globals()[part](args)
    print("- load average at the end: %.2f, %.2f, %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
