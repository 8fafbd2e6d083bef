"""Serve readers from several app processes behind nginx: ``make serve REPLICAS=3 PORT=8600``.

    python -m garita.serve_many --replicas 3 --port 8600 [streamlit options]

Starts N copies of ``python -m garita.serve`` on free loopback ports, all reading the same
published folder (``$GARITA_DB`` or ``data/garita.duckdb``), and Debian's nginx on PORT in
front, with the configuration written from ``deploy/nginx.conf.template`` into a run folder
of its own (removed on exit). A browser stays on the process that served it (a cookie names
it); if that process dies, nginx sends the browser to another, and this launcher starts the
dead one again. The writer stays single: every process may publish, under the one writer
lock. Ctrl-C stops nginx, then the processes. Needs ``apt-get install nginx``; nothing is
installed or changed outside the run folder.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
HEALTH = "/_stcore/health"
START_SECONDS = 90        # a cold start on a busy 2-core machine takes 5 to 20 s
CHECK_EVERY = 2.0         # seconds between health checks of each process
FAILED_CHECKS = 3         # a live process that fails this many checks in a row is restarted


class ProxyProblem(RuntimeError):
    """nginx or an app process could not be started; the message says why and what to do."""


def nginx_binary() -> str | None:
    """Debian's nginx (``/usr/sbin`` is not on every user's PATH)."""
    found = shutil.which("nginx")
    for path in (found, "/usr/sbin/nginx", "/usr/local/sbin/nginx"):
        if path and os.access(path, os.X_OK):
            return path
    return None


def _die_with_launcher() -> None:
    """In the child (Linux): be sent SIGTERM when the launcher dies without stopping it."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port(address: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def healthy(url: str, timeout: float = 2.0) -> bool:
    """True when ``url`` + /_stcore/health answers ``ok``."""
    try:
        with urllib.request.urlopen(url + HEALTH, timeout=timeout) as reply:
            return reply.status == 200 and reply.read().strip() == b"ok"
    except OSError:
        return False


def render_config(ports: list[int], listen: str, run_dir: Path,
                  max_body_mb: int = 200) -> str:
    """The nginx configuration for app processes on ``ports`` (process i is ``ports[i-1]``)."""
    pools, served, upstreams = [], [], []
    every = [f"127.0.0.1:{port}" for port in ports]
    check = "max_fails=1 fail_timeout=5s"
    for index, address in enumerate(every, start=1):
        pools.append(f'        "{index}" garita_{index};')
        served.append(f'        "~(^|\\s){re.escape(address)}$" {index};')
        backups = "".join(f"        server {other} {check} backup;\n"
                          for other in every if other != address)
        upstreams.append(f"    upstream garita_{index} {{\n        server {address} {check};\n"
                         f"{backups}    }}")
    upstreams.append("    upstream garita_any {\n" + "".join(
        f"        server {address} {check};\n" for address in every) + "    }")
    text = TEMPLATE.read_text()
    for marker, value in (("@POOL_MAP@", "\n".join(pools)), ("@SERVED_MAP@", "\n".join(served)),
                          ("@UPSTREAMS@", "\n".join(upstreams)), ("@LISTEN@", listen),
                          ("@MAX_BODY@", f"{max_body_mb}m"), ("@RUN@", str(run_dir))):
        text = text.replace(marker, value)
    return text


@dataclass
class Replica:
    """One app process: its number (1..N, what the cookie says), port and process."""

    index: int
    port: int
    process: subprocess.Popen | None = None
    failures: int = 0
    restarts: int = 0
    started: float = 0.0
    answered: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Proxy:
    """N app processes and nginx in front; ``url`` is what readers open."""

    replicas: list[Replica]
    port: int
    run_dir: Path
    app_args: tuple = ()
    env: dict = field(default_factory=dict)
    log_path: Path | None = None
    nginx: subprocess.Popen | None = None
    log: object = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def _log_name(self) -> str:
        return str(self.log_path) if self.log_path else "the output above"

    def pids(self) -> list[int]:
        """Process ids of the app processes now running."""
        return [r.process.pid for r in self.replicas if r.process and r.process.poll() is None]

    def nginx_pids(self) -> list[int]:
        """nginx's master and its workers."""
        if not self.nginx or self.nginx.poll() is not None:
            return []
        children = Path(f"/proc/{self.nginx.pid}/task/{self.nginx.pid}/children")
        with contextlib.suppress(OSError):
            return [self.nginx.pid, *map(int, children.read_text().split())]
        return [self.nginx.pid]

    def start_replica(self, replica: Replica) -> None:
        replica.process = subprocess.Popen(
            [sys.executable, "-m", "garita.serve", "--server.port", str(replica.port),
             "--server.address", "127.0.0.1", "--server.headless", "true", *self.app_args],
            cwd=ROOT, env={**os.environ, **self.env}, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the launcher, which stops them in order
            preexec_fn=_die_with_launcher)
        replica.failures, replica.answered = 0, False
        replica.started = time.monotonic()

    def wait_healthy(self, replicas: list[Replica], seconds: float = START_SECONDS) -> None:
        deadline = time.monotonic() + seconds
        waiting = list(replicas)
        while waiting:
            waiting = [r for r in waiting if not healthy(r.url)]
            for replica in waiting:
                if replica.process.poll() is not None:
                    raise ProxyProblem(f"app process {replica.index} exited at start (code "
                                       f"{replica.process.returncode}); see {self._log_name}")
            if waiting and time.monotonic() > deadline:
                raise ProxyProblem(f"app processes {[r.index for r in waiting]} did not answer "
                                   f"{HEALTH} within {seconds:.0f} s; see {self._log_name}")
            time.sleep(0.3)

    def start(self) -> None:
        """Start every app process, wait until each answers, then nginx."""
        binary = nginx_binary()
        if binary is None:
            raise ProxyProblem("nginx is not installed: `apt-get install nginx` (Debian), then "
                               "run this again. Nothing else is needed.")
        self.log = open(self.log_path, "ab") if self.log_path else None
        for replica in self.replicas:
            self.start_replica(replica)
        self.wait_healthy(self.replicas)
        conf = self.run_dir / "nginx.conf"
        command = [binary, "-p", str(self.run_dir), "-c", str(conf), "-e",
                   str(self.run_dir / "error.log")]
        checked = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True)
        if checked.returncode != 0:
            raise ProxyProblem(f"nginx refused the configuration {conf}: "
                               f"{checked.stderr.strip()[-800:]}")
        self.nginx = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT,
                                      start_new_session=True, preexec_fn=_die_with_launcher)
        deadline = time.monotonic() + 15
        while not healthy(self.url):
            if self.nginx.poll() is not None or time.monotonic() > deadline:
                error = (self.run_dir / "error.log").read_text(errors="replace")[-800:]
                raise ProxyProblem(f"nginx did not start on port {self.port}: {error.strip()} "
                                   "(is the port taken? `make serve PORT=...` picks another)")
            time.sleep(0.2)

    def kill(self, index: int, sig: int = signal.SIGKILL) -> int:
        """Stop app process ``index`` (1..N) abruptly, as a crash would; returns its pid."""
        process = self.replicas[index - 1].process
        process.send_signal(sig)
        process.wait(timeout=10)
        return process.pid

    def check(self) -> list[str]:
        """One round of health checks: restart a process that exited or stopped answering.
        Returns what happened, to print."""
        events = []
        if self.nginx and self.nginx.poll() is not None:
            raise ProxyProblem(f"nginx exited (code {self.nginx.returncode}); see "
                               f"{self.run_dir}/error.log")
        for replica in self.replicas:
            alive = replica.process.poll() is None
            if alive and healthy(replica.url):
                replica.failures, replica.answered = 0, True
                continue
            if alive and not replica.answered \
                    and time.monotonic() - replica.started < START_SECONDS:
                continue  # still starting
            replica.failures += 1
            if alive and replica.failures < FAILED_CHECKS:
                continue
            if alive:
                replica.process.kill()
                replica.process.wait(timeout=10)
            replica.restarts += 1
            events.append(f"app process {replica.index} (port {replica.port}) "
                          f"{'stopped answering' if alive else 'exited'}; starting it again")
            self.start_replica(replica)
        return events

    def stop(self) -> None:
        """nginx first (no new requests), then the app processes."""
        processes = [self.nginx] if self.nginx else []
        processes += [r.process for r in self.replicas if r.process]
        for process in processes:
            if process.poll() is None:
                process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
            if process.poll() is None:
                process.kill()
                process.wait()
        if self.log:
            self.log.close()


@contextlib.contextmanager
def serving(replicas: int, port: int | None = None, listen: str | None = None,
            app_args: tuple = (), env: dict | None = None, run_dir: Path | None = None,
            quiet: bool = True) -> Iterator[Proxy]:
    """Start ``replicas`` app processes and nginx on ``port`` (a free one if None); yield the
    running ``Proxy``; stop everything and remove the run folder at the end. ``quiet``: the
    processes write to ``app.log`` in the run folder, not to this terminal."""
    if replicas < 1:
        raise ProxyProblem("--replicas must be 1 or more")
    port = port or free_port()
    own_dir = run_dir is None
    run_dir = Path(run_dir or tempfile.mkdtemp(prefix="garita-proxy-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    # nginx started as root runs its worker as an unprivileged user: it must reach the folder.
    run_dir.chmod(0o711)
    proxy = Proxy([Replica(i, free_port()) for i in range(1, replicas + 1)], port, run_dir,
                  tuple(app_args), dict(env or {}), run_dir / "app.log" if quiet else None)
    (run_dir / "nginx.conf").write_text(render_config(
        [r.port for r in proxy.replicas], listen or f"127.0.0.1:{port}", run_dir,
        max_body_mb=_upload_limit_mb()))
    try:
        proxy.start()
        yield proxy
    finally:
        proxy.stop()
        if own_dir:
            shutil.rmtree(run_dir, ignore_errors=True)


def _upload_limit_mb() -> int:
    """The app's upload limit (``server.maxUploadSize``), so nginx lets such a file through."""
    from streamlit import config

    with contextlib.suppress(Exception):
        return int(config.get_option("server.maxUploadSize")) + 1
    return 201


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Other options go to every app process, e.g. --server.maxUploadSize 10.")
    parser.add_argument("--replicas", type=int, default=2, help="app processes (default 2)")
    parser.add_argument("--port", type=int, default=8501, help="where nginx listens")
    parser.add_argument("--address", default="",
                        help="address nginx listens on (default: every interface, as `make run`)")
    args, app_args = parser.parse_known_args(argv)
    listen = f"{args.address}:{args.port}" if args.address else str(args.port)

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)  # also when started where Ctrl-C was ignored
    try:
        with serving(args.replicas, args.port, listen, tuple(app_args), quiet=False) as proxy:
            print(f"\nGarita: {args.replicas} app processes (ports "
                  f"{', '.join(str(r.port) for r in proxy.replicas)}) behind nginx: open "
                  f"http://localhost:{args.port}  (Ctrl-C stops)", flush=True)
            while True:
                time.sleep(CHECK_EVERY)
                for event in proxy.check():
                    print(event, flush=True)
    except KeyboardInterrupt:
        print("stopped", flush=True)
    except ProxyProblem as exc:
        print(f"garita.serve_many: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
