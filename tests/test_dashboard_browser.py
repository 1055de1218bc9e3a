"""End-to-end tests of the dashboard in a real headless Chromium (Debian's ``chromium``
package, driven by Playwright), against the real server on a real SQLite file.

Screenshots land in ``test-artifacts/dashboard/`` so a person can look at the pages.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from pathlib import Path

import pytest

import honed
from honed.pareto import non_dominated_mask
from honed.trial import TrialState
from tests.test_schedulers import lc_study

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.slow  # a real headless Chromium

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    # CI installs it with .ci/setup-chromium.sh; there a missing browser is an error.
    if os.environ.get("CI"):
        raise RuntimeError("chromium is missing; run .ci/setup-chromium.sh first")
    pytest.skip(
        "Debian's chromium is not installed (.ci/setup-chromium.sh)", allow_module_level=True
    )

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "dashboard"
XSS_STUDY = "<img src=x onerror=\"alert('study')\">study"
XSS_PARAM = "<script>alert('param')</script>"
XSS_ATTR = "<img src=y onerror=alert('attr')>"
XSS_VALUE = "<script>alert('value')</script>"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _objective(trial: honed.Trial) -> float:
    x = trial.float("x", -5, 5)
    lr = trial.float("lr", 1e-5, 1e-1, log=True)
    k = trial.int("k", 1, 8)
    opt = trial.choice("optimizer", ["adam", "sgd"])
    z = trial.float(XSS_PARAM, 0, 1)
    trial.set_user_attr(XSS_ATTR, XSS_VALUE)
    trial.set_user_attr("epochs", 6)
    base = (x - 1) ** 2 + abs(math.log10(lr) + 3) + 0.1 * k + (opt == "sgd") + 0.01 * z
    for step in range(6):
        trial.report(base + 2.0 / (step + 1), step)
        if trial.number % 6 == 4 and step == 2:
            raise honed.TrialPruned()
    if trial.number % 10 == 7:
        raise ValueError("diverged <b>loss</b>")
    return base


def _fill(study: honed.Study, n: int) -> None:
    for _ in range(n):
        t = study.ask()
        try:
            study.tell(t, _objective(t))
        except honed.TrialPruned:
            study.tell(t, state=TrialState.PRUNED)
        except ValueError as e:
            study.tell(t, state=TrialState.FAILED, fail_reason=str(e))


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('dash') / 'dash.db'}"
    main = honed.create_study(XSS_STUDY, storage=url, sampler="random", seed=3)
    _fill(main, 36)
    multi = honed.create_study(
        "two objectives",
        storage=url,
        directions=["minimize", "maximize"],
        sampler="random",
        seed=4,
    )

    def two(t: honed.Trial) -> tuple[float, float]:
        a, b = t.float("a", 0, 1), t.float("b", 0, 1)
        return a, 1 - a**2 + 0.3 * b

    multi.optimize(two, n_trials=30)
    return url, main, multi


@pytest.fixture(scope="module")
def server(studies):
    from honed.dashboard import serve

    srv = serve(studies[0], port=0, background=True)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        yield ctx
        ctx.close()


@pytest.fixture
def page(browser_context):
    pg = browser_context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.dialogs = dialogs  # type: ignore[attr-defined]
    pg.errors = errors  # type: ignore[attr-defined]
    yield pg
    assert errors == [], f"JavaScript errors on the page: {errors}"
    pg.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _count(page, selector: str) -> int:
    return page.locator(selector).count()


def _wait_count(page, selector: str, n: int, timeout: float = 15.0) -> None:
    page.wait_for_function(
        "([s, n]) => document.querySelectorAll(s).length === n",
        arg=[selector, n],
        timeout=timeout * 1000,
    )


def _wait_first_row(page, number: int) -> None:
    page.wait_for_function(
        "n => document.querySelector('#trials tbody tr')?.dataset.number === String(n)", arg=number
    )


def test_study_list_and_every_plot(server, studies, page):
    _, main, multi = studies
    page.goto(server.url + "?poll=400")
    page.wait_for_selector("#studies a.study-link")
    links = page.locator("#studies a.study-link")
    assert sorted(links.all_text_contents()) == sorted([XSS_STUDY, "two objectives"])
    _shot(page, "01-study-list")

    page.get_by_text(XSS_STUDY, exact=True).click()
    page.wait_for_selector("svg[data-plot=history] circle.pt")
    trials = main.trials
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    with_iv = [t for t in trials if t.intermediate_values]
    pruned = [t for t in with_iv if t.state is TrialState.PRUNED]
    n_params = 5
    assert page.locator("#study-title").text_content() == XSS_STUDY

    _wait_count(page, "svg[data-plot=history] circle.pt", len(complete))
    assert _count(page, "svg[data-plot=history] path.best") == 1
    _wait_count(page, "svg[data-plot=intermediate] path.curve", len(with_iv))
    assert _count(page, "svg[data-plot=intermediate] path.curve.pruned") == len(pruned) > 0
    assert _count(page, "svg[data-plot=intermediate] path.pruned-end") == len(pruned)
    _wait_count(page, "svg[data-plot=parallel] path.line", len(complete))
    assert _count(page, "svg[data-plot=parallel] g.axis-p") == n_params + 1
    _wait_count(page, "svg[data-plot=slice]", n_params)
    assert _count(page, "svg[data-plot=slice] circle.pt") == n_params * len(complete)
    _wait_count(page, "svg[data-plot=contour] circle.pt", len(complete))
    # x and lr are numeric: a 24 x 24 surface under the points.
    assert _count(page, "svg[data-plot=contour] rect.cell") == 24 * 24
    _wait_count(page, "svg[data-plot=importance] rect.bar", n_params)
    assert not page.locator("#card-pareto").is_visible()
    _shot(page, "02-study-plots")

    # The contour axes follow the selects; a choice axis has one cell row per option.
    page.select_option("#contour-y", "optimizer")
    _wait_count(page, "svg[data-plot=contour] rect.cell", 24 * 2)
    page.select_option("#importance-method", "fanova")
    page.wait_for_function(
        "() => document.querySelector('svg[data-plot=importance]') && "
        "document.querySelector('#card-importance h2') !== null"
    )
    _wait_count(page, "svg[data-plot=importance] rect.bar", n_params)

    # The multi-objective study: the Pareto front, with the front computed here.
    page.goto(server.url + f"?poll=400#/study/{multi._study_id}")
    page.wait_for_selector("svg[data-plot=pareto] circle.pt")
    mt = [t for t in multi.trials if t.state is TrialState.COMPLETE]
    losses = [[t.values[0], -t.values[1]] for t in mt]
    import numpy as np

    n_front = int(non_dominated_mask(np.array(losses)).sum())
    _wait_count(page, "svg[data-plot=pareto] circle.pt", len(mt))
    assert _count(page, "svg[data-plot=pareto] circle.pt.front") == n_front
    assert page.locator("#card-pareto").is_visible()
    _shot(page, "03-pareto")
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_trial_table_sorts_filters_and_pages(server, studies, page):
    _, main, _ = studies
    trials = main.trials
    page.goto(server.url + f"?poll=400#/study/{main._study_id}")
    page.wait_for_selector("#trials tbody tr")
    # Default: newest first.
    first = lambda: int(page.locator("#trials tbody tr").first.get_attribute("data-number"))  # noqa: E731
    assert first() == trials[-1].number
    assert _count(page, "#trials tbody tr") == len(trials)

    # Sort by value, ascending: the best trial first; again: the worst first.
    best = min((t for t in trials if t.values), key=lambda t: (t.values[0], t.number))
    page.click("#trials th[data-key=value]")
    page.wait_for_selector("#trials th.sorted-asc[data-key=value]")
    page.wait_for_function(
        f"() => document.querySelector('#trials tbody tr')?.dataset.number === '{best.number}'"
    )
    page.click("#trials th[data-key=value]")
    page.wait_for_selector("#trials th.sorted-desc[data-key=value]")
    # Pruned trials keep their last reported value, so they sort with the rest.
    worst = max((t for t in trials if t.values), key=lambda t: (t.values[0], -t.number))
    page.wait_for_function(
        f"() => document.querySelector('#trials tbody tr')?.dataset.number === '{worst.number}'"
    )

    # Filter by a condition on a parameter.
    expect = sum(1 for t in trials if t.params.get("x", -99) > 1)
    page.fill("#trial-filter", "x>1")
    page.wait_for_function(
        f"() => document.querySelectorAll('#trials tbody tr').length === {expect}"
    )
    assert f"of {expect} (filtered from {len(trials)})" in page.text_content("#pager-text")
    _shot(page, "04-table-filtered")

    # Filter by state; the failure reason shows as text.
    page.fill("#trial-filter", "")
    page.select_option("#state-filter", "FAILED")
    failed = [t for t in trials if t.state is TrialState.FAILED]
    _wait_count(page, "#trials tbody tr", len(failed))
    assert len(failed) > 0
    states = page.locator("#trials tbody tr td:nth-child(2)").all_text_contents()
    assert set(states) == {"FAILED"}
    assert "diverged <b>loss</b>" in page.text_content("#trials tbody")
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_xss_payloads_render_as_text(server, studies, page):
    _, main, _ = studies
    page.goto(server.url + f"?poll=400#/study/{main._study_id}")
    page.wait_for_selector("svg[data-plot=parallel] path.line")
    page.wait_for_selector("#trials tbody tr")
    time.sleep(0.5)
    # The study name, the parameter name and the user attribute are shown literally ...
    assert page.locator("#study-title").text_content() == XSS_STUDY
    headers = page.locator("#trials th").all_text_contents()
    assert XSS_PARAM in headers and XSS_ATTR in headers
    assert XSS_VALUE in page.text_content("#trials tbody")
    axis_labels = page.evaluate(
        "() => [...document.querySelectorAll('svg[data-plot=parallel] text.hc-label')]"
        ".map(t => t.firstChild.nodeValue)"
    )
    assert XSS_PARAM in axis_labels
    # ... and none of them became markup: no injected elements, no script ran.
    assert _count(page, "img") == 0
    assert _count(page, "script") == 2  # charts.js and app.js
    page.click("#trials tbody tr >> nth=0")
    assert XSS_VALUE in page.text_content("#trial-detail")
    page.goto(server.url)
    page.wait_for_selector("#studies a.study-link")
    assert _count(page, "img") == 0
    _shot(page, "05-xss-as-text")
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_new_trial_appears_while_page_is_open(server, studies, page):
    url, main, _ = studies
    page.goto(server.url + f"?poll=300#/study/{main._study_id}")
    page.wait_for_selector("svg[data-plot=history] circle.pt")
    n_complete = sum(1 for t in main.trials if t.state is TrialState.COMPLETE)
    n_total = len(main.trials)
    _wait_count(page, "svg[data-plot=history] circle.pt", n_complete)

    # Another process would do the same: a separate handle on the SQLite file.
    other = honed.load_study(XSS_STUDY, storage=url)
    t = other.ask()
    t.float("x", -5, 5)
    t.report(1.0, 0)
    # A running trial shows in the table and as a live curve ...
    page.wait_for_function(
        f"() => document.querySelector('#trials tbody tr')?.dataset.number === '{t.number}'"
    )
    page.wait_for_selector(f"#trials tbody tr[data-number='{t.number}'] .state-RUNNING")
    _wait_count(page, "svg[data-plot=intermediate] path.curve.running", 1)
    # ... and once it completes, in the history.
    other.tell(t, 0.001)
    _wait_count(page, "svg[data-plot=history] circle.pt", n_complete + 1)
    page.wait_for_selector(f"#trials tbody tr[data-number='{t.number}'] .state-COMPLETE")
    assert f"of {n_total + 1}" in page.text_content("#pager-text")
    _shot(page, "06-live-update")


def test_ten_thousand_trials_open_fast(browser_context, page):
    """Timing is printed, not asserted. The study lives in memory: writing 10,000 trials to
    SQLite takes minutes here, and the dashboard reads every backend the same way."""
    import numpy as np

    from honed.dashboard import serve
    from honed.space import Choice, Float, Int
    from honed.storage import InMemoryStorage

    store = InMemoryStorage()
    study = honed.create_study("big", storage=store)
    sid = store.get_study_id("big")
    rng = np.random.default_rng(0)
    dists = {
        "x": Float(-5, 5),
        "lr": Float(1e-5, 1e-1, log=True),
        "k": Int(1, 8),
        "opt": Choice(["a", "b", "c"]),
    }
    n = 10_000
    for _ in range(n):
        p = {
            "x": float(rng.uniform(-5, 5)),
            "lr": float(10 ** rng.uniform(-5, -1)),
            "k": int(rng.integers(1, 9)),
            "opt": str(rng.choice(["a", "b", "c"])),
        }
        tr = store.create_trial(sid)
        store.set_trial_params(tr.trial_id, p, dists)
        store.finish_trial(tr.trial_id, TrialState.COMPLETE, [p["x"] ** 2 + p["k"]])
    assert len(study.trials) == n
    with serve(store, port=0, background=True) as srv:
        start = time.perf_counter()
        page.goto(srv.url + f"#/study/{sid}")
        page.wait_for_selector("svg[data-plot=history] circle.pt")
        first = time.perf_counter() - start
        page.wait_for_selector("svg[data-plot=slice] circle.pt")
        page.wait_for_selector("svg[data-plot=importance] rect.bar")
        page.wait_for_selector("#trials tbody tr")
        everything = time.perf_counter() - start
        in_page = page.evaluate("() => document.body.dataset.firstPlotMs")
        # Thinned on the server: no plot draws more than its cap.
        shown = _count(page, "svg[data-plot=history] circle.pt")
        assert 0 < shown <= 2000
        assert _count(page, "#trials tbody tr") == 50
        assert f"of {n}" in page.text_content("#pager-text")
        _shot(page, "07-ten-thousand")
    print(
        f"\n10,000 trials: first plot drawn {first:.2f} s after navigation "
        f"(page clock {in_page} ms); all plots and the table in {everything:.2f} s"
    )


def test_writes_need_the_token(studies, page):
    """Started with a token, the page offers a note and a delete button; the note is saved
    only with the right token, and declining the confirmation deletes nothing."""
    from honed.dashboard import serve

    url, _, multi = studies
    token = "correct-horse-battery"
    with serve(url, port=0, token=token, background=True) as srv:
        page.goto(srv.url + f"?poll=400#/study/{multi._study_id}")
        # with a token, reading needs it too: the page asks for it once
        page.fill("#login-token", token)
        page.click("#login-button")
        page.wait_for_selector("#admin #note")
        page.fill("#token", "wrong-token-value")
        page.fill("#note", "first <i>note</i>")
        page.click("#save-note")
        page.wait_for_function(
            "() => document.querySelector('#admin').textContent.includes('wrong token')"
        )
        assert "note" not in honed.load_study("two objectives", storage=url).user_attrs
        page.fill("#token", token)
        page.click("#save-note")
        page.wait_for_function(
            "() => document.querySelector('#admin').textContent.includes('saved')"
        )
        assert honed.load_study("two objectives", storage=url).user_attrs["note"] == (
            "first <i>note</i>"
        )
        page.click("#delete-study")  # the confirmation is dismissed by the fixture
        assert page.dialogs == ["Delete this study and all its trials?"]  # type: ignore[attr-defined]
        assert "two objectives" in [s.name for s in honed.storage.get_storage(url).list_studies()]
        page.goto(srv.url)
        page.wait_for_selector("#studies a.study-link")
        assert "first <i>note</i>" in page.text_content("#studies")
        _shot(page, "08-note")


def test_reads_need_the_token(studies, page):
    """With a token, the page shows no study until it is given the token; a wrong one is
    refused and asked for again; the right one opens the list and the study pages."""
    from honed.dashboard import serve

    url, main, _ = studies
    token = "correct-horse-battery"
    with serve(url, port=0, token=token, read_only=True, background=True) as srv:
        page.goto(srv.url + "?poll=400")
        page.wait_for_selector("#login-token")
        assert main.name not in page.content()
        page.fill("#login-token", "not-the-token")
        page.click("#login-button")
        page.wait_for_selector("#login-error")
        assert "refused" in page.text_content("#login-error")
        assert _count(page, "#studies") == 0
        page.fill("#login-token", token)
        page.click("#login-button")
        page.wait_for_selector("#studies a.study-link")
        assert main.name in page.text_content("#studies")
        page.click("#studies a.study-link >> nth=0")
        page.wait_for_selector("svg[data-plot=history] circle.pt")
        assert page.locator("#admin").is_hidden()  # read-only: no write controls
        _shot(page, "09-token")


def test_plot_html_exports_render_offline(studies, page, tmp_path):
    """honed.plots' HTML files draw with the same renderer, from a file, with no server."""
    import honed.plots as hp

    _, main, multi = studies
    complete = [t for t in main.trials if t.state is TrialState.COMPLETE]
    n_full = sum(len(t.params) == 5 for t in complete)
    cases = [
        (hp.plot_history(main), "svg[data-plot=history] circle.pt", len(complete)),
        # Lines go through every axis: only trials with all five parameters (an earlier
        # test adds one with a single parameter).
        (hp.plot_parallel(main), "svg[data-plot=parallel] path.line", n_full),
        (hp.plot_slice(main, params=["x", "k"]), "svg[data-plot=slice]", 2),
        (hp.plot_pareto(multi), "svg[data-plot=pareto] circle.pt", len(multi.trials)),
    ]
    lc_fig = hp.plot_intermediate(lc_study())
    n_pred = sum("prediction" in c for c in lc_fig.data["curves"])
    assert n_pred >= 1
    cases.append((lc_fig, "svg[data-plot=intermediate] path.lc-pred", n_pred))
    for i, (fig, selector, n) in enumerate(cases):
        path = fig.save(tmp_path / f"fig{i}.html")
        page.goto(path.as_uri())
        _wait_count(page, selector, n)
    page.goto(hp.plot_all(main, tmp_path / "report.html") and (tmp_path / "report.html").as_uri())
    for kind in ("history", "intermediate", "parallel", "slice", "contour", "importance"):
        page.wait_for_selector(f"svg[data-plot={kind}]")
    _shot(page, "09-html-report")
    assert page.dialogs == []  # type: ignore[attr-defined]
