"""The dashboard web app: a Starlette app serving JSON APIs and the bundled front end."""

from __future__ import annotations

import hmac
import ipaddress
import json
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from honed.artifacts import default_artifact_store, delete_study_artifacts
from honed.dashboard._data import StudyCache, TrialQuery, jsonable
from honed.errors import StorageError, StudyNotFoundError
from honed.storage import Storage

__all__ = ["LOCAL_HOSTS", "create_app", "is_loopback"]

# Host names that always reach this machine only.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
_MAX_BODY = 64 * 1024  # a note is at most 10,000 characters
_MAX_STUDY_ID = 2**63 - 1  # a SQL BIGINT

STATIC = Path(__file__).parent / "static"

# The front end loads nothing from elsewhere and runs no inline script, so a strict policy
# costs nothing and stops injected markup from running even if it ever slipped through.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class _Dashboard:
    def __init__(self, storage: Storage, token: str | None, read_only: bool) -> None:
        self.storage = storage
        self.token = token
        self.read_only = read_only
        self._caches: dict[int, StudyCache] = {}
        self._lock = threading.Lock()
        self._warming = False

    def study(self, request: Request) -> StudyCache:
        raw = request.path_params["study_id"]
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 19) or int(raw) > _MAX_STUDY_ID:
            raise _HTTPError(404, f"no study with id {raw[:40]!r}: study ids are integers")
        study_id = int(raw)
        with self._lock:
            cache = self._caches.get(study_id)
        if cache is None:
            try:
                cache = StudyCache(self.storage, study_id)
            except (StudyNotFoundError, KeyError):
                raise _HTTPError(404, f"no study with id {study_id}") from None
            with self._lock:
                cache = self._caches.setdefault(study_id, cache)
        return cache

    def warm(self, study_ids: list[int]) -> None:
        """Read the listed studies on a background thread, so that opening one from the list
        finds its trials already loaded."""
        with self._lock:
            if self._warming:
                return
            todo = [i for i in study_ids if i not in self._caches]
            if not todo:
                return
            self._warming = True

        def run() -> None:
            try:
                for study_id in todo:
                    with self._lock:
                        if study_id in self._caches:
                            continue
                    try:
                        cache = StudyCache(self.storage, study_id)
                        cache.summary()
                    except Exception:  # a warm-up must never break the server
                        continue
                    with self._lock:
                        self._caches.setdefault(study_id, cache)
            finally:
                with self._lock:
                    self._warming = False

        threading.Thread(target=run, name="honed-dashboard-warm", daemon=True).start()

    def check_token(self, request: Request) -> None:
        """Writes: refused on a read-only dashboard, else they need the token."""
        if self.token is None or self.read_only:
            how = "with --token" if self.token is None else "without --read-only"
            raise _HTTPError(403, f"the dashboard is read-only; restart it {how} to allow changes")
        given = request.headers.get("x-honed-token", "")
        if not _same_token(given, self.token):
            raise _HTTPError(401, "missing or wrong token (send it in the X-Honed-Token header)")


def _same_token(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8"))


class _HTTPError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers={"Cache-Control": "no-store"})


def create_app(
    storage: Storage,
    *,
    token: str | None = None,
    host: str = "127.0.0.1",
    allowed_hosts: Iterable[str] = (),
    read_only: bool = False,
) -> Starlette:
    """The dashboard app over ``storage``.

    Without ``token`` it is read-only and open to whoever reaches it. With one, every
    request for data (``/api/...`` but ``/api/info``) must carry it in the ``X-Honed-Token``
    header, and so must writes (notes, deleting studies) unless ``read_only``. Always: the
    ``Host`` header must name this machine (``host``, a localhost name, an IP address when
    ``host`` is a wildcard such as ``0.0.0.0``, or one of ``allowed_hosts``), which stops DNS
    rebinding; and a request from another web page (its ``Origin`` or ``Sec-Fetch-Site``
    says so) is refused, so no page can make a visitor's browser query the dashboard.
    """
    dash = _Dashboard(storage, token, read_only)

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=_SECURITY_HEADERS)

    def info(request: Request) -> JSONResponse:
        from honed import __version__

        return _json(
            {
                "writable": dash.token is not None and not read_only,
                "token_required": dash.token is not None,
                "version": __version__,
            }
        )

    def studies(request: Request) -> JSONResponse:
        out: list[dict[str, Any]] = []
        for s in storage.list_studies():
            out.append(
                {
                    "id": s.study_id,
                    "name": s.name,
                    "directions": [d.value for d in s.directions],
                    "n_trials": s.n_trials,
                    "states": {k.name: v for k, v in s.n_trials_by_state.items()},
                    "best_values": list(s.best_values) if s.best_values else None,
                    "created": s.datetime_created.isoformat(timespec="seconds")
                    if s.datetime_created
                    else None,
                    "note": s.user_attrs.get("note")
                    if isinstance(s.user_attrs.get("note"), str)
                    else None,
                }
            )
        dash.warm([s["id"] for s in out])
        return _json(jsonable(out))

    def study(request: Request) -> JSONResponse:
        return _json(dash.study(request).summary())

    def plot(request: Request) -> Response:
        cache = dash.study(request)
        try:
            body = cache.plot(request.path_params["kind"], dict(request.query_params))
            return Response(
                body, media_type="application/json", headers={"Cache-Control": "no-store"}
            )
        except ValueError as e:
            raise _HTTPError(400, str(e)) from None

    def trials(request: Request) -> JSONResponse:
        qp = request.query_params
        try:
            query = TrialQuery(
                sort=qp.get("sort", "number"),
                desc=qp.get("desc", "0") in ("1", "true"),
                q=qp.get("q", ""),
                state=qp.get("state", ""),
                offset=int(qp.get("offset", "0")),
                limit=int(qp.get("limit", "50")),
            )
        except ValueError as e:
            raise _HTTPError(400, str(e)) from None
        return _json(dash.study(request).table(query))

    async def set_note(request: Request) -> JSONResponse:
        dash.check_token(request)
        try:
            body = json.loads(await _read_body(request))
            note = body["note"]
            if not isinstance(note, str) or len(note) > 10000:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise _HTTPError(400, 'send JSON {"note": "text up to 10,000 characters"}') from None
        cache = dash.study(request)
        storage.set_study_user_attr(cache.study_id, "note", note)
        return _json({"ok": True})

    def delete(request: Request) -> JSONResponse:
        dash.check_token(request)
        cache = dash.study(request)
        name = storage.get_study_name(cache.study_id)
        delete_study_artifacts(default_artifact_store(storage), name)  # checkpoints first
        storage.delete_study(cache.study_id)
        with dash._lock:
            dash._caches.pop(cache.study_id, None)
        return _json({"ok": True})

    async def on_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, _HTTPError)
        return _json({"error": exc.message}, exc.status)

    async def on_missing(request: Request, exc: Exception) -> JSONResponse:
        # The study was deleted while a page still showed it.
        raw = request.path_params.get("study_id", "")
        if raw.isascii() and raw.isdigit():
            with dash._lock:
                dash._caches.pop(int(raw), None)
        return _json({"error": f"no study: {exc}"}, 404)

    async def on_storage(request: Request, exc: Exception) -> JSONResponse:
        # The database is gone, damaged or locked: the server's fault, said plainly.
        return _json({"error": f"the storage cannot be read: {exc}"}, 503)

    routes = [
        Route("/", index),
        Route("/api/info", info),
        Route("/api/studies", studies),
        Route("/api/studies/{study_id}", study, methods=["GET"]),
        Route("/api/studies/{study_id}", delete, methods=["DELETE"]),
        Route("/api/studies/{study_id}/plot/{kind}", plot),
        Route("/api/studies/{study_id}/trials", trials),
        Route("/api/studies/{study_id}/note", set_note, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [
        Middleware(_SecurityHeaders),
        Middleware(_Guard, host=host, allowed_hosts=tuple(allowed_hosts), token=token),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={
            _HTTPError: on_error,
            StudyNotFoundError: on_missing,
            StorageError: on_storage,
        },
    )
    return app


async def _read_body(request: Request) -> bytes:
    """The request body, refused past ``_MAX_BODY`` bytes without reading the rest."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > _MAX_BODY:
        raise _HTTPError(413, f"the request body is over {_MAX_BODY} bytes")
    body = b""
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > _MAX_BODY:
                raise _HTTPError(413, f"the request body is over {_MAX_BODY} bytes")
    except ClientDisconnect:
        raise _HTTPError(400, "the request body was cut short") from None
    return body


def _host_name(host_header: str) -> str:
    """The host of a ``Host`` header, without port or IPv6 brackets, in lower case."""
    h = host_header.strip().lower()
    if h.startswith("["):
        return h[1 : h.find("]")] if "]" in h else ""
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class _Guard:
    """Checks every request before it reaches the app: the Host header (DNS rebinding),
    where it comes from (another web page), and the token for data."""

    def __init__(self, app: Any, host: str, allowed_hosts: tuple[str, ...], token: str | None):
        self.app = app
        self.token = token
        bound = _host_name(host)
        self.any_ip = bound in ("0.0.0.0", "::", "")  # a wildcard: every address of this host
        names = {*LOCAL_HOSTS, *(_host_name(h) for h in allowed_hosts)}
        if not self.any_ip:
            names.add(bound)
        self.hosts = frozenset(names)

    def host_ok(self, name: str) -> bool:
        # An IP address cannot be rebound: a page served from another name cannot make the
        # browser send this one. Names must be listed.
        return name in self.hosts or (self.any_ip and _is_ip(name))

    @staticmethod
    def foreign(headers: dict[str, str], host: str, path: str) -> bool:
        """Whether another web page made the browser send this request: its Origin is not
        this server, or (for data) the browser says it is not same-origin."""
        if "origin" in headers and urlsplit(headers["origin"]).netloc.lower() != host.lower():
            return True
        site = headers.get("sec-fetch-site", "same-origin")
        return path.startswith("/api/") and site not in ("same-origin", "none")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        path = scope.get("path", "")
        status, message = 0, ""
        if not self.host_ok(_host_name(host)):
            extra = " and IP addresses" if self.any_ip else ""
            status = 400
            message = (
                f"invalid Host header {host[:100]!r}: this dashboard answers to "
                f"{sorted(self.hosts)}{extra}; start it with --allow-host NAME to add a name"
            )
        elif self.foreign(headers, host, path):
            status, message = 403, "requests from other web pages are refused"
        elif (
            self.token is not None
            and path.startswith("/api/")
            and path != "/api/info"
            and not _same_token(headers.get("x-honed-token", ""), self.token)
        ):
            status = 401
            message = (
                "missing or wrong token: this dashboard needs its token for every request "
                "(send it in the X-Honed-Token header)"
            )
        if status:
            await _json({"error": message}, status)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class _SecurityHeaders:
    """Adds the security headers to every HTTP response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                extra = [
                    (k.lower().encode(), v.encode())
                    for k, v in _SECURITY_HEADERS.items()
                    if k.lower().encode() not in have
                ]
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the dashboard on this machine."""
    name = _host_name(host)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
