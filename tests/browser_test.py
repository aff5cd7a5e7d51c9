#!/usr/bin/env python3
"""The browser test of `mdfetch serve` (ctest -L browser).

Fills a store from the built-in simulator, serves it on a loopback port, and drives Debian's
headless Chromium through chromedriver's W3C WebDriver API (standard library only): the list
page, a series page and a comparison page chosen from the list by ticking two rows load with
no console message of level SEVERE or WARNING, a screenshot of each is written under
OUT_DIR, and the DOM is checked: one row per stored series, one candle per bar in range in the
chart, one row per compared series. Then SIGTERM stops the server, which must exit 0.

Usage: browser_test.py MDFETCH_BINARY OUT_DIR
Chromium missing is a failure, not a skip (scripts/install-deps installs it).
"""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SYMBOLS = ["IBM", "MSFT", "AAPL"]
TIMEOUT = 60  # seconds any one step may take


def fail(message):
    print(f"browser test: {message}", file=sys.stderr)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return json.loads(response.read() or b"null")


def wait_for(what, check):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    fail(f"timed out waiting for {what}")


class Browser:
    def __init__(self, port, profile):
        self.base = f"http://127.0.0.1:{port}"
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--window-size=1280,1100"]
        answer = http("POST", self.base + "/session", {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": flags},
            "goog:loggingPrefs": {"browser": "ALL"}}}})
        self.session = f"{self.base}/session/{answer['value']['sessionId']}"

    def go(self, url):
        http("POST", self.session + "/url", {"url": url})

    def run(self, script):
        return http("POST", self.session + "/execute/sync", {"script": script, "args": []})["value"]

    def click(self, selector):
        element = http("POST", self.session + "/element",
                       {"using": "css selector", "value": selector})["value"]
        element_id = next(iter(element.values()))
        http("POST", f"{self.session}/element/{element_id}/click", {})

    def screenshot(self, path):
        png = http("GET", self.session + "/screenshot")["value"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(png))

    def console(self):
        return http("POST", self.session + "/se/log", {"type": "browser"})["value"]

    def close(self):
        http("DELETE", self.session)


def check_page(browser, name, out_dir):
    """The page loaded with no console error; its screenshot is written."""
    problems = [e for e in browser.console() if e.get("level") in ("SEVERE", "WARNING")]
    if problems:
        fail(f"{name}: console messages: {problems}")
    title = browser.run("return document.title")
    if not title.startswith("mdfetch"):
        fail(f"{name}: unexpected title {title!r}")
    path = os.path.join(out_dir, f"{name}.png")
    browser.screenshot(path)
    print(f"{name}: {title!r}, screenshot {path}")


def main():
    if len(sys.argv) != 3:
        fail("usage: browser_test.py MDFETCH_BINARY OUT_DIR")
    mdfetch, out_dir = sys.argv[1], sys.argv[2]
    for tool in (CHROMIUM, CHROMEDRIVER):
        if not os.access(tool, os.X_OK):
            fail(f"{tool} is missing: scripts/install-deps installs chromium and chromium-driver")
    os.makedirs(out_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="mdfetch_browser_")
    processes = []
    try:
        db = os.path.join(work, "demo.db")
        with open(os.path.join(work, "symbols.txt"), "w") as f:
            f.write("\n".join(SYMBOLS) + "\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ALPHAVANTAGE", "MDFETCH"))}
        fill = subprocess.run([mdfetch, "refresh", "--sim", "--rate", "unlimited", "--db", db,
                               "--symbols", os.path.join(work, "symbols.txt")],
                              env=env, capture_output=True, text=True, timeout=TIMEOUT)
        if fill.returncode != 0:
            fail(f"refresh --sim failed: {fill.stdout}{fill.stderr}")

        serve_out = open(os.path.join(work, "serve.out"), "w+")
        serve = subprocess.Popen([mdfetch, "serve", "--db", db, "--listen", "127.0.0.1:0"],
                                 stdout=serve_out, stderr=subprocess.STDOUT, env=env)
        processes.append(serve)

        def served_url():
            serve_out.seek(0)
            line = serve_out.readline()
            return line.split(" on ")[1].split("/ ")[0] if " on http" in line else None
        url = wait_for("mdfetch serve to listen", served_url)

        driver_port = free_port()
        driver = subprocess.Popen([CHROMEDRIVER, f"--port={driver_port}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(driver)

        def driver_ready():
            try:
                return http("GET", f"http://127.0.0.1:{driver_port}/status")["value"]["ready"]
            except OSError:
                return False
        wait_for("chromedriver", driver_ready)
        browser = Browser(driver_port, os.path.join(work, "profile"))
        try:
            run_pages(browser, url, out_dir)
        finally:
            browser.close()

        serve.send_signal(signal.SIGTERM)
        if serve.wait(timeout=TIMEOUT) != 0:
            fail(f"serve exited with {serve.returncode} on SIGTERM")
        print("browser test: passed")
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(work, ignore_errors=True)


def run_pages(browser, url, out_dir):
    # The list: one row per stored series.
    browser.go(url + "/")
    rows = browser.run("return [...document.querySelectorAll('#series tr.series-row')]"
                       ".map(r => r.dataset.series)")
    if sorted(rows) != sorted(SYMBOLS):
        fail(f"list: rows {rows}, expected {SYMBOLS}")
    check_page(browser, "list", out_dir)

    # A series page, 6 months: one candle per bar in range.
    browser.go(url + "/series?s=IBM&range=6M")
    with urllib.request.urlopen(url + "/api/bars?s=IBM&range=6M", timeout=TIMEOUT) as r:
        bars = len(json.load(r)["bars"])
    candles = browser.run(
        "const svg = document.querySelector('figure.chart svg.mdfetch-chart');"
        "return svg ? [svg.querySelectorAll('path.candle').length, svg.dataset.bars,"
        " document.querySelectorAll('#bars tbody tr').length] : null")
    if candles is None:
        fail("series: no chart svg")
    if bars < 100 or candles[0] != bars or candles[1] != str(bars):
        fail(f"series: {candles[0]} candles (data-bars {candles[1]}) for {bars} bars in range")
    if candles[2] != 20:
        fail(f"series: {candles[2]} rows in the last bars table, expected 20")
    check_page(browser, "series", out_dir)

    # The comparison, chosen on the list: tick two rows, submit.
    browser.go(url + "/")
    browser.click('input[name="s"][value="IBM"]')
    browser.click('input[name="s"][value="MSFT"]')
    browser.click('form[action="/compare"] button[type="submit"]')
    wait_for("the comparison page", lambda: "/compare?" in browser.run("return location.href"))
    compared = browser.run(
        "return [document.querySelectorAll('#compare tr.compared').length,"
        " document.querySelectorAll('figure.chart svg.mdfetch-chart').length,"
        " location.search]")
    if compared[0] != 2 or compared[1] != 1:
        fail(f"compare: {compared[0]} rows and {compared[1]} charts at {compared[2]}")
    if compared[2] != "?s=IBM&s=MSFT&range=1Y":
        fail(f"compare: query {compared[2]}")
    check_page(browser, "compare", out_dir)


if __name__ == "__main__":
    main()
