"""Serving the app: gunicorn by default, werkzeug's development server behind ``--dev``.

One gunicorn worker process with request threads: async jobs, the job pool and
the timers live in the process that serves, so there is exactly one per node.
The worker builds the cloud (and writes the demo credentials) before it accepts
its first connection, and dies with the master: after a ``kill -9`` of the
server nothing of it keeps running against the database.
"""
from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from server.logs import RedactingGunicornLogger
from server.settings import Settings

log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15  # idle kept-alive connections are cheap in the gthread worker's poller
GRACEFUL_SECONDS = 30  # SIGTERM: in-flight requests, then running jobs, get this long before SIGKILL
BOOT_SECONDS = 120  # the worker's silence allowed while it builds the cloud (a first bootstrap on MariaDB)


class GunicornServer(BaseApplication):
    """gunicorn embedded: ``ec2bridge serve``'s flags become its configuration."""

    def __init__(self, settings: Settings, log_level: str):
        self.settings = settings
        self.log_level = log_level
        self.cloud = None
        super().__init__(prog="ec2bridge")

    def load_config(self) -> None:
        options = {
            "bind": [bind_address(self.settings.host, self.settings.port)],
            "workers": 1,
            "worker_class": "gthread",
            "threads": self.settings.threads,
            "keepalive": KEEPALIVE_SECONDS,
            "graceful_timeout": GRACEFUL_SECONDS,
            "timeout": BOOT_SECONDS,
            # Native GET requests carry whole parameter sets (user data up to 32 KB) in the query string.
            "limit_request_line": 0,
            "accesslog": "-" if logging.getLevelName(self.log_level.upper()) <= logging.INFO else None,
            "errorlog": "-",
            "loglevel": self.log_level.lower(),
            "logger_class": RedactingGunicornLogger,
            "proc_name": "ec2bridge",
            # gunicorn >= 25.1 opens a control socket at one fixed path per user: two servers would share it.
            "control_socket_disable": True,
            "post_fork": _die_with_master,
            "post_worker_init": self._announce,
            "worker_exit": self._stop_cloud,
        }
        for key, value in options.items():
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self):
        from server.app import create_app, create_cloud

        self.cloud = create_cloud(self.settings)
        return create_app(self.settings, self.cloud)

    def _announce(self, worker) -> None:
        print(banner(self.settings), flush=True)

    def _stop_cloud(self, server, worker) -> None:
        # In-flight requests are answered by now; queued jobs are cancelled (the next start fails them
        # and gives their resources back); running jobs finish before the process exits.
        if self.cloud is not None:
            self.cloud.stop()


class OneWorkerArbiter(Arbiter):
    """gunicorn's master, minus the signals that would run two workers of one node side by side
    (a reload's new worker would fail, as a crash's leftovers, the jobs the old one is running)."""

    def handle_hup(self) -> None:
        self.log.warning("SIGHUP ignored: restart ec2bridge to reload it (one worker process per node)")

    def handle_ttin(self) -> None:
        self.log.warning("SIGTTIN ignored: one worker process per node (async jobs run in it)")


def serve(settings: Settings, log_level: str) -> int:
    try:
        OneWorkerArbiter(GunicornServer(settings, log_level)).run()
    except RuntimeError as exc:  # as gunicorn's own run() reports it
        print(f"ec2bridge: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


def serve_dev(settings: Settings) -> int:
    """werkzeug's development server, one process with a thread per request."""
    from werkzeug.serving import make_server

    from server.app import create_app, create_cloud
    from server.logs import RedactingRequestHandler

    cloud = create_cloud(settings)
    app = create_app(settings, cloud)
    server = make_server(settings.host, settings.port, app, threaded=True, request_handler=RedactingRequestHandler)
    print(banner(settings), flush=True)
    stop = lambda *_: server.shutdown()  # noqa: E731 - a signal handler
    signal.signal(signal.SIGTERM, lambda *_: _in_thread(stop))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        cloud.stop()
    return 0


def banner(settings: Settings) -> str:
    from backends import bootstrap
    from server import credentials

    return credentials.describe(settings, bootstrap.demo_credentials())


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _die_with_master(server, worker) -> None:
    """The worker gets SIGKILL when the master dies (Linux ``PR_SET_PDEATHSIG``).

    gunicorn's own check notices a dead master only between events, while the
    worker would still run jobs and hold the port; a restarted server must
    find the database and the port as the crash left them."""
    if not sys.platform.startswith("linux"):
        return
    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0) != 0:
        log.warning("worker cannot follow the master's death: %s", os.strerror(ctypes.get_errno()))
    if os.getppid() != worker.ppid:  # the master died before the request took effect
        os._exit(1)


def _in_thread(fn) -> None:
    # werkzeug's shutdown() waits for serve_forever to return: it cannot run on the serving thread.
    import threading

    threading.Thread(target=fn, daemon=True).start()
