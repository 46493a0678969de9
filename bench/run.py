"""Run the benchmark scenarios against one or more targets and record the results.

    python bench/run.py raw-echo ocpp-rpc ocpp-rpc-sqlite python-ocpp   # the peers
    python bench/run.py voltline                                        # Voltline (sqlite)
    python bench/run.py voltline --database-url postgresql://postgres@127.0.0.1:5432/test

Every scenario run starts a fresh server pinned to core 0 (taskset -c 0) and the load
generator pinned to core 1 (taskset -c 1), repeats --repeat times (default 3) and reports
the medians. Each run's raw JSON goes to bench/results/raw/ (git-ignored); one summary
JSON per invocation goes to bench/results/.

Scenarios:
  1 throughput   1,000 charge points, closed loop, Heartbeat:MeterValues 1:1 (4 sampled values), 20 s
  2 idle         19,800 connected, booted, idle charge points: server RSS per connection
  3 storm        19,800 charge points connecting and booting at once: time until all accepted
  4 command      RemoteStartTransaction through the REST API (p50/p99) while scenario 1 runs
                 (needs a REST API: target voltline)
  5 single       one connection, closed-loop Heartbeat: p50 latency
  6 password-storm  scenario 1, and from its middle on 100 WebSocket handshakes/s with a wrong
                 Basic-auth password to known identities: the fleet's p99 disturbed / quiet
  7 heavy-read   scenario 1 on a database of 10 M sampled values, and from its middle on a heavy
                 operator read every second (deep pages of meter values and of the message log,
                 the transactions' CSV export): the fleet's p99 disturbed / quiet
                 (6 and 7 need target voltline; the history database is built once per schema
                 and kept: bench/.cache/ for SQLite, a template database on PostgreSQL)

System settings: the open-file soft limit is raised to the hard limit for the servers and
the generator; as root the script raises net.core.somaxconn and net.ipv4.tcp_max_syn_backlog
to 65535 when they are lower (a connection storm of 19,800 overflows smaller accept
queues), and prints what it changed (--no-sysctl to leave them alone). Client sockets are
spread over the source addresses 127.0.0.2-127.0.0.33 so the client's ephemeral-port
search is not what is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import history as bench_history  # bench/history.py: the database of scenario 7

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
RAW = RESULTS / "raw"
LOADGEN = BENCH / "loadgen" / "loadgen.py"
OCPP_RPC = BENCH / "peers" / "ocpp-rpc"
PY = sys.executable

# voltline-tls: the same server, its charge points over wss:// (a CA and certificate made at the
# start, TLS ended by the server itself), beside plain ws:// in an --interleave run.
# voltline-201: the same server, its charge points speaking OCPP 2.0.1: the mix's MeterValues
# become TransactionEvent Updated with the same sampled values (one open transaction per charge
# point, Started by its first event), beside 1.6 in an --interleave run.
# voltline-16tx: 1.6 with the same messages per session as voltline-201: StartTransaction by its
# first load message, then Heartbeat : MeterValues of that transaction (the 2.0.1 variant's
# like-for-like; plain voltline's MeterValues name no transaction).
# ocpp-rpc-sqlite-lean: the SQLite peer keeping heartbeats in memory (written every 15 s) as
# Voltline does, every other message committed in a transaction of its own.
TARGETS = (
    "voltline", "voltline-tls", "voltline-201", "voltline-16tx",
    "ocpp-rpc", "ocpp-rpc-sqlite", "ocpp-rpc-sqlite-lean", "python-ocpp", "raw-echo",
)
SQLITE_PEERS = ("ocpp-rpc-sqlite-lean", "ocpp-rpc-sqlite")
VOLTLINES = ("voltline", "voltline-tls", "voltline-201", "voltline-16tx")
SCENARIOS = {
    1: "throughput",
    2: "idle",
    3: "storm",
    4: "command",
    5: "single",
    6: "password-storm",
    7: "heavy-read",
}
VOLTLINE_ONLY = {4: "a REST API", 6: "charge points registered with a password", 7: "a REST API"}
CACHE = BENCH / ".cache"
STORM_PASSWORD = "the-right-password"
HEAVY_READS = (
    "/api/v1/meter-values?measurand=Voltage&offset=100000",
    "/api/v1/messages?offset=100000",
    "/api/v1/transactions/export.csv",
)
SOURCES = "127.0.0.2-127.0.0.33"
SYSCTLS = {"net.core.somaxconn": 65535, "net.ipv4.tcp_max_syn_backlog": 65535}


def log(msg: str) -> None:
    print(msg, flush=True)


# ------------------------------------------------------------------ machine


def raise_nofile() -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def tune_sysctls(enabled: bool) -> dict:
    changed = {}
    for key, want in SYSCTLS.items():
        path = Path("/proc/sys") / key.replace(".", "/")
        try:
            have = int(path.read_text().split()[0])
        except OSError:
            continue
        if enabled and have < want:
            try:
                path.write_text(str(want))
                changed[key] = {"was": have, "now": want}
                log(f"sysctl {key}: {have} -> {want}")
            except OSError as e:
                log(
                    f"warning: cannot raise {key} ({e}); storm results may show SYN drops"
                )
    return changed


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kib = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
    except OSError:
        mem_kib = 0

    def sysctl(key: str) -> str:
        try:
            return (Path("/proc/sys") / key.replace(".", "/")).read_text().strip()
        except OSError:
            return ""

    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": _out(["node", "--version"]),
        "open_file_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "somaxconn": sysctl("net.core.somaxconn"),
        "tcp_max_syn_backlog": sysctl("net.ipv4.tcp_max_syn_backlog"),
        "ip_local_port_range": sysctl("net.ipv4.ip_local_port_range").replace(
            "\t", " "
        ),
    }


def _out(cmd: list[str]) -> str:
    try:
        return subprocess.run(
            cmd, capture_output=True, text=True, timeout=30, check=False
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies over all cores, from /proc/stat."""
    fields = [
        int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    ]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def busy_cores(since: tuple[int, int]) -> float:
    busy, total = cpu_times()
    return round(
        (busy - since[0]) / max(1, total - since[1]) * (os.cpu_count() or 1), 3
    )


def wait_until_quiet(threshold: float, patience: float) -> float:
    """Benchmarks on a shared machine: wait (up to `patience` s) until other work uses less
    than `threshold` cores, and return what was in use, so noisy runs can be told apart."""
    deadline = time.monotonic() + patience
    while True:
        t0 = cpu_times()
        time.sleep(1)
        used = busy_cores(t0)
        if used <= threshold or time.monotonic() >= deadline:
            if used > threshold:
                log(
                    f"  warning: the machine is busy ({used} cores in use by other processes)"
                )
            return used
        log(
            f"  waiting for a quiet machine ({used} cores in use by other processes) ..."
        )
        time.sleep(4)


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def pin(core: int | None, cmd: list[str]) -> list[str]:
    return cmd if core is None else ["taskset", "-c", str(core), *cmd]


# ------------------------------------------------------------------ servers


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server exited with {proc.returncode} before listening on {port}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def ensure_ocpp_rpc_installed() -> None:
    if (OCPP_RPC / "node_modules" / "ocpp-rpc").is_dir() and (
        OCPP_RPC / "node_modules" / "better-sqlite3"
    ).is_dir():
        return
    if shutil.which("npm") is None:
        raise SystemExit("npm is needed for the ocpp-rpc peers")
    log("installing the ocpp-rpc peer (npm ci) ...")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=OCPP_RPC, check=True)


class Server:
    """One fresh server process of a target; the pid it reports is the one whose /proc we read."""

    def __init__(
        self, target: str, args: argparse.Namespace, workdir: Path, scenario: int = 1
    ) -> None:
        self.target, self.args, self.workdir, self.scenario = target, args, workdir, scenario
        self.proc: subprocess.Popen | None = None
        self.database_url = args.database_url or f"sqlite:///{workdir / 'voltline.db'}"
        self.own_database: str | None = None  # a PostgreSQL database made for this run
        self.log = None
        self.token: str | None = None

    def command(self) -> tuple[list[str], dict]:
        port = str(self.args.ocpp_port)
        env = dict(os.environ)
        if self.target == "raw-echo":
            return [
                PY,
                str(BENCH / "peers" / "raw-echo" / "server.py"),
                "--port",
                port,
            ], env
        if self.target == "python-ocpp":
            return [
                PY,
                str(BENCH / "peers" / "python-ocpp" / "server.py"),
                "--port",
                port,
            ], env
        if self.target in ("ocpp-rpc",) + SQLITE_PEERS:
            cmd = ["node", str(OCPP_RPC / "server.js"), "--port", port]
            if self.target in SQLITE_PEERS:
                cmd += ["--sqlite", str(self.workdir / "ocpp-rpc.db")]
            if self.target == "ocpp-rpc-sqlite-lean":
                cmd += ["--lean"]
            return cmd, env
        if self.target in VOLTLINES:
            env.update(voltline_env(self.database_url))
            if self.target == "voltline-tls":
                pki = bench_pki(self.workdir)
                env.update({"VOLTLINE_OCPP_TLS_CERT": pki.server_cert, "VOLTLINE_OCPP_TLS_KEY": pki.server_key,
                            "VOLTLINE_OCPP_TLS_PORT": str(self.args.ocpp_tls_port)})
            return [
                voltline_exe(),
                "serve",
                "--ocpp-port",
                port,
                "--port",
                str(self.args.api_port),
            ], env
        raise ValueError(self.target)

    def start(self) -> int:
        ports = [self.args.ocpp_port] + (
            [self.args.api_port] if self.target in VOLTLINES else []
        ) + ([self.args.ocpp_tls_port] if self.target == "voltline-tls" else [])
        for port in ports:
            if not port_free(port):
                raise RuntimeError(
                    f"127.0.0.1:{port} is already in use by another process; pick --ocpp-port/--api-port"
                )
        if self.target in SQLITE_PEERS:  # every run starts on an empty peer database
            for suffix in ("", "-wal", "-shm"):
                (self.workdir / f"ocpp-rpc.db{suffix}").unlink(missing_ok=True)
        if self.target in VOLTLINES:
            history = self.scenario == 7
            history_file: Path | None = None
            if is_postgres(self.args.database_url or ""):
                if history and self.args.keep_database:
                    raise RuntimeError("scenario 7 fills a database of its own: drop --keep-database")
                if not self.args.keep_database:
                    template = (
                        bench_history.cached_postgres(
                            bench_history.plan_of(self.args), self.args.database_url, log
                        )
                        if history
                        else None
                    )
                    self.database_url = self.own_database = fresh_postgres_database(
                        self.args.database_url, template
                    )
            elif history:
                history_file = bench_history.cached_sqlite(
                    bench_history.plan_of(self.args), CACHE, log
                )
            self.token = prepare_voltline(self.database_url, self.workdir, history_file)
        cmd, env = self.command()
        self.log = open(self.workdir / f"{self.target}.log", "ab")  # noqa: SIM115 - closed in stop()
        # taskset execs the server, so the child's pid is the server's.
        self.proc = subprocess.Popen(
            pin(self.args.server_core, cmd),
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
        )
        wait_port(self.args.ocpp_port, self.proc)
        if self.target == "voltline-tls":
            wait_port(self.args.ocpp_tls_port, self.proc)
        if self.target in VOLTLINES:
            wait_port(self.args.api_port, self.proc)
            register_id_tag(self.args, self.token)
            if self.scenario == 6:
                register_storm_identities(self.args, self.token)
        time.sleep(0.5)
        return self.proc.pid

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log:
            self.log.close()
        if self.own_database is not None:
            drop_postgres_database(self.args.database_url, self.own_database)
            self.own_database = None


# ------------------------------------------------------------------ voltline


def voltline_exe() -> str:
    exe = shutil.which("voltline") or str(Path(PY).parent / "voltline")
    if not Path(exe).exists():
        raise SystemExit(
            "the voltline command is not installed (pip install -e . in the repository)"
        )
    return exe


def voltline_env(database_url: str) -> dict:
    return {"VOLTLINE_DATABASE_URL": database_url, "VOLTLINE_AUTO_REGISTER": "true"}


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def postgres_admin(url: str, statement: str) -> None:
    """Run one statement (CREATE/DROP DATABASE) on the server of `url`, outside a transaction."""
    import asyncio

    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


def fresh_postgres_database(url: str, template: str | None = None) -> str:
    """A new, empty database on the server of `url` for one run (as SQLite gets a fresh file):
    a log of tens of millions of rows left by earlier runs, with its autovacuum and checkpoints,
    would otherwise weigh on every later run differently. With `template`, a copy of that
    database (the history of scenario 7), copied file by file: faster than through the WAL."""
    name = f"voltline_bench_{os.getpid()}_{int(time.time() * 1000)}"
    copy = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
    try:
        postgres_admin(url, f'CREATE DATABASE "{name}"{copy}')
    except Exception as error:
        raise SystemExit(
            f"could not create a database for the run on {url} ({error}); the user needs CREATEDB,"
            " or pass --keep-database to run in that database itself"
        ) from error
    base, _, rest = url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{rest}" if rest else "")


def drop_postgres_database(admin_url: str, url: str) -> None:
    name = url.partition("?")[0].rsplit("/", 1)[1]
    try:
        postgres_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception as error:  # noqa: BLE001 - a leftover database must not fail the benchmark
        log(f"warning: could not drop the benchmark database {name}: {error}")


def prepare_voltline(database_url: str, workdir: Path, history: Path | None = None) -> str:
    """Fresh schema (voltline migrate) and a new API token (voltline token create); on SQLite
    with `history`, a copy of that database instead of an empty one."""
    env = dict(os.environ, **voltline_env(database_url))
    if database_url.startswith("sqlite:"):
        for suffix in ("", "-wal", "-shm"):
            (workdir / f"voltline.db{suffix}").unlink(missing_ok=True)
        if history is not None:
            shutil.copyfile(history, workdir / "voltline.db")
    subprocess.run(
        [voltline_exe(), "migrate"],
        env=env,
        check=True,
        cwd=workdir,
        capture_output=True,
        timeout=300,
    )
    out = subprocess.run(
        [voltline_exe(), "token", "create", "--name", "bench"],
        env=env,
        check=True,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    if not lines:
        raise RuntimeError("voltline token create printed no token")
    return lines[-1]


BENCH_ID_TAG = "BENCHTAG"


def register_id_tag(args: argparse.Namespace, token: str | None) -> None:
    """The tag the generator's remote starts use, registered as an operator would: Voltline
    checks a tag before it sends RemoteStartTransaction."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{args.api_port}/api/v1/id-tags",
        data=json.dumps({"id_tag": BENCH_ID_TAG, "status": "Accepted"}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        urllib.request.urlopen(request, timeout=10).close()
    except urllib.error.HTTPError as error:
        if error.code != 409:  # already there (a PostgreSQL database is reused between runs)
            raise


def register_storm_identities(args: argparse.Namespace, token: str | None) -> None:
    """The identities the wrong-password storm knocks at: known charge points with a password,
    registered as an operator would (the server hashes each password once here)."""
    for i in range(args.storm_identities):
        request = urllib.request.Request(
            f"http://127.0.0.1:{args.api_port}/api/v1/charge-points",
            data=json.dumps({"id": f"STORM-{i + 1:04d}", "password": STORM_PASSWORD}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            urllib.request.urlopen(request, timeout=30).close()
        except urllib.error.HTTPError as error:
            if error.code != 409:
                raise


# ------------------------------------------------------------------ scenarios


def bench_pki(workdir: Path):  # -> voltline.demo_tls.DemoPki
    """A CA and the server's certificate (EC P-256) for target voltline-tls, made once per run."""
    from voltline.demo_tls import DemoPki, make_demo_pki

    folder = workdir / "tls"
    if not (folder / "server.pem").exists():
        make_demo_pki(folder, [])
    return DemoPki(folder)


def loadgen_args(
    scenario: int, args: argparse.Namespace, pid: int, token: str | None, target: str = "voltline"
) -> list[str]:
    url = f"ws://127.0.0.1:{args.ocpp_port}/ocpp"
    variant: list[str] = []
    if target == "voltline-tls":
        url = f"wss://127.0.0.1:{args.ocpp_tls_port}/ocpp"
        variant = ["--ca-file", bench_pki(args.workdir).ca_file]
    if target == "voltline-201":
        variant = ["--ocpp-version", "2.0.1"]
    common = variant + [
        "--url",
        url,
        "--server-pid",
        str(pid),
        "--source-addresses",
        SOURCES,
        "--quiet",
        "--label",
        SCENARIOS[scenario],
    ]
    if scenario in (1, 4, 6, 7):
        extra = [
            "--charge-points",
            str(args.charge_points),
            "--duration",
            str(args.duration),
            "--mix",
            "heartbeat:1,transactionevent:1" if target in ("voltline-201", "voltline-16tx") else "heartbeat:1,metervalues:1",
            "--sampled-values",
            "4",
        ]
        if scenario == 4:
            extra += [
                "--api-url",
                f"http://127.0.0.1:{args.api_port}",
                "--remote-start-rate",
                str(args.remote_start_rate),
                "--id-tag",
                BENCH_ID_TAG,
            ]
            if token:
                extra += ["--api-token", token]
        if scenario in (6, 7):
            # A CALL stalled behind the disturbance is answered late, not lost: it is waited for
            # (and its latency counted) rather than given up on after the usual 30 s.
            extra += ["--call-timeout", str(args.stall_timeout)]
            if args.disturb_after is not None:
                extra += ["--disturb-after", str(args.disturb_after)]
        if scenario == 6:
            extra += [
                "--storm-rate",
                str(args.storm_rate),
                "--storm-prefix",
                "STORM-",
                "--storm-count",
                str(args.storm_identities),
                "--storm-password",
                "a-wrong-password",
                "--storm-source-addresses",
                args.storm_sources,
            ]
        if scenario == 7:
            extra += ["--api-url", f"http://127.0.0.1:{args.api_port}"]
            if token:
                extra += ["--api-token", token]
            for path in args.heavy_read or HEAVY_READS:
                extra += ["--heavy-read", path]
        return common + extra
    if scenario == 2:
        return common + [
            "--charge-points",
            str(args.idle_charge_points),
            "--idle",
            "--duration",
            str(args.idle_hold),
            "--connect-concurrency",
            "1000",
            "--settle",
            "3",
        ]
    if scenario == 3:
        return common + [
            "--charge-points",
            str(args.storm_charge_points),
            "--duration",
            "0",
            "--connect-concurrency",
            "0",
            "--connect-timeout",
            str(args.storm_timeout),
        ]
    if scenario == 5:
        return common + [
            "--charge-points",
            "1",
            "--duration",
            str(args.single_duration),
            "--mix",
            "heartbeat:1",
        ]
    raise ValueError(scenario)


def run_once(
    target: str, scenario: int, args: argparse.Namespace, workdir: Path
) -> dict:
    background = wait_until_quiet(args.quiet_threshold, args.quiet_wait)
    server = Server(target, args, workdir, scenario)
    try:
        # Inside the try: a start that fails halfway still stops the server and drops its database.
        pid = server.start()
        cmd = pin(
            args.loadgen_core,
            [PY, str(LOADGEN), *loadgen_args(scenario, args, pid, server.token, target)],
        )
        t0 = cpu_times()
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=args.run_timeout, check=False
        )
        machine_busy = busy_cores(t0)
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            raise RuntimeError(
                f"load generator failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}"
            )
        result = json.loads(lines[-1])
        # Cores busy machine-wide during the run (server + generator + anything else) and
        # before it (anything else): a run on a shared machine is only as good as these.
        result["machine_busy_cores_during"] = machine_busy
        result["other_busy_cores_before"] = background
        if server.proc.poll() is not None:
            result["server_exited"] = server.proc.returncode
    finally:
        server.stop()
    result.update(target=target, scenario=scenario, scenario_name=SCENARIOS[scenario])
    return result


# What each scenario is judged by; the summary keeps the median of each over the repeats.
# What scenarios 6 and 7 report of the fleet: quiet and disturbed halves of one run.
_DISTURBED = [
    "p99_ratio",
    "quiet.latency.p99_ms",
    "disturbed.latency.p99_ms",
    "quiet.messages_per_s",
    "disturbed.messages_per_s",
    "quiet.latency.p50_ms",
    "disturbed.latency.p50_ms",
    "heartbeat_p99_ratio",
    "disturbed.latency.max_ms",
]

FIGURES = {
    1: [
        "messages_per_s",
        "latency.p50_ms",
        "latency.p95_ms",
        "latency.p99_ms",
        "latency.max_ms",
        "connections_established",
        "time_to_connect_and_boot_all_s",
        "errors",
        "server_cpu_utilization",
        "generator_cpu_utilization",
    ],
    2: [
        "connections_established",
        "server_rss_per_connection_kib",
        "server_rss_after_boot_kib",
        "server_rss_end_kib",
        "time_to_connect_and_boot_all_s",
        "errors",
    ],
    3: [
        "connections_established",
        "time_to_all_connected_s",
        "time_to_connect_and_boot_all_s",
        "time_connect_phase_s",
        "boot_latency.p99_ms",
        "connect_attempts",
        "errors",
    ],
    4: [
        "remote_start.latency.p50_ms",
        "remote_start.latency.p99_ms",
        "remote_start.ok",
        "remote_start.sent",
        "messages_per_s",
        "latency.p50_ms",
        "latency.p99_ms",
        "errors",
    ],
    5: ["latency.p50_ms", "latency.p99_ms", "messages_per_s", "errors"],
    6: [
        *_DISTURBED,
        "storm.sent",
        "storm.answered_401",
        "storm.answered_429",
        "storm.other",
        "storm.latency.p50_ms",
        "storm.latency.p99_ms",
        "connections_at_end",
        "errors",
    ],
    7: [
        *_DISTURBED,
        *(
            f"heavy_read.reads.{name}.latency.{figure}"
            for name in ("meter-values", "messages", "export-csv")
            for figure in ("p50_ms", "max_ms", "count")
        ),
        "connections_at_end",
        "errors",
    ],
}
COMMON = ["other_busy_cores", "other_busy_cores_connect"]


def dig(d: dict, path: str):
    for part in path.split("."):
        if not isinstance(d, dict):
            return None
        d = d.get(part)
    return d


def medians(runs: list[dict], scenario: int) -> dict:
    out = {}
    for key in FIGURES[scenario] + COMMON:
        values = [v for v in (dig(r, key) for r in runs) if isinstance(v, (int, float))]
        out[key] = (
            round(statistics.median(values), 3)
            if len(values) == len(runs) and values
            else None
        )
    return out


# ------------------------------------------------------------------ main


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "targets",
        nargs="+",
        choices=TARGETS + ("peers",),
        help="'peers' = every target but voltline",
    )
    p.add_argument(
        "--scenarios",
        default=None,
        help="comma list of 1-7 or their names (default 1,2,3,5 and 4 for voltline; 6 and 7"
        " only when asked)",
    )
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument(
        "--interleave",
        action="store_true",
        help="run 1 of every target and scenario, then run 2, ...: on a host whose speed drifts"
        " over minutes, every target sees the same drift",
    )
    p.add_argument("--ocpp-port", type=int, default=9000)
    p.add_argument("--ocpp-tls-port", type=int, default=9443, help="target voltline-tls: its wss:// port")
    p.add_argument("--api-port", type=int, default=8000)
    p.add_argument(
        "--database-url",
        help="voltline: VOLTLINE_DATABASE_URL (default a fresh SQLite file); on PostgreSQL each"
        " run gets a database of its own on that server, created and dropped around it",
    )
    p.add_argument(
        "--keep-database",
        action="store_true",
        help="PostgreSQL: run in the --database-url database itself, keeping what earlier runs left",
    )
    p.add_argument("--charge-points", type=int, default=1000, help="scenarios 1 and 4")
    p.add_argument(
        "--duration", type=float, default=20, help="scenarios 1 and 4, seconds"
    )
    p.add_argument(
        "--remote-start-rate",
        type=float,
        default=20,
        help="scenario 4, REST requests per second",
    )
    p.add_argument("--idle-charge-points", type=int, default=19800)
    p.add_argument(
        "--idle-hold",
        type=float,
        default=10,
        help="scenario 2: seconds to hold after RSS is read",
    )
    p.add_argument("--storm-charge-points", type=int, default=19800)
    p.add_argument("--storm-timeout", type=float, default=180)
    p.add_argument("--single-duration", type=float, default=10)
    p.add_argument(
        "--disturb-after",
        type=float,
        help="scenarios 6 and 7: seconds of quiet load before the disturbance (default: half"
        " of --duration); the disturbance lasts to the end",
    )
    p.add_argument(
        "--stall-timeout",
        type=float,
        default=150,
        help="scenarios 6 and 7: seconds a fleet CALL is waited for before it counts as lost",
    )
    p.add_argument("--storm-rate", type=float, default=100, help="scenario 6: handshakes per second")
    p.add_argument(
        "--storm-identities",
        type=int,
        default=20,
        help="scenario 6: known identities (with a password) the storm knocks at in turn",
    )
    p.add_argument(
        "--storm-sources",
        default="127.0.0.34-127.0.0.65",
        help="scenario 6: the storm's source addresses (the fleet uses " + SOURCES + ")",
    )
    p.add_argument(
        "--heavy-read",
        action="append",
        metavar="PATH",
        help="scenario 7: the operator reads taken in turn, one a second (default: "
        + ", ".join(HEAVY_READS)
        + ")",
    )
    bench_history.add_options(p)
    p.add_argument("--server-core", type=int, default=0)
    p.add_argument("--loadgen-core", type=int, default=1)
    p.add_argument("--no-pin", action="store_true", help="do not use taskset")
    p.add_argument(
        "--no-sysctl", action="store_true", help="leave kernel settings alone"
    )
    p.add_argument(
        "--quiet-threshold",
        type=float,
        default=0.15,
        help="wait before each run until other processes use fewer cores than this",
    )
    p.add_argument(
        "--quiet-wait", type=float, default=120, help="seconds to wait for that at most"
    )
    p.add_argument(
        "--max-other-cores",
        type=float,
        default=0.25,
        help="repeat a run during which other processes used more cores than this",
    )
    p.add_argument("--noisy-retries", type=int, default=3)
    p.add_argument(
        "--run-timeout",
        type=float,
        default=540,
        help="seconds one generator run may take",
    )
    a = p.parse_args()
    if a.no_pin:
        a.server_core = a.loadgen_core = None
    elif shutil.which("taskset") is None:
        p.error("taskset (util-linux) is not installed; use --no-pin")
    targets: list[str] = []
    for t in a.targets:
        for name in TARGETS[len(VOLTLINES):] if t == "peers" else (t,):
            if name not in targets:
                targets.append(name)
    a.targets = targets
    return a


def scenario_number(spec: str) -> int:
    spec = spec.strip()
    if spec.isdigit() and int(spec) in SCENARIOS:
        return int(spec)
    for number, name in SCENARIOS.items():
        if name == spec:
            return number
    raise SystemExit(f"unknown scenario {spec!r}: one of {SCENARIOS}")


def measure(target: str, scenario: int, args: argparse.Namespace, workdir: Path) -> dict:
    """One run; repeated (up to --noisy-retries times) while other processes were busy."""
    for attempt in range(args.noisy_retries + 1):
        try:
            result = run_once(target, scenario, args, workdir)
        except (RuntimeError, subprocess.SubprocessError, OSError) as e:
            log(f"  failed: {e}")
            return {"target": target, "scenario": scenario, "failed": str(e)}
        other = result.get("other_busy_cores")
        if other is None:  # no load window (storm): judge the connect phase
            other = result.get("other_busy_cores_connect") or 0
        result["noisy_retries"] = attempt
        if other <= args.max_other_cores:
            break
        if attempt < args.noisy_retries:
            log(f"  other processes used {other} cores during the run; repeating it")
    return result


def main() -> int:
    args = parse_args()
    # SIGTERM unwinds like Ctrl-C, so the server and generator of the current run are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    nofile = raise_nofile()
    if max(args.idle_charge_points, args.storm_charge_points) + 200 > nofile:
        log(f"warning: open-file hard limit {nofile} is below the 20k scenarios' needs")
    changed = tune_sysctls(not args.no_sysctl)
    if any(t.startswith("ocpp-rpc") for t in args.targets):
        ensure_ocpp_rpc_installed()
    RAW.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    summary = {
        "started_at": stamp,
        "machine": machine(),
        "sysctl_changed": changed,
        "repeat": args.repeat,
        "pinning": None
        if args.no_pin
        else {"server_core": args.server_core, "loadgen_core": args.loadgen_core},
        "targets": {},
    }

    pairs: list[tuple[str, int]] = []
    for target in args.targets:
        wanted = args.scenarios or ("1,2,3,4,5" if target in VOLTLINES else "1,2,3,5")
        for scenario in (scenario_number(s) for s in wanted.split(",") if s.strip()):
            if scenario in VOLTLINE_ONLY and target not in VOLTLINES:
                log(
                    f"{target}: scenario {scenario} ({SCENARIOS[scenario]}) needs"
                    f" {VOLTLINE_ONLY[scenario]}, which only target voltline has; skipped"
                )
                continue
            pairs.append((target, scenario))
    # Target by target, or (--interleave) round by round: run 1 of every pair, then run 2, …
    order = (
        [(k, pair) for k in range(1, args.repeat + 1) for pair in pairs]
        if args.interleave
        else [(k, pair) for pair in pairs for k in range(1, args.repeat + 1)]
    )
    runs: dict[tuple[str, int], list[dict]] = {pair: [] for pair in pairs}
    with tempfile.TemporaryDirectory(prefix="voltline-bench-") as tmp:
        workdir = args.workdir = Path(tmp)
        for k, (target, scenario) in order:
            log(f"{target}: scenario {scenario} ({SCENARIOS[scenario]}) run {k}/{args.repeat} ...")
            result = measure(target, scenario, args, workdir)
            (RAW / f"{stamp}-{target}-s{scenario}-r{k}.json").write_text(json.dumps(result, indent=1))
            if "failed" not in result:
                runs[(target, scenario)].append(result)
                shown = {key: dig(result, key) for key in FIGURES[scenario][:5]}
                log(f"  {json.dumps(shown)}")
            time.sleep(1)
    for (target, scenario), done in runs.items():
        summary["targets"].setdefault(target, {})[f"{scenario}-{SCENARIOS[scenario]}"] = {
            "runs": len(done),
            "median": medians(done, scenario) if done else None,
        }
    name = "-".join(args.targets) if len(args.targets) < 4 else "all"
    out = RESULTS / f"{stamp}-{name}.json"
    out.write_text(json.dumps(summary, indent=1) + "\n")
    log(f"\nsummary: {out.relative_to(BENCH.parent)}")
    for target, scen in summary["targets"].items():
        for key, s in scen.items():
            log(f"  {target:16} {key:13} {json.dumps(s['median'])}")
    log("\nREADME rows:")
    for target, scen in summary["targets"].items():
        if any(key[0] in "12345" for key in scen):
            log(markdown_row(target, scen))
        for key in ("6-password-storm", "7-heavy-read"):
            if (scen.get(key) or {}).get("median"):
                log(disturbance_row(target, key, scen[key]["median"]))
    for line in peer_ratios(summary["targets"]):
        log(line)
    print(json.dumps(summary))
    return 0


def peer_ratios(targets: dict) -> list[str]:
    """Each Voltline target's scenario-1 throughput over each SQLite peer's, with both p99s."""

    def s1(target: str) -> dict:
        return (targets.get(target, {}).get("1-throughput") or {}).get("median") or {}

    lines = []
    for mine in VOLTLINES:
        for peer in SQLITE_PEERS:
            a, b = s1(mine), s1(peer)
            if a.get("messages_per_s") and b.get("messages_per_s"):
                lines.append(
                    f"{mine} / {peer}: {a['messages_per_s'] / b['messages_per_s']:.2f} x"
                    f" ({a['messages_per_s']:,.0f} vs {b['messages_per_s']:,.0f} msgs/s;"
                    f" p99 {a.get('latency.p99_ms')} vs {b.get('latency.p99_ms')} ms)"
                )
    if lines:
        lines.insert(0, "\nratios (scenario 1):")
    return lines


def disturbance_row(target: str, key: str, median: dict) -> str:
    """target | scenario | quiet msgs/s, p50/p99 | disturbed msgs/s, p50/p99 | p99 ratio | ..."""

    def f(name: str) -> str:
        value = median.get(name)
        return "—" if value is None else (f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}")

    cells = [
        target,
        key,
        f"{f('quiet.messages_per_s')} at {f('quiet.latency.p50_ms')}/{f('quiet.latency.p99_ms')}",
        f"{f('disturbed.messages_per_s')} at {f('disturbed.latency.p50_ms')}/{f('disturbed.latency.p99_ms')}",
        f("p99_ratio"),
    ]
    if key.startswith("6"):
        cells.append(f"{f('storm.answered_401')} / {f('storm.answered_429')} / {f('storm.other')}")
    else:
        cells.append(
            " · ".join(
                f"{name} {f(f'heavy_read.reads.{name}.latency.p50_ms')}"
                for name in ("meter-values", "messages", "export-csv")
            )
        )
    return "| " + " | ".join(cells) + " |"


def markdown_row(target: str, scenarios: dict) -> str:
    """One row of the results table in bench/README.md, from one target's medians."""

    def get(key: str, figure: str):
        median = (scenarios.get(key) or {}).get("median") or {}
        value = median.get(figure)
        return (
            "—"
            if value is None
            else (f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}")
        )

    return (
        " | ".join(
            [
                f"| {target}",
                get("1-throughput", "messages_per_s"),
                "/".join(
                    get("1-throughput", f"latency.{p}_ms")
                    for p in ("p50", "p95", "p99", "max")
                ),
                get("2-idle", "connections_established"),
                get("2-idle", "server_rss_per_connection_kib"),
                get("3-storm", "time_to_all_connected_s"),
                get("3-storm", "time_to_connect_and_boot_all_s"),
                "/".join(
                    get("4-command", f"remote_start.latency.{p}_ms")
                    for p in ("p50", "p99")
                ),
                get("5-single", "latency.p50_ms"),
            ]
        )
        + " |"
    )


if __name__ == "__main__":
    sys.exit(main())
