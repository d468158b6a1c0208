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
  the listeners: that is the clean shutdown, done on SIGTERM/SIGINT.
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
        if stopping.is_set():
            return
        stopping.set()
        print(f"server.py: signal {signum}, closing listeners", flush=True)
        # Writer side of the FIFO: the reader (the query) sees a line then EOF.
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.write(fd, b"stop\n")
            os.close(fd)
        except OSError as e:
            # No reader yet (query not started) or already gone: just exit.
            print(f"server.py: FIFO write failed ({e}); exiting", flush=True)
            os._exit(0)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    t = threading.Thread(target=serve, name="clickhouse", daemon=True)
    t.start()
    print(f"server.py: ClickHouse starting in {run_dir} (pid {os.getpid()})", flush=True)
    while t.is_alive():
        t.join(timeout=0.5)
    if "error" in result:
        print(f"server.py: ClickHouse query failed: {result['error']}", file=sys.stderr, flush=True)
        os._exit(1)
    print("server.py: listeners closed, exiting", flush=True)
    sys.stdout.flush()
    # Skip interpreter teardown of the engine's global state: on-disk data is already safe.
    os._exit(0 if stopping.is_set() else 1)


if __name__ == "__main__":
    main()
