"""The dashboard web app: a Starlette app serving JSON APIs and the bundled front end."""

from __future__ import annotations

import hmac
import ipaddress
import threading
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from honed.dashboard._data import StudyCache, TrialQuery, jsonable
from honed.errors import StudyNotFoundError
from honed.storage import Storage

__all__ = ["create_app"]

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
    def __init__(self, storage: Storage, token: str | None) -> None:
        self.storage = storage
        self.token = token
        self._caches: dict[int, StudyCache] = {}
        self._lock = threading.Lock()
        self._warming = False

    def study(self, request: Request) -> StudyCache:
        try:
            study_id = int(request.path_params["study_id"])
        except ValueError:
            raise _HTTPError(404, "study ids are integers") from None
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
        if self.token is None:
            raise _HTTPError(
                403, "the dashboard is read-only; restart it with --token to allow changes"
            )
        given = request.headers.get("x-honed-token", "")
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            raise _HTTPError(401, "missing or wrong token (send it in the X-Honed-Token header)")


class _HTTPError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers={"Cache-Control": "no-store"})


def create_app(storage: Storage, *, token: str | None = None, host: str = "127.0.0.1") -> Starlette:
    """The dashboard app over ``storage``. Without ``token`` it is read-only; with one, write
    requests (notes, deleting studies) must carry it in the ``X-Honed-Token`` header."""
    dash = _Dashboard(storage, token)

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=_SECURITY_HEADERS)

    def info(request: Request) -> JSONResponse:
        from honed import __version__

        return _json({"writable": dash.token is not None, "version": __version__})

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
            body = await request.json()
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
        storage.delete_study(cache.study_id)
        with dash._lock:
            dash._caches.pop(cache.study_id, None)
        return _json({"ok": True})

    async def on_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, _HTTPError)
        return _json({"error": exc.message}, exc.status)

    async def on_missing(request: Request, exc: Exception) -> JSONResponse:
        # The study was deleted while a page still showed it.
        with dash._lock:
            dash._caches.pop(int(request.path_params.get("study_id", -1)), None)
        return _json({"error": f"no study: {exc}"}, 404)

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
    middleware = [Middleware(_SecurityHeaders)]
    if _is_loopback(host):
        # A page on another site could point its own domain name at 127.0.0.1 (DNS rebinding)
        # and read the dashboard; refusing unknown Host headers stops that.
        middleware.append(
            Middleware(
                TrustedHostMiddleware,
                allowed_hosts=["127.0.0.1", "localhost", "::1", "[::1]", "testserver"],
            )
        )
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={_HTTPError: on_error, StudyNotFoundError: on_missing},
    )
    return app


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


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
