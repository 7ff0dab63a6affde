# SPDX-License-Identifier: BSD-3-Clause
"""The peers of the `durable` suite: what a user would pick instead of the
appliance, run on this machine, on loopback, in the same run.

    redis_xadd(work, ...)     Redis XADD, appendfsync always, redis-benchmark
    pgbench_tpcb(work, ...)   PostgreSQL, pgbench's TPC-B-like transfers
    disk_limits(build, dir)   the disk itself, by perf/kc-journal-bench

Each peer is configured for full durability as its own documentation
describes it, and is given memory rather than starved of it: the issue asks
that peers are never tuned down. Every server is started here, listens on
127.0.0.1 or on a unix socket in a private directory under `work`, and is
stopped and its files removed before the function returns, on success,
error or KeyboardInterrupt alike. A peer that cannot run raises PeerError
with the reason. Standard library only; every command is an argument list,
never a shell string.
"""

import contextlib
import csv
import glob
import io
import math
import os
import pwd
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time

__all__ = ["PeerError", "redis_xadd", "pgbench_tpcb", "disk_limits"]


class PeerError(Exception):
    """A peer cannot run here, or ran and gave no usable figure."""


# ---- helpers ----------------------------------------------------------------

def _need(path_or_name, package):
    """The absolute path of a program, or PeerError naming its package."""
    found = shutil.which(path_or_name)
    if found is None:
        raise PeerError("%s not found: install Debian's %s (deploy/install-deps)"
                        % (path_or_name, package))
    return found


def _positive(**kw):
    for name, value in kw.items():
        if not value > 0:
            raise ValueError("%s must be positive, not %r" % (name, value))


def _tail(text, lines=15):
    return "\n".join(text.strip().splitlines()[-lines:])


def _tail_file(path, lines=15):
    try:
        with open(path, errors="replace") as f:
            return _tail(f.read(), lines)
    except OSError:
        return ""


def _free_port():
    """A TCP port free on 127.0.0.1 right now. Another process may take it
    before the server binds it: callers retry on 'Address already in use'."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentile(ordered, q):
    """Nearest-rank percentile of an ascending list (q in 0..1)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(q * len(ordered)))
    return float(ordered[rank - 1])


@contextlib.contextmanager
def _signals_held():
    """Hold SIGINT and SIGTERM while a server is stopped and its files
    removed, so a second Ctrl-C cannot leave it running; they are delivered
    (KeyboardInterrupt raised) once the clean-up is done. No child is
    started inside, so none inherits the mask."""
    held = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _stop(proc, sig, grace_s):
    """Stop a process started here: `sig`, then SIGKILL after `grace_s`."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _rmtree(path):
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)


def _run(argv, timeout_s, what, **kw):
    """Run a client to completion; PeerError with its output on failure.
    On KeyboardInterrupt subprocess.run kills the child before re-raising."""
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, errors="replace", timeout=timeout_s, **kw)
    except subprocess.TimeoutExpired:
        raise PeerError("%s did not finish in %.0f s" % (what, timeout_s)) from None
    except OSError as e:
        raise PeerError("%s cannot start: %s" % (what, e)) from None
    if r.returncode != 0:
        raise PeerError("%s failed (exit %d):\n%s" % (
            what, r.returncode, _tail(r.stdout + "\n" + r.stderr)))
    return r


# ---- Redis -------------------------------------------------------------------

# The one stream every client appends to, like one durable queue.
REDIS_STREAM = "stream"
# How long the calibration run should last, to size -n of the measured one.
REDIS_CALIBRATE_S = 0.4
REDIS_START_TRIES = 3


def _redis_call(port, command, timeout_s=2.0):
    """One inline command to the server, its reply line (b'+PONG', b':12')."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as s:
        s.sendall(command.encode() + b"\r\n")
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
        return reply.strip()


def _redis_start(server, root):
    """Our own redis-server on a free 127.0.0.1 port: (Popen, port)."""
    log = os.path.join(root, "redis.log")
    for _ in range(REDIS_START_TRIES):
        port = _free_port()
        argv = [server,
                "--bind", "127.0.0.1", "--port", str(port),
                "--protected-mode", "yes",
                "--daemonize", "no", "--supervised", "no",
                "--dir", root, "--appenddirname", "appendonlydir",
                "--logfile", log,
                # Durability as the Redis persistence docs put it: every
                # write in the AOF and fsynced before the reply.
                "--appendonly", "yes", "--appendfsync", "always",
                # No RDB snapshots: the AOF alone carries durability, and a
                # snapshot's fork would only add noise.
                "--save", "",
                # Keep AOF rewrites out of the run, as max_wal_size keeps
                # PostgreSQL's checkpoints out of its run: a rewrite forks
                # and rewrites the whole stream, which the journal's
                # numbers do not include either. Set up, not down.
                "--auto-aof-rewrite-min-size", "64gb"]
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    if _redis_call(port, "PING", 0.5) == b"+PONG":
                        return proc, port
                except OSError:
                    pass
                time.sleep(0.05)
        except BaseException:
            _stop(proc, signal.SIGKILL, 5)
            raise
        _stop(proc, signal.SIGKILL, 5)
        why = _tail_file(log)
        if "Address already in use" not in why:
            raise PeerError("redis-server did not start:\n" + why)
    raise PeerError("redis-server: no free port on 127.0.0.1 after %d tries"
                    % REDIS_START_TRIES)


def _redis_bench(argv, timeout_s):
    """Run redis-benchmark --csv; (requests/s, p50 ms, p99 ms, max ms)."""
    r = _run(argv, timeout_s, "redis-benchmark")
    for row in csv.reader(io.StringIO(r.stdout)):
        if len(row) >= 8 and row[0].upper().startswith("XADD"):
            try:
                return tuple(float(row[i]) for i in (1, 4, 6, 7))
            except ValueError:
                break
    raise PeerError("redis-benchmark printed no XADD line in its CSV:\n"
                    + _tail(r.stdout + "\n" + r.stderr))


def redis_xadd(work: str, clients: int = 50, pipeline: int = 16,
               seconds: float = 10.0, payload: int = 64) -> dict:
    """Redis XADD throughput and latency with every write fsynced.

    Debian's redis-server, started here with appendonly yes, appendfsync
    always (each write fsynced before its reply: the Redis docs' full
    durability) and no RDB snapshots, its AOF in a fresh directory under
    `work`, on 127.0.0.1 at a free port. redis-benchmark (redis-tools) runs
    `XADD stream * f <payload bytes>` from `clients` connections with
    `pipeline` requests in flight each; a short calibration run sizes -n so
    the measured run lasts about `seconds`. Latency percentiles are
    redis-benchmark's own (its HdrHistogram, 3 significant digits), per
    request, from its pipeline's send to its reply.

    Returns name, version, ops_per_s, p50_us, p99_us, max_us, clients,
    pipeline, config, and aof_bytes: the AOF's size after the run (the
    calibration's writes included), as a check that it really wrote.
    """
    _positive(clients=clients, pipeline=pipeline, seconds=seconds,
              payload=payload)
    server = _need("redis-server", "redis-server")
    bench = _need("redis-benchmark", "redis-tools")
    out = _run([server, "--version"], 10, "redis-server --version").stdout
    m = re.search(r"\bv=(\S+)", out)
    version = m.group(1) if m else out.strip()

    os.makedirs(work, exist_ok=True)
    root = proc = None
    try:
        root = tempfile.mkdtemp(prefix="kc-peer-redis-", dir=work)
        proc, port = _redis_start(server, root)
        base = [bench, "-h", "127.0.0.1", "-p", str(port),
                "-c", str(clients), "-P", str(pipeline),
                "--csv", "--precision", "3"]
        cmd = ["XADD", REDIS_STREAM, "*", "f", "x" * payload]
        # Calibrate: grow -n until a run lasts long enough to trust its
        # rate, then size the measured run from that rate.
        n = clients * pipeline * max(1, math.ceil(2000 / (clients * pipeline)))
        sent = 0
        for _ in range(8):
            t0 = time.monotonic()
            rate = _redis_bench(base + ["-n", str(n)] + cmd, 120)[0]
            sent += n
            if time.monotonic() - t0 >= REDIS_CALIBRATE_S:
                break
            n *= 4
        # A whole number of pipelines per client: redis-benchmark finishes
        # a pipeline it has started, so it may send a little more than -n.
        batch = clients * pipeline
        n = batch * max(10, round(rate * seconds / batch))
        rate, p50_ms, p99_ms, max_ms = _redis_bench(
            base + ["-n", str(n)] + cmd, max(120, 20 * seconds))
        sent += n
        # redis-benchmark counts error replies as answers: the stream must
        # hold every entry asked for, or the rate is not of durable XADDs.
        got = _redis_call(port, "XLEN " + REDIS_STREAM)
        if not re.fullmatch(rb":\d+", got) or int(got[1:]) < sent:
            raise PeerError("Redis stream holds %s entries, %d were sent: "
                            "some XADDs failed\n%s" % (
                                got.decode(errors="replace"), sent,
                                _tail_file(os.path.join(root, "redis.log"))))
        # Redis 7's multi-part AOF: a base, the increments, a manifest.
        aofdir = os.path.join(root, "appendonlydir")
        aof_bytes = sum(os.path.getsize(os.path.join(aofdir, f))
                        for f in os.listdir(aofdir))
        return {
            "name": "redis", "version": version,
            "ops_per_s": float(rate),
            "p50_us": p50_ms * 1000.0, "p99_us": p99_ms * 1000.0,
            "max_us": max_ms * 1000.0,
            "clients": clients, "pipeline": pipeline,
            "config": ("redis-server %s on 127.0.0.1, appendonly yes, "
                       "appendfsync always, no RDB snapshots, AOF rewrite "
                       "kept out of the run; redis-benchmark XADD of a "
                       "%d-byte field, -c %d -P %d -n %d (%.1f s)"
                       % (version, payload, clients, pipeline, n,
                          n / max(rate, 1.0))),
            "aof_bytes": aof_bytes,
        }
    finally:
        with _signals_held():
            # SIGTERM: Redis fsyncs the AOF and exits; we discard it anyway.
            _stop(proc, signal.SIGTERM, 30)
            _rmtree(root)


# ---- PostgreSQL --------------------------------------------------------------

PG_PORT = 5432          # only names the socket file: no TCP listener
PG_SOCKET_PATH_MAX = 107  # sun_path less its NUL


def _pg_bin():
    """The newest /usr/lib/postgresql/N/bin with pgbench in it."""
    dirs = [d for d in glob.glob("/usr/lib/postgresql/*/bin")
            if os.access(os.path.join(d, "pgbench"), os.X_OK)]
    if not dirs:
        raise PeerError("no pgbench under /usr/lib/postgresql/*/bin: install "
                        "Debian's postgresql and postgresql-contrib "
                        "(deploy/install-deps)")

    def major(d):
        v = os.path.basename(os.path.dirname(d))
        return [int(x) for x in re.findall(r"\d+", v)]
    return max(dirs, key=major)


def _pg_quote(value):
    return "'" + str(value).replace("'", "''") + "'"


class _PgUser:
    """Runs PostgreSQL's programs as the postgres user when we are root
    (initdb refuses root), as ourselves otherwise."""

    def __init__(self, pgbin, cwd):
        self.cwd = cwd
        self.kw = {}
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise PeerError("no postgres user: install Debian's "
                                "postgresql (deploy/install-deps)") from None
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
            self.kw = {"user": pw.pw_uid, "group": pw.pw_gid,
                       "extra_groups": []}
        else:
            self.uid, self.gid = os.geteuid(), os.getegid()
        # A clean environment: no PGHOST, PGDATABASE, ... of the caller.
        self.env = {"PATH": pgbin + ":/usr/bin:/bin", "LC_ALL": "C",
                    "HOME": cwd}

    def run(self, argv, timeout_s, what):
        return _run(argv, timeout_s, what, cwd=self.cwd, env=self.env,
                    **self.kw)

    def popen(self, argv, log):
        return subprocess.Popen(argv, cwd=self.cwd, env=self.env,
                                stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT,
                                start_new_session=True, **self.kw)


def pgbench_tpcb(work: str, clients: int = 16, seconds: float = 10.0,
                 scale: int = 16) -> dict:
    """PostgreSQL transactions per second on pgbench's TPC-B-like script.

    Debian's PostgreSQL, a fresh initdb in a directory under `work` (as the
    postgres user when run as root), listening only on a unix socket there.
    Durability as PostgreSQL's docs ask: fsync, synchronous_commit and
    full_page_writes on, set explicitly. Memory set up, not down:
    shared_buffers holds the whole database, max_wal_size and
    checkpoint_timeout keep checkpoints out of the run (the data is
    checkpointed after loading). pgbench -i -s `scale`, then the default
    script with -c `clients` -j 2 -M prepared -T `seconds` (whole seconds,
    at least 1) and a per-transaction log (-l) for the latency percentiles
    (nearest rank, microseconds).

    When run as root, `work` must be reachable by the postgres user: if
    `work` itself is not searchable by others, o+x is added to it (search
    only, no listing); a parent that is not is reported as a PeerError.

    Returns name, version, tps, p50_us, p99_us, max_us, clients, scale,
    config.
    """
    _positive(clients=clients, seconds=seconds, scale=scale)
    pgbin = _pg_bin()
    out = _run([os.path.join(pgbin, "postgres"), "--version"], 10,
               "postgres --version").stdout
    m = re.search(r"\(PostgreSQL\) (\S+)", out)
    version = m.group(1) if m else out.strip()
    run_s = max(1, int(round(seconds)))
    threads = min(2, clients)
    shared_buffers_mb = max(1024, 32 * scale)
    max_wal_gb = max(4, scale // 4)
    checkpoint_s = min(86400, max(300, 2 * run_s + 120))

    os.makedirs(work, exist_ok=True)
    root = proc = None
    try:
        root = tempfile.mkdtemp(prefix="kc-peer-pg-", dir=work)
        sock = os.path.join(root, ".s.PGSQL.%d" % PG_PORT)
        if len(sock.encode()) > PG_SOCKET_PATH_MAX:
            raise PeerError("PostgreSQL's socket path would be %d bytes, "
                            "more than %d: use a shorter work directory (%s)"
                            % (len(sock.encode()), PG_SOCKET_PATH_MAX, work))
        pg = _PgUser(pgbin, root)
        if os.geteuid() == 0:
            os.chown(root, pg.uid, pg.gid)
            mode = os.stat(work).st_mode
            if not mode & 0o001:
                os.chmod(work, mode | 0o001)
            try:
                pg.run(["/usr/bin/test", "-w", root], 10, "access check")
            except PeerError:
                raise PeerError("the postgres user cannot reach %s: a parent "
                                "directory is not searchable by others"
                                % root) from None
        data = os.path.join(root, "data")
        pg.run([os.path.join(pgbin, "initdb"), "-D", data, "-U", "postgres",
                "-A", "trust", "-E", "UTF8", "--locale=C",
                # Only how initdb leaves its files: the cluster is thrown
                # away, and fsync=on below is what makes the run durable.
                "--no-sync", "--no-instructions"], 120, "initdb")
        with open(os.path.join(data, "postgresql.conf"), "a") as conf:
            conf.write("\n".join([
                "# benchlib.peers: durability as PostgreSQL's docs ask, set",
                "# explicitly; memory set up so the run measures commits.",
                "listen_addresses = ''",
                "unix_socket_directories = " + _pg_quote(root),
                "unix_socket_permissions = 0700",
                "port = %d" % PG_PORT,
                "fsync = on",
                "synchronous_commit = on",
                "full_page_writes = on",
                "shared_buffers = %dMB" % shared_buffers_mb,
                "max_wal_size = %dGB" % max_wal_gb,
                "checkpoint_timeout = %ds" % checkpoint_s,
                "max_connections = %d" % max(100, clients + 10),
                ""]))
        log = open(os.path.join(root, "postgres.log"), "wb")
        try:
            proc = pg.popen([os.path.join(pgbin, "postgres"), "-D", data], log)
        finally:
            log.close()
        conn = ["-h", root, "-p", str(PG_PORT)]
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise PeerError("postgres exited at start (%d):\n%s" % (
                    proc.returncode,
                    _tail_file(os.path.join(root, "postgres.log"))))
            try:
                pg.run([os.path.join(pgbin, "pg_isready"), "-q"] + conn, 30,
                       "pg_isready")
                break
            except PeerError:
                pass
            if time.monotonic() > deadline:
                raise PeerError("postgres not ready after 120 s:\n"
                                + _tail_file(os.path.join(root, "postgres.log")))
            time.sleep(0.1)
        pg.run([os.path.join(pgbin, "createdb")] + conn + ["bench"], 60,
               "createdb")
        pg.run([os.path.join(pgbin, "pgbench")] + conn +
               ["-i", "-s", str(scale), "-q", "bench"],
               max(300, 30 * scale), "pgbench -i")
        # The loaded pages go to disk now, not during the run.
        pg.run([os.path.join(pgbin, "psql")] + conn +
               ["-qAtX", "-c", "CHECKPOINT", "bench"], 300, "CHECKPOINT")
        logdir = os.path.join(root, "txlog")
        os.mkdir(logdir)
        os.chown(logdir, pg.uid, pg.gid)
        r = pg.run([os.path.join(pgbin, "pgbench")] + conn +
                   ["-c", str(clients), "-j", str(threads), "-T", str(run_s),
                    "-M", "prepared", "-l",
                    "--log-prefix=" + os.path.join(logdir, "tx"), "bench"],
                   run_s + 300, "pgbench")
        m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)",
                      r.stdout)
        if not m:
            raise PeerError("pgbench printed no tps:\n" + _tail(r.stdout))
        tps = float(m.group(1))
        failed = re.search(r"number of failed transactions: (\d+)", r.stdout)
        if failed and int(failed.group(1)) > 0:
            raise PeerError("pgbench: %s transactions failed:\n%s"
                            % (failed.group(1), _tail(r.stdout)))
        # Per-transaction log: client, transaction, latency in µs, ...
        lat_us = []
        for path in glob.glob(os.path.join(logdir, "tx.*")):
            with open(path) as f:
                for line in f:
                    fields = line.split()
                    if len(fields) > 2 and fields[2].isdigit():
                        lat_us.append(int(fields[2]))
        if not lat_us:
            raise PeerError("pgbench wrote no per-transaction log in "
                            + logdir)
        lat_us.sort()
        return {
            "name": "postgresql", "version": version,
            "tps": tps,
            "p50_us": _percentile(lat_us, 0.50),
            "p99_us": _percentile(lat_us, 0.99),
            "max_us": float(lat_us[-1]),
            "clients": clients, "scale": scale,
            "config": ("PostgreSQL %s, fresh initdb, unix socket only; fsync, "
                       "synchronous_commit, full_page_writes on; "
                       "shared_buffers %dMB, max_wal_size %dGB, "
                       "checkpoint_timeout %ds, checkpointed after load; "
                       "pgbench TPC-B-like (default script), scale %d, "
                       "-c %d -j %d -M prepared -T %d"
                       % (version, shared_buffers_mb, max_wal_gb,
                          checkpoint_s, scale, clients, threads, run_s)),
        }
    finally:
        with _signals_held():
            # SIGQUIT is an immediate shutdown: no shutdown checkpoint to
            # write out shared_buffers, since the cluster is removed anyway.
            _stop(proc, signal.SIGQUIT, 30)
            _rmtree(root)


# ---- the disk ----------------------------------------------------------------

def _dpdk_runtime_dir(prefix):
    base = "/var/run/dpdk" if os.geteuid() == 0 else os.path.join(
        os.environ.get("XDG_RUNTIME_DIR", "/tmp"), "dpdk")
    return os.path.join(base, prefix)


def _mount_of(directory):
    """(device, filesystem type) of the filesystem holding `directory`."""
    r = _run(["df", "--output=source,fstype", directory], 10, "df")
    lines = r.stdout.strip().splitlines()
    fields = lines[-1].split() if len(lines) >= 2 else []
    if len(fields) < 2:
        return "?", "?"
    return fields[0], fields[1]


def disk_limits(build: str, directory: str, seconds: float = 3.0) -> dict:
    """The disk's own limits on the filesystem of `directory`.

    Runs the project's `{build}/perf/kc-journal-bench` (see
    perf/kc_journal_bench.c) on a fresh directory under `directory`: 1 MiB
    sequential writes into a preallocated 1 GiB file for `seconds` or until
    it is full, then one fdatasync (bandwidth); then `seconds` of 4 KiB
    write + fdatasync pairs (calls per second). The tool goes on to benchmark the
    journal, which is not wanted here: it is stopped as soon as its "disk"
    part is out. Needs about 1 GiB free there; removes all it wrote.

    Returns seq_write_mb_per_s (MB = 10^6 bytes), fdatasync_per_s,
    filesystem, device.
    """
    _positive(seconds=seconds)
    tool = os.path.join(build, "perf", "kc-journal-bench")
    if not os.access(tool, os.X_OK):
        raise PeerError("%s missing: build it with ninja -C %s" % (tool, build))
    stdbuf = shutil.which("stdbuf")
    os.makedirs(directory, exist_ok=True)
    if shutil.disk_usage(directory).free < (1 << 30) + (64 << 20):
        raise PeerError("%s has less than 1 GiB free for the disk benchmark"
                        % directory)
    device, fstype = _mount_of(directory)
    root = proc = None
    try:
        root = tempfile.mkdtemp(prefix="kc-peer-disk-", dir=directory)
        # EAL's runtime files under a name as unique as our directory's.
        prefix = os.path.basename(root)
        # The tool wants at least one journal group size after the disk
        # part; 1 is the shortest. Its stdout is a pipe, so unbuffered
        # (stdbuf) lets the disk part out at once; without stdbuf it comes
        # after that first journal run, `seconds` later.
        argv = ([stdbuf, "-o0"] if stdbuf else []) + [
            tool, "--no-huge", "-m", "128", "--no-pci", "--no-shconf",
            "--lcores=0", "--log-level=warning", "--file-prefix=" + prefix,
            "--", os.path.join(root, "bench"), repr(float(seconds)), "1"]
        errpath = os.path.join(root, "stderr")
        with open(errpath, "wb") as err:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=err,
                                    start_new_session=True)
        text = b""
        deadline = time.monotonic() + 4 * seconds + 120
        disk = None
        while disk is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise PeerError("kc-journal-bench gave no disk figures in "
                                "%.0f s" % (4 * seconds + 120))
            ready, _, _ = select.select([proc.stdout], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=10)
                    raise PeerError("kc-journal-bench exited (%s) before its "
                                    "disk figures:\n%s" % (
                                        proc.returncode, _tail_file(errpath)))
                text += chunk
                m = re.search(rb'"disk":\{([^}]*)\}', text)
                if m:
                    disk = dict(re.findall(rb'"(\w+)":([0-9.eE+-]+)',
                                           m.group(1)))
        try:
            seq = float(disk[b"seq_write_mb_s"])
            syncs = float(disk[b"fdatasync_per_s"])
        except (KeyError, ValueError):
            raise PeerError("kc-journal-bench's disk part lacks "
                            "seq_write_mb_s or fdatasync_per_s: %r" % text) from None
        return {"seq_write_mb_per_s": seq, "fdatasync_per_s": syncs,
                "filesystem": fstype, "device": device}
    finally:
        with _signals_held():
            _stop(proc, signal.SIGTERM, 10)
            if proc is not None:
                proc.stdout.close()
            if root is not None:
                _rmtree(root)
                _rmtree(_dpdk_runtime_dir(os.path.basename(root)))
