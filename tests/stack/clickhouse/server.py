#!/usr/bin/env python3
"""Serve ClickHouse (HTTP + native TCP) from the chdb-core wheel, for the test stack.

Usage: server.py RUN_DIR

RUN_DIR must hold config.xml (and the users file it names); clickhouse-local reads
./config.xml, so this process chdirs there. Data lives in RUN_DIR/data.

How it works (see shared facts, "ClickHouse ... from the chdb-core wheel"):
- `_chdb.abi3.so` is loaded directly, WITHOUT running the `chdb` package's __init__:
  that init opens and closes an engine connection, after which Kafka engine tables fail
  with "Shutdown was called".
- One long query does `SYSTEM START LISTEN HTTP; SYSTEM START LISTEN TCP;` and then blocks
  on `SELECT count() FROM file('<fifo>', LineAsString)`. The listeners stay open while that
  query runs. Writing a line into the FIFO (and closing it) ends the query, which closes
  the listeners: that is the clean shutdown, done on SIGTERM/SIGINT, after Kafka engine tables
  are detached (non-permanently) so that their consumers leave their groups.
"""
import ctypes
import importlib
import importlib.util
import os
import signal
import sys
import threading
import time
import types
import urllib.request
import xml.etree.ElementTree as ET

RTLD_DEEPBIND = 0x00008


def load_chdb():
    spec = importlib.util.find_spec("chdb")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        sys.exit("server.py: the chdb package (chdb-core wheel) is not installed in this Python")
    pkg_dir = list(spec.submodule_search_locations)[0]
    # A bare package module, so that `chdb._chdb` can be imported without chdb/__init__.py.
    pkg = types.ModuleType("chdb")
    pkg.__path__ = [pkg_dir]
    pkg.__file__ = os.path.join(pkg_dir, "__init__.py")
    sys.modules["chdb"] = pkg
    cwd = os.getcwd()
    os.chdir(pkg_dir)
    try:
        # As the package init does: resolve the pybind11 stubs' operator new/delete
        # against _chdb's own jemalloc.
        ctypes.CDLL(os.path.join(pkg_dir, "_chdb.abi3.so"),
                    mode=sys.getdlopenflags() | RTLD_DEEPBIND)
        mod = importlib.import_module("chdb._chdb")
    finally:
        os.chdir(cwd)
    return mod


def http_port():
    root = ET.parse("config.xml").getroot()
    return int(root.findtext("http_port", "8123"))


def detach_kafka_tables(port):
    """Close the Kafka engine's consumers cleanly before the listeners go.

    Exiting the process leaves them in their consumer groups until the session times out, so a
    restarted server would get no partitions for that long. A plain DETACH (not PERMANENTLY)
    stops a Kafka table's consumers (they leave the group) and the table is attached again at the
    next start. Done over our own HTTP port as `default` (passwordless, loopback only)."""
    def q(sql, timeout):
        req = urllib.request.Request(f"http://127.0.0.1:{port}/?user=default",
                                     data=sql.encode(), method="POST")
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.read().decode()
    try:
        rows = q("SELECT database, name FROM system.tables WHERE engine = 'Kafka' "
                 "AND NOT is_temporary FORMAT TSV", 5)
    except Exception as e:  # noqa: BLE001
        print(f"server.py: could not list Kafka tables: {e}", flush=True)
        return
    for line in rows.splitlines():
        db, name = line.split("\t", 1)
        ident = "`" + db.replace("`", "\\`") + "`.`" + name.replace("`", "\\`") + "`"
        try:
            q(f"DETACH TABLE {ident}", 20)
            print(f"server.py: detached Kafka table {db}.{name} (re-attached at next start)", flush=True)
        except Exception as e:  # noqa: BLE001
            print(f"server.py: DETACH {db}.{name} failed: {e}", flush=True)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: server.py RUN_DIR")
    run_dir = os.path.abspath(sys.argv[1])
    os.chdir(run_dir)
    if not os.path.exists("config.xml"):
        sys.exit(f"server.py: no config.xml in {run_dir}")
    data_dir = os.path.join(run_dir, "data")
    os.makedirs(data_dir, exist_ok=True)
    fifo = os.path.join(run_dir, "shutdown.fifo")
    if os.path.exists(fifo):
        os.unlink(fifo)
    os.mkfifo(fifo, 0o600)

    chdb = load_chdb()

    result = {}

    def serve():
        sql = ("SYSTEM START LISTEN HTTP; SYSTEM START LISTEN TCP; "
               f"SELECT count() FROM file('{fifo}', LineAsString)")
        try:
            res = chdb.query(sql, "TSV", path=data_dir)
            result["ok"] = res
        except BaseException as e:  # noqa: BLE001 - reported below
            result["error"] = e

    stopping = threading.Event()

    def request_stop(signum, _frame):
        if not stopping.is_set():
            print(f"server.py: signal {signum}, shutting down", flush=True)
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    t = threading.Thread(target=serve, name="clickhouse", daemon=True)
    t.start()
    print(f"server.py: ClickHouse starting in {run_dir} (pid {os.getpid()})", flush=True)
    while t.is_alive() and not stopping.is_set():
        t.join(timeout=0.5)
    if stopping.is_set() and t.is_alive():
        detach_kafka_tables(http_port())
        # Writer side of the FIFO: the reader (the query) sees a line then EOF.
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.write(fd, b"stop\n")
            os.close(fd)
        except OSError as e:  # no reader: the query has not opened the FIFO (yet)
            print(f"server.py: FIFO write failed ({e}); exiting", flush=True)
            os._exit(0)
        t.join(timeout=30)
    if "error" in result:
        print(f"server.py: ClickHouse query failed: {result['error']}", file=sys.stderr, flush=True)
        os._exit(1)
    print("server.py: listeners closed, exiting", flush=True)
    sys.stdout.flush()
    # Skip interpreter teardown of the engine's global state: on-disk data is already safe.
    os._exit(0 if stopping.is_set() else 1)


if __name__ == "__main__":
    main()
