"""How long the report takes to open in a real browser (pytest-benchmark): `tox -e bench`.

The issue's target: index.html "opens in under a second". Timed here, not in the unit
tests (tests/test_html.py checks the same page renders, with no time limit): a shared,
noisy machine must not fail the test suite on a slow second.
"""

from __future__ import annotations

import pytest

from tests.test_html import CHROMEDRIVER, CHROMIUM, _driver

MAX_LOAD_SECONDS = 1.0  # the "opens in under a second"


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="Chromium and chromedriver are not installed")
def test_report_page_load(benchmark, saved_small_run):
    driver = _driver()
    uri = (saved_small_run / "index.html").as_uri()
    try:
        benchmark.group = "report"
        # driver.get returns once the page's load event has fired: every inline image decoded
        benchmark.pedantic(driver.get, args=(uri,), setup=lambda: driver.get("about:blank"), rounds=5)
    finally:
        driver.quit()
    assert benchmark.stats.stats.median < MAX_LOAD_SECONDS
