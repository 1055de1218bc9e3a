"""How fast a study opens in the dashboard, measured in a real headless Chromium.

    python bench/scripts/dashboard_open.py sqlite:///big.db STUDY_NAME

Prints the seconds from navigation to the first plot drawn, to every plot drawn, and the
server's first full read of the study. Needs Debian's chromium and `pip install playwright`.
"""

from __future__ import annotations

import sys
import time

from playwright.sync_api import sync_playwright

from honed.dashboard import serve
from honed.storage import get_storage

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


def main(url: str, name: str) -> None:
    store = get_storage(url)
    sid = store.get_study_id(name)
    t0 = time.perf_counter()
    n = len(store.get_trials_since(sid, 0)[0])
    read = time.perf_counter() - t0
    with serve(url, port=0, background=True) as srv, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for attempt in ("cold", "warm"):
            start = time.perf_counter()
            page.goto(srv.url + f"#/study/{sid}")
            page.wait_for_selector("svg[data-plot=history] circle.pt", timeout=120_000)
            first = time.perf_counter() - start
            for sel in (
                "parallel] path.line",
                "slice] circle.pt",
                "contour] rect.cell",
                "importance] rect.bar",
            ):
                page.wait_for_selector(f"svg[data-plot={sel}", timeout=120_000)
            page.wait_for_selector("#trials tbody tr")
            every = time.perf_counter() - start
            print(
                f"{attempt}: {n} trials; first plot {first:.2f} s, all plots + table {every:.2f} s"
            )
            page.goto("about:blank")
        browser.close()
    print(f"one full read through the Storage API: {read:.2f} s")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
