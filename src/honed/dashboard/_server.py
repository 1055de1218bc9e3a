"""Running the dashboard with uvicorn, in the foreground or on a background thread."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from honed.storage import Storage, get_storage

__all__ = ["DashboardServer", "serve"]


def _require() -> None:
    missing = []
    for mod in ("starlette", "uvicorn"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    if missing:
        raise ImportError(
            f"the dashboard needs {' and '.join(missing)}: pip install 'honed[dashboard]'."
        )


class DashboardServer:
    """A dashboard running on a background thread; :meth:`stop` shuts it down."""

    def __init__(self, server: Any, thread: threading.Thread, url: str) -> None:
        self._server = server
        self._thread = thread
        self.url = url

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> DashboardServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    storage: str | Path | Storage,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    token: str | None = None,
    allowed_hosts: Sequence[str] = (),
    read_only: bool = False,
    background: bool = False,
    log_level: str = "warning",
) -> DashboardServer | None:
    """Serve the dashboard for ``storage``.

    Args:
        storage: A storage URL, a ``.db`` path or a :class:`~honed.storage.Storage`.
        host: Interface to bind; the default, 127.0.0.1, keeps it on this machine. Any
            other address (``0.0.0.0``: every interface) needs a ``token``, and a warning
            is printed to standard error.
        port: TCP port; 0 picks a free one (handy with ``background=True``).
        token: With a token, every request for data and every write (notes, deleting a
            study) must carry it (the page asks for it once per tab); without one the
            dashboard is read-only and open to anyone who reaches it.
        allowed_hosts: Host names, besides ``host``, localhost and IP addresses, under which
            the dashboard may be reached (e.g. ``["gpu-box.lan"]``); any other ``Host``
            header is refused, which stops DNS rebinding.
        read_only: With a token, refuse writes anyway: the token then only guards reads.
        background: Run on a daemon thread and return a :class:`DashboardServer`
            (its ``url`` says where); otherwise block until interrupted.
    """
    _require()
    import uvicorn

    from honed.dashboard._app import create_app, is_loopback

    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an integer between 0 and 65535, got {port!r}.")
    if token is not None and (
        len(token) < 8 or not token.isascii() or not token.isprintable() or " " in token
    ):
        raise ValueError(
            "token must be at least 8 printable ASCII characters without spaces; pick "
            "something hard to guess, e.g. the output of "
            "python -c 'import secrets; print(secrets.token_urlsafe())'."
        )
    if isinstance(allowed_hosts, str):
        raise ValueError(f"allowed_hosts must be a list of names, got {allowed_hosts!r}.")
    local = is_loopback(host)
    if not local and token is None:
        # Every study, parameter and attribute would be readable by anyone on the network
        # (and by any web page a colleague's browser opens there): refuse rather than warn.
        raise ValueError(
            f"binding {host} makes the dashboard reachable from other machines; start it with "
            "a token (--token or $HONED_DASHBOARD_TOKEN) so that only those who have it can "
            "read your studies, or keep the default 127.0.0.1 and use an SSH tunnel "
            "(ssh -L 8080:127.0.0.1:8080 host)."
        )
    store = get_storage(storage)
    app = create_app(
        store, token=token, host=host, allowed_hosts=allowed_hosts, read_only=read_only
    )
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound_port}/"
    if not local:
        print(
            f"honed dashboard: WARNING: listening on {host} port {bound_port}, beyond this "
            "machine: anyone who can reach it can try the token, and the traffic (token "
            "included) is not encrypted; put it behind HTTPS or an SSH tunnel on an open "
            "network.",
            file=sys.stderr,
            flush=True,
        )
    config = uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    if not background:
        print(f"honed dashboard on {url}  (Ctrl+C to stop)", flush=True)
        server.run(sockets=[sock])
        return None
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="honed-dashboard", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the dashboard did not start on {url}.")
        time.sleep(0.02)
    return DashboardServer(server, thread, url)
