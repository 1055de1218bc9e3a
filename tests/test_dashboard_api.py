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
    # with a token, reading needs it too
    assert rw.get("/api/studies", headers={"X-Honed-Token": TOKEN}).json()[0]["note"] == (
        "<b>hi</b>"
    )
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


# ---- issue 23: token for reads, Host/Origin checks, bounded queries, 4xx for bad input ------
def _raw(base: str, method: str, path: str, headers=None, body: bytes | None = None):
    """One request with exactly these headers (http.client: no Host added when one is
    given), returning (status, parsed JSON or text)."""
    import http.client

    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    headers = dict(headers or {})
    conn.putrequest(method, path, skip_host="Host" in headers, skip_accept_encoding=True)
    for k, v in headers.items():
        conn.putheader(k, v)
    if body is not None:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    try:
        return r.status, json.loads(data)
    except ValueError:
        return r.status, data.decode("utf-8", "replace")


def test_with_a_token_every_read_needs_it(db, client):
    url, study = db
    c = client(url, token=TOKEN)
    info = c.get("/api/info").json()  # no data: open, and says a token is needed
    assert info["token_required"] is True and info["writable"] is True
    good = {"X-Honed-Token": TOKEN}
    for path in (
        "/api/studies",
        "/api/studies/1",
        "/api/studies/1/trials",
        "/api/studies/1/plot/history",
        "/api/studies/999",
    ):
        for headers in ({}, {"X-Honed-Token": "wrong-token-123"}, {"X-Honed-Token": ""}):
            r = c.get(path, headers=headers)
            assert r.status_code == 401 and "needs its token" in r.json()["error"], path
        assert c.get(path, headers=good).status_code in (200, 404)
    assert c.get("/api/studies", headers=good).json()[0]["name"] == "api"
    # the page and its scripts stay open: they hold no data
    for path in ("/", "/static/app.js", "/static/charts.js", "/static/style.css"):
        r = c.get(path)
        assert r.status_code == 200 and "api" not in r.text.split("/api/")[0][-3:]
        assert study.name not in r.text or path != "/"
    # --read-only: the token guards reads, and writes are refused even with it
    ro = client(url, token=TOKEN + "-ro")
    assert ro.get("/api/studies").status_code == 401


def test_read_only_with_a_token_refuses_writes(tmp_path):
    from honed.dashboard import serve

    url = f"sqlite:///{tmp_path / 'ro.db'}"
    honed.create_study("keep", storage=url)
    with serve(url, port=0, token=TOKEN, read_only=True, background=True) as srv:
        c = _Client(srv.url)
        good = {"X-Honed-Token": TOKEN}
        assert c.get("/api/info").json() == {
            "writable": False,
            "token_required": True,
            "version": honed.__version__,
        }
        assert c.get("/api/studies", headers=good).status_code == 200
        r = c.post("/api/studies/1/note", json={"note": "x"}, headers=good)
        assert r.status_code == 403 and "without --read-only" in r.json()["error"]
        assert c.delete("/api/studies/1", headers=good).status_code == 403
    assert [s.name for s in honed.storage.get_storage(url).list_studies()] == ["keep"]


def test_host_and_origin_checks(db):
    from honed.dashboard import serve

    url, _ = db
    with serve(url, port=0, allowed_hosts=["gpu-box.lan"], background=True) as srv:
        port = urllib.parse.urlsplit(srv.url).port
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "LOCALHOST", f"gpu-box.lan:{port}"):
            assert _raw(srv.url, "GET", "/api/studies", {"Host": host})[0] == 200, host
        # a name the dashboard was not told about: DNS rebinding; IPs other than loopback too
        for host in ("evil.example", f"evil.example:{port}", "10.1.2.3", "[::2]:80", ""):
            status, body = _raw(srv.url, "GET", "/api/studies", {"Host": host})
            assert status == 400 and "--allow-host" in body["error"], host
        assert _raw(srv.url, "GET", "/", {"Host": "evil.example"})[0] == 400
        me = {"Host": f"127.0.0.1:{port}"}
        # another web page: its Origin, or the browser's Sec-Fetch-Site, says so
        for extra in (
            {"Origin": "http://evil.example"},
            {"Origin": "null"},
            {"Origin": f"http://localhost:{port + 1}"},
            {"Sec-Fetch-Site": "cross-site"},
            {"Sec-Fetch-Site": "same-site"},
        ):
            status, body = _raw(srv.url, "GET", "/api/studies", {**me, **extra})
            assert status == 403 and "other web pages" in body["error"], extra
        assert (
            _raw(srv.url, "GET", "/api/studies", {**me, "Origin": f"http://{me['Host']}"})[0] == 200
        )
        assert (
            _raw(srv.url, "GET", "/api/studies", {**me, "Sec-Fetch-Site": "same-origin"})[0] == 200
        )
        # following a link to the page from elsewhere is fine: the page holds no data
        assert _raw(srv.url, "GET", "/", {**me, "Sec-Fetch-Site": "cross-site"})[0] == 200


def test_beyond_loopback_needs_a_token_and_warns(db, capfd):
    from honed.dashboard import serve

    url, _ = db
    with pytest.raises(ValueError, match=r"binding 0\.0\.0\.0 .* start it with a token"):
        serve(url, host="0.0.0.0", port=0, background=True)
    with pytest.raises(ValueError, match="printable ASCII"):
        serve(url, port=0, token="has spaces in it", background=True)
    with serve(url, host="0.0.0.0", port=0, token=TOKEN, background=True) as srv:
        err = capfd.readouterr().err
        assert "WARNING: listening on 0.0.0.0" in err and "beyond this machine" in err
        port = urllib.parse.urlsplit(srv.url).port
        good = {"X-Honed-Token": TOKEN}
        base = f"http://127.0.0.1:{port}"
        # any IP address of this machine is fine (it cannot be rebound); names are not
        for host in (f"127.0.0.1:{port}", f"192.168.7.7:{port}", f"[fe80::1]:{port}"):
            assert _raw(base, "GET", "/api/studies", {"Host": host, **good})[0] == 200, host
        assert _raw(base, "GET", "/api/studies", {"Host": "evil.example", **good})[0] == 400
        assert _raw(base, "GET", "/api/studies", {"Host": f"127.0.0.1:{port}"})[0] == 401
    # on loopback: no warning
    with serve(url, port=0, background=True):
        assert "WARNING" not in capfd.readouterr().err


def test_the_cli_refuses_an_open_network_dashboard(db):
    url, _ = db
    proc = subprocess.run(
        [sys.executable, "-m", "honed.cli", "dashboard", "--storage", url, "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in __import__("os").environ.items() if k != "HONED_DASHBOARD_TOKEN"},
    )
    assert proc.returncode == 2 and "start it with a token" in proc.stderr
    assert "Traceback" not in proc.stderr


def _many_trials(n: int):
    """A study of ``n`` finished trials in memory (writing 10k to SQLite takes minutes here;
    the dashboard reads every backend the same way)."""
    import numpy as np

    from honed.space import Choice, Float
    from honed.storage import InMemoryStorage

    store = InMemoryStorage()
    honed.create_study("big", storage=store)
    sid = store.get_study_id("big")
    rng = np.random.default_rng(0)
    dists = {"x": Float(-5, 5), "opt": Choice(["adam", "sgd", "rmsprop"])}
    for i in range(n):
        p = {"x": float(rng.uniform(-5, 5)), "opt": ["adam", "sgd", "rmsprop"][i % 3]}
        tr = store.create_trial(sid)
        store.set_trial_params(tr.trial_id, p, dists)
        store.set_trial_user_attr(tr.trial_id, "note", f"run {i} of a long sweep")
        store.finish_trial(tr.trial_id, TrialState.COMPLETE, [p["x"] ** 2])
    return store, sid


def test_query_cost_is_bounded_on_ten_thousand_trials():
    from honed.dashboard import serve
    from honed.dashboard._data import TrialQuery, study_rows

    store, sid = _many_trials(10_000)
    with serve(store, port=0, background=True) as srv:
        c = _Client(srv.url)
        path = f"/api/studies/{sid}/trials"
        start = time.perf_counter()
        r = c.get(path, params={"q": " ".join(f"x>{i / 1000}" for i in range(1000))})
        blind = time.perf_counter() - start
        assert r.status_code == 400 and "1000 terms; use at most 16" in r.json()["error"]
        r = c.get(path, params={"q": "a" * 1001})
        assert r.status_code == 400 and "at most 1000" in r.json()["error"]
        # the most a query may ask: 16 terms, text and comparisons, over every row
        heavy = " ".join(["run", "sweep", "x>-5", "opt!=none", "of", "long"] * 2 + ["a"] * 4)
        start = time.perf_counter()
        r = c.get(path, params={"q": heavy, "limit": 5})
        took = time.perf_counter() - start
        assert r.status_code == 200 and r.json()["filtered"] == 10_000
    print(
        f"\n1,000-term query refused in {blind * 1000:.0f} ms; "
        f"16 terms on 10,000 trials {took:.2f} s"
    )
    # the time limit: a filter past it stops with a clear error
    rows = study_rows(store.get_trials_since(sid, 0)[0])
    with pytest.raises(ValueError, match=r"took more than 0 s; use fewer or narrower terms"):
        TrialQuery(q="run", time_limit=0.0).apply(rows)
    assert len(TrialQuery(q="run x>0").apply(rows)) == sum(r["params"]["x"] > 0 for r in rows)


MALFORMED = [
    ("GET", "/api/studies/9223372036854775808"),  # 2**63
    ("GET", "/api/studies/9223372036854775807"),  # 2**63 - 1: fits, but no such study
    ("GET", "/api/studies/99999999999999999999999999999999"),
    ("GET", "/api/studies/-1"),
    ("GET", "/api/studies/1e3"),
    ("GET", "/api/studies/%20"),
    ("GET", "/api/studies/%F0%9F%98%80"),
    ("GET", "/api/studies/%D9%A1"),  # an Arabic-Indic digit: int() reads it, we do not
    ("GET", "/api/studies/18446744073709551616/trials"),
    ("GET", "/api/studies/18446744073709551616/plot/history"),
    ("GET", "/api/studies/1/plot/history?objective=abc"),
    ("GET", "/api/studies/1/plot/history?objective=99999999999999999999"),
    ("GET", "/api/studies/1/plot/history?objective=-1"),
    ("GET", "/api/studies/1/plot/pareto?objective2=x"),
    ("GET", "/api/studies/1/plot/pareto?objective2=5"),
    ("GET", "/api/studies/1/plot/contour?y=%F0%9F%98%80"),
    ("GET", "/api/studies/1/plot/nope"),
    ("GET", "/api/studies/1/plot/contour?x=nope&y=%00"),
    ("GET", "/api/studies/1/plot/importance?method=magic"),
    ("GET", "/api/studies/1/trials?limit=abc"),
    ("GET", "/api/studies/1/trials?limit=99999999999999999999"),
    ("GET", "/api/studies/1/trials?offset=-5"),
    ("GET", "/api/studies/1/trials?state=%00"),
    ("GET", "/api/studies/1/trials?sort=" + "s" * 300),
    ("GET", "/api/studies/1/trials?q=" + "+x>1" * 200),
    ("GET", "/api/nothing"),
    ("GET", "/static/../../../etc/passwd"),
    ("GET", "/static/%2e%2e/%2e%2e/etc/passwd"),
    ("PUT", "/api/studies/1"),
    ("POST", "/api/studies/1/note"),  # no token
]


# Odd but well-formed: a page past the end, a column no trial has, text to look for.
ODD_BUT_VALID = [
    "/api/studies/1/trials?offset=99999999999999999999",
    "/api/studies/1/trials?sort=value99999999999999999999999&desc=1",
    "/api/studies/1/trials?q=%ff%fe",
    "/api/studies/1/trials?q=x%3C%3D%3D%3D",
    "/api/studies/1/trials?q=" + "%3D" * 900,
    "/api/studies/1/plot/history?made_up=1&objective=0",
]


def test_malformed_requests_get_4xx_never_5xx(db):
    from honed.dashboard import serve

    url, _ = db
    with serve(url, port=0, token=TOKEN, background=True) as srv:
        good = {"X-Honed-Token": TOKEN}
        port = urllib.parse.urlsplit(srv.url).port
        host = {"Host": f"127.0.0.1:{port}", **good}
        answers = {}
        for method, path in MALFORMED:
            answers[(method, path)] = _raw(srv.url, method, path, host)[0]
        note = "/api/studies/1/note"
        for body in (
            b"",
            b"{",
            b"[1]",
            b"null",
            b'{"note": 5}',
            b'{"nope": 1}',
            b"\xff\xfe",
            b'{"note": "' + b"x" * 70_000 + b'"}',
        ):
            answers[("POST", body[:20])] = _raw(srv.url, "POST", note, host, body)[0]
        answers[("huge header", "")] = _raw(
            srv.url, "GET", "/api/studies", {**host, "X-Honed-Token": "t" * 20_000}
        )[0]
        answers[("DELETE", "2**63")] = _raw(
            srv.url, "DELETE", "/api/studies/9223372036854775808", host
        )[0]
        odd = {path: _raw(srv.url, "GET", path, host) for path in ODD_BUT_VALID}
    assert len(answers) >= 35
    bad = {k: v for k, v in answers.items() if not 400 <= v < 500}
    assert bad == {}, bad
    assert {path: status for path, (status, _) in odd.items()} == dict.fromkeys(ODD_BUT_VALID, 200)
    assert odd[ODD_BUT_VALID[0]][1]["rows"] == []
