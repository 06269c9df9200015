"""A headless Chromium driven over the DevTools protocol (CDP), for tests/test_browser.py.

Plain CDP over a websocket, with tornado's websocket client (already installed: Jupyter needs it), so the
browser test adds no Python package; the browser is Debian's ``chromium``. The book is served from a local
HTTP server on 127.0.0.1 (``localhost``), never from ``file://``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.server
import json
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

#: Flags of every launch: no sandbox (CI runs as root), no GPU, nothing that calls home.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio", "--remote-debugging-port=0")


def find_chromium() -> str | None:
    """Path of the Chromium executable, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no access log on the test's stderr
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # the browser leaving a page mid-transfer is no error
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def serve(folder: Path):
    """Serve ``folder`` over http://localhost:PORT/; yields the base URL (ending in '/')."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class Page:
    """One page target of a Chromium, driven over CDP: navigate, evaluate, collect errors."""

    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0
        self.pending: dict = {}
        self.events: list = []
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self):
        while True:
            message = await self.ws.read_message()
            if message is None:
                return
            data = json.loads(message)
            if "id" in data and data["id"] in self.pending:
                self.pending.pop(data["id"]).set_result(data)
            elif "method" in data:
                self.events.append(data)

    async def send(self, method: str, timeout: float = 120, **params):
        self.next_id += 1
        future = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = future
        await self.ws.write_message(json.dumps({"id": self.next_id, "method": method, "params": params}))
        reply = await asyncio.wait_for(future, timeout)
        if "error" in reply:
            raise RuntimeError(f"CDP {method}: {reply['error']}")
        return reply.get("result", {})

    async def evaluate(self, expression: str):
        reply = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in reply:
            raise RuntimeError(f"evaluation failed: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    async def open(self, url: str, width: int, height: int = 900, settle: float = 0.5, timeout: float = 120):
        """Load ``url`` at a viewport of ``width`` px; return the CDP events the load produced."""
        await self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                        mobile=False)
        # leave the previous page first, so that its aborted requests are not counted against this one
        await self._load("about:blank", timeout)
        await asyncio.sleep(0.1)
        loader = await self._load(url, timeout)
        await asyncio.sleep(settle)  # late errors of deferred scripts
        requests = {e["params"]["requestId"] for e in self.events
                    if e["method"] == "Network.requestWillBeSent" and e["params"].get("loaderId") == loader}
        return [e for e in self.events if not e["method"].startswith("Network.")
                or e["params"].get("requestId") in requests]

    async def _load(self, url: str, timeout: float) -> str:
        self.events = []
        reply = await self.send("Page.navigate", url=url)
        start = time.monotonic()
        while not any(e["method"] == "Page.loadEventFired" for e in self.events):
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"{url} did not load within {timeout} s")
            await asyncio.sleep(0.05)
        return reply.get("loaderId", "")


@contextlib.asynccontextmanager
async def chromium(executable: str):
    """A fresh headless Chromium (its own temporary profile); yields a :class:`Page`."""
    from tornado.websocket import websocket_connect

    profile = Path(tempfile.mkdtemp(prefix="sonimage-chromium-"))
    proc = subprocess.Popen([executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        start = time.monotonic()
        while not (port_file.is_file() and port_file.read_text().strip()):
            if proc.poll() is not None or time.monotonic() - start > 60:
                raise RuntimeError(f"chromium did not start (exit {proc.poll()})")
            await asyncio.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        targets = []
        while not targets:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                targets = [t for t in json.loads(r.read()) if t.get("type") == "page"]
            if not targets:
                await asyncio.sleep(0.05)
        ws = await websocket_connect(targets[0]["webSocketDebuggerUrl"], max_message_size=256 * 1024 * 1024)
        page = Page(ws)
        for domain in ("Page", "Runtime", "Log", "Network"):
            await page.send(f"{domain}.enable")
        try:
            yield page
        finally:
            # close() drops ws.protocol at once: keep its stream, wait for the closing handshake, then make
            # sure the socket is closed (else it outlives the event loop and warns in a later test)
            stream = getattr(ws.protocol, "stream", None)
            ws.close()
            for _ in range(100):
                if stream is None or stream.closed():
                    break
                await asyncio.sleep(0.02)
            if stream is not None and not stream.closed():
                stream.close()
            page.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await page.reader
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


def problems_in_events(events: list) -> list[str]:
    """Console errors, uncaught exceptions and failed or >= 400 requests among a page load's CDP events."""
    found = []
    for e in events:
        method, p = e["method"], e.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            found.append("uncaught: " + (d.get("exception", {}).get("description") or d.get("text", "")).split("\n")[0])
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            found.append("console.error: " + " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"]))
        elif (method == "Log.entryAdded" and p["entry"]["level"] == "error"
              and p["entry"].get("source") != "network"):  # a failed request is reported by its Network event
            found.append(f"log: {p['entry']['text']} {p['entry'].get('url', '')}".strip())
        elif method == "Network.responseReceived" and p["response"]["status"] >= 400:
            found.append(f"HTTP {p['response']['status']}: {p['response']['url']}")
        elif method == "Network.loadingFailed" and not p.get("canceled"):
            found.append(f"request failed ({p.get('errorText')}): request {p.get('requestId')}")
    return found
