"""Every flow of the web client end to end in Debian's chromium, against the real stack
(conftest.py): Playwright's runner runs the specs of tests/browser/specs in node, and this
test fails with its report when one of them fails (a screenshot of each failed page is in
var/browser-results)."""

import os
import subprocess
import time

import pytest

from tests.browser.conftest import CHROMIUM, ROOT, BrowserStack

RUNNER_TIMEOUT = 900


@pytest.mark.timeout(RUNNER_TIMEOUT + 60)  # every spec of the browser in one run
def test_every_flow_passes_in_chromium(browser_stack: BrowserStack) -> None:
    assert CHROMIUM.exists(), ("chromium is missing: apt-get install --no-install-recommends "
                               "chromium (make install does it as root)")
    started = time.monotonic()
    result = subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "playwright"), "test",
         "-c", str(ROOT / "tests" / "browser" / "playwright.config.ts")],
        cwd=ROOT, capture_output=True, text=True, timeout=RUNNER_TIMEOUT,
        env={**os.environ, "RB_BASE_URL": browser_stack.stack.gateway_url,
             "RB_DEV_SERVER_URL": browser_stack.dev_server_url,
             "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1", "CI": "1", "FORCE_COLOR": "0"})
    report = result.stdout[-12000:] + result.stderr[-4000:]
    assert result.returncode == 0, f"browser tests failed:\n{report}"
    print(f"browser tests passed in {time.monotonic() - started:.0f} s\n{report[-3000:]}")
