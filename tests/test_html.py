"""index.html: self-contained, escaped, and really rendered by a browser.

The browser test drives Debian's Chromium through chromedriver (selenium). `.ci/run`
installs both; where they are missing outside CI the test skips, and in CI (CI=true)
a missing browser is a failure, so the check cannot silently vanish.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest

import bench.tables.schema
from bench.report.html import render_html
from tests.conftest import html_tags

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
MAX_BYTES = 5 * 1024 * 1024  # the page-size budget


def test_page_is_self_contained(saved_small_run):
    text = (saved_small_run / "index.html").read_text(encoding="utf-8")
    tags = html_tags(text)
    assert not [t for t, _ in tags if t in ("script", "link", "iframe")]
    images = [a["src"] for t, a in tags if t == "img"]
    assert images and all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r"https?://", text), "no network references: the page opens offline"
    assert len(text.encode("utf-8")) < MAX_BYTES


def test_page_has_every_section(saved_small_run):
    text = (saved_small_run / "index.html").read_text(encoding="utf-8")
    for anchor in ("summary", "coefficients", "agreement", "pairs", "truth", "calibration", "runtime"):
        assert f"id={anchor}" in text
    assert "pass" in text and "tolerance" in text


def test_names_from_the_data_are_escaped(small_run):
    hostile = "<img src=x onerror=alert(1)>"
    results = small_run
    renamed = type(results)(
        **{name: getattr(results, name).replace({"spector": hostile}) for name in bench.tables.schema.TABLES},
        run_info=results.run_info,
    )
    text = render_html(renamed)
    assert hostile not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text


def _driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    # the flags that keep headless Chromium off this machine's closed network
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


@pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER) and not os.environ.get("CI"),
    reason="Chromium and chromedriver are not installed (`.ci/run` installs them)",
)
def test_page_renders_in_a_browser(saved_small_run):
    assert CHROMIUM and CHROMEDRIVER, "CI must have Chromium and chromedriver (.ci/run installs them)"
    driver = _driver()
    try:
        driver.get((saved_small_run / "index.html").as_uri())  # load time: tests/benchmarks/test_report_timings.py
        errors = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
        images = driver.execute_script(
            "return Array.from(document.images).map(i => ({complete: i.complete, natural: i.naturalWidth,"
            " shown: i.getBoundingClientRect().width, alt: i.alt}))"
        )
        title = driver.title
    finally:
        driver.quit()
    assert title == "logitbench report"
    assert errors == []
    assert images, "the page shows figures"
    hidden = [i["alt"] for i in images if not (i["complete"] and i["natural"] > 0 and i["shown"] > 0)]
    assert hidden == []
