"""The dashboard's JSON APIs and its safety rules, over a real SQLite file."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

import honed
from honed.trial import TrialState

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

TOKEN = "s3cret-token-123"


def _objective(trial: honed.Trial) -> float:
    x = trial.float("x", -2, 2)
    k = trial.int("k", 1, 4)
    trial.set_user_attr("tag", "even" if trial.number % 2 == 0 else "odd")
    for step in range(3):
        trial.report(x**2 + k + 1 / (step + 1), step)
        if trial.number % 4 == 3 and step == 1:
            raise honed.TrialPruned()
    return x**2 + k


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'api.db'}"
    s = honed.create_study("api", storage=url, sampler="random", seed=2)
    s.optimize(_objective, n_trials=24)
    return url, s


class _Response:
    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.status_code = status
        self.text = body.decode()
        self.headers = {k.lower(): v for k, v in headers.items()}

    def json(self):
        return json.loads(self.text)


class _Client:
    """A tiny HTTP client over the real server (urllib: no extra dependency)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def request(self, method, path, *, params=None, json_body=None, headers=None):
        url = self.base + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None if json_body is None else json.dumps(json_body).encode()
        req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return _Response(r.status, r.read(), dict(r.headers))
        except urllib.error.HTTPError as e:
            return _Response(e.code, e.read(), dict(e.headers))

    def get(self, path, params=None, headers=None):
        return self.request("GET", path, params=params, headers=headers)

    def post(self, path, json=None, headers=None):
        return self.request("POST", path, json_body=json, headers=headers)

    def delete(self, path, headers=None):
        return self.request("DELETE", path, headers=headers)


@pytest.fixture
def client():
    """Start real dashboards on free loopback ports; stop them after the test."""
    from honed.dashboard import serve

    servers = []

    def make(url: str, token: str | None = None) -> _Client:
        srv = serve(url, port=0, token=token, background=True)
        servers.append(srv)
        return _Client(srv.url)

    yield make
    for srv in servers:
        srv.stop()


def test_study_list_and_summary(db, client):
    url, study = db
    c = client(url)
    studies = c.get("/api/studies").json()
    assert [s["name"] for s in studies] == ["api"]
    assert studies[0]["n_trials"] == 24
    sid = studies[0]["id"]
    summary = c.get(f"/api/studies/{sid}").json()
    assert summary["best"]["number"] == study.best_trial.number
    assert summary["params"] == ["x", "k"]
    assert summary["states"]["PRUNED"] == sum(t.state is TrialState.PRUNED for t in study.trials)
    assert c.get("/api/studies/999").status_code == 404
    assert c.get("/api/studies/abc").status_code == 404


def test_plots_and_their_errors(db, client):
    url, study = db
    c = client(url)
    n_complete = sum(t.state is TrialState.COMPLETE for t in study.trials)
    for kind in ("history", "intermediate", "parallel", "slice", "contour", "importance"):
        r = c.get(f"/api/studies/1/plot/{kind}")
        assert r.status_code == 200, r.text
        assert r.json()["kind"] == kind
    assert len(c.get("/api/studies/1/plot/history").json()["number"]) == n_complete
    fan = c.get("/api/studies/1/plot/importance?method=fanova").json()
    assert fan["method"] == "fanova" and set(fan["names"]) == {"x", "k"}
    assert "single-objective" in c.get("/api/studies/1/plot/pareto").json()["note"]
    r = c.get("/api/studies/1/plot/nope")
    assert r.status_code == 400 and "unknown plot" in r.json()["error"]
    r = c.get("/api/studies/1/plot/history?objective=3")
    assert r.status_code == 400 and "objective must be between 0 and 0" in r.json()["error"]


def test_trial_table_sort_filter_page(db, client):
    url, study = db
    c = client(url)
    trials = study.trials
    d = c.get("/api/studies/1/trials?limit=5&offset=5").json()
    assert [r["number"] for r in d["rows"]] == [5, 6, 7, 8, 9]
    assert d["total"] == d["filtered"] == 24
    assert d["param_columns"] == ["x", "k"] and d["attr_columns"] == ["tag"]
    d = c.get("/api/studies/1/trials?sort=param:x&desc=1&limit=100").json()
    xs = [r["params"]["x"] for r in d["rows"]]
    assert xs == sorted((t.params["x"] for t in trials), reverse=True)
    d = c.get("/api/studies/1/trials", params={"q": "k>=3 tag=odd", "limit": 100}).json()
    expect = [t.number for t in trials if t.params["k"] >= 3 and t.user_attrs["tag"] == "odd"]
    assert [r["number"] for r in d["rows"]] == expect
    d = c.get("/api/studies/1/trials?state=pruned&limit=100").json()
    assert {r["state"] for r in d["rows"]} == {"PRUNED"}
    # Values sort with blanks (trials without a value) last.
    d = c.get("/api/studies/1/trials?sort=value&limit=100").json()
    vals = [r["values"][0] for r in d["rows"] if r["values"]]
    assert vals == sorted(vals)
    assert c.get("/api/studies/1/trials?limit=0").status_code == 400
    assert "state must be one of" in c.get("/api/studies/1/trials?state=done").json()["error"]


def test_read_only_without_token_and_writes_with_it(tmp_path, client):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    honed.create_study("keep", storage=url).optimize(lambda t: t.float("x", 0, 1), n_trials=2)
    honed.create_study("drop", storage=url)
    ro = client(url)
    assert ro.get("/api/info").json()["writable"] is False
    assert ro.post("/api/studies/1/note", json={"note": "hi"}).status_code == 403
    assert ro.delete("/api/studies/2").status_code == 403
    rw = client(url, token=TOKEN)
    assert rw.get("/api/info").json()["writable"] is True
    assert rw.post("/api/studies/1/note", json={"note": "hi"}).status_code == 401
    bad = rw.delete("/api/studies/2", headers={"X-Honed-Token": "wrong-token"})
    assert bad.status_code == 401
    ok = rw.post(
        "/api/studies/1/note", json={"note": "<b>hi</b>"}, headers={"X-Honed-Token": TOKEN}
    )
    assert ok.status_code == 200
    assert honed.load_study("keep", storage=url).user_attrs["note"] == "<b>hi</b>"
    assert rw.get("/api/studies").json()[0]["note"] == "<b>hi</b>"
    r = rw.post("/api/studies/1/note", json={"note": 5}, headers={"X-Honed-Token": TOKEN})
    assert r.status_code == 400
    assert rw.delete("/api/studies/2", headers={"X-Honed-Token": TOKEN}).status_code == 200
    assert [s.name for s in honed.storage.get_storage(url).list_studies()] == ["keep"]


def test_security_headers_and_host_check(db, client):
    url, _ = db
    c = client(url)
    r = c.get("/")
    assert r.status_code == 200 and "<title>honed dashboard</title>" in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert c.get("/static/charts.js").status_code == 200
    # DNS rebinding: a foreign Host header is refused on a loopback server.
    assert c.get("/api/studies", headers={"Host": "evil.example"}).status_code == 400
    # The front end never parses strings as markup.
    import re

    from honed.dashboard._app import STATIC

    markup = re.compile(
        r"\.(innerHTML|outerHTML)\s*[+]?=|insertAdjacentHTML|document\.write|eval\("
    )
    for name in ("app.js", "charts.js"):
        assert not markup.search((STATIC / name).read_text()), name


def test_live_reads_are_incremental(tmp_path, client):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    s = honed.create_study("live", storage=url)
    s.optimize(lambda t: t.float("x", 0, 1), n_trials=3)
    c = client(url)
    v1 = c.get("/api/studies/1").json()["version"]
    assert c.get("/api/studies/1").json()["version"] == v1  # idle: same version
    t = s.ask()
    t.float("x", 0, 1)
    t.report(0.5, 0)
    v2 = c.get("/api/studies/1").json()["version"]
    assert v2 != v1
    rows = c.get("/api/studies/1/trials?desc=1&limit=1").json()["rows"]
    assert rows[0]["state"] == "RUNNING" and rows[0]["n_steps"] == 1
    t.report(0.4, 1)
    assert c.get("/api/studies/1").json()["version"] != v2  # a new report is a change
    s.tell(t, 0.1)
    assert len(c.get("/api/studies/1/plot/history").json()["number"]) == 4
    # Deleted by someone else while the page is open: a clear 404, not a crash.
    honed.delete_study("live", storage=url)
    r = c.get("/api/studies/1")
    assert r.status_code == 404 and "no study" in r.json()["error"]


def test_cli_serves_on_loopback(db):
    url, _ = db
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "honed.cli", "dashboard", "--storage", url, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        body = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies") as r:
                    body = json.loads(r.read())
                break
            except OSError:
                time.sleep(0.2)
        assert body is not None and body[0]["name"] == "api"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}/" in out


def test_serve_rejects_bad_arguments(db):
    from honed.dashboard import serve

    with pytest.raises(ValueError, match="port must be"):
        serve(db[0], port=70000, background=True)
    with pytest.raises(ValueError, match="token must be at least 8"):
        serve(db[0], port=0, token="abc", background=True)
