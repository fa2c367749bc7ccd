#!/usr/bin/env python3
"""Drives a real headless Chromium at a PatchFleet dashboard through the
DevTools protocol and prints what the page shows, one JSON sample per line,
until the job it shows is finished (or --seconds pass). A sample is read
from the live page (no reload), so successive samples prove live updates.

  browse.py URL --seconds 60 --screenshot out.png

Standard library only: the DevTools websocket is spoken by hand (RFC 6455,
client frames masked, text frames only), which is all this needs.
"""
import argparse, base64, json, os, shutil, socket, struct, subprocess, sys, tempfile, time, urllib.request

SAMPLE = r"""
(() => {
  const text = s => (s ? s.textContent.trim() : null);
  return JSON.stringify({
    loadId: window.__pfLoadId || (window.__pfLoadId = Math.random().toString(36).slice(2)),
    live: text(document.getElementById("live")),
    job: document.body.dataset.job || null,
    state: document.body.dataset.state || null,
    snapshots: Number(document.body.dataset.snapshots || 0),
    title: text(document.getElementById("jobtitle")),
    counts: text(document.getElementById("counts")),
    clusters: [...document.querySelectorAll("[data-cluster]")].map(c => c.dataset.cluster),
    hosts: [...document.querySelectorAll("tr[data-host]")].map(r => ({ host: r.dataset.host, text: r.textContent })),
    attention: [...document.querySelectorAll("#attentionList li")].map(li => ({ host: li.dataset.host, text: li.textContent })),
    dead: text(document.getElementById("dead")),
  });
})()
"""

class DevTools:
    def __init__(self, ws_url):
        host_port, path = ws_url[len("ws://"):].split("/", 1)
        host, port = host_port.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=20)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        response = b""
        while b"\r\n\r\n" not in response:
            response += self.sock.recv(4096)
        if b" 101 " not in response.split(b"\r\n")[0]:
            raise SystemExit(f"devtools refused the websocket: {response[:200]!r}")
        self.buffer = response.split(b"\r\n\r\n", 1)[1]
        self.next_id = 0

    def _send(self, text):
        data = text.encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        if len(data) < 126: header += bytes([0x80 | len(data)])
        elif len(data) < 65536: header += bytes([0x80 | 126]) + struct.pack(">H", len(data))
        else: header += bytes([0x80 | 127]) + struct.pack(">Q", len(data))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk: raise SystemExit("devtools closed the websocket")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def _frame(self):
        message = b""
        while True:
            first, second = self._read(2)
            length = second & 0x7F
            if length == 126: length = struct.unpack(">H", self._read(2))[0]
            elif length == 127: length = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(length)
            message += payload
            if first & 0x80: return message.decode()

    def call(self, method, **params):
        self.next_id += 1
        self._send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self._frame())
            if reply.get("id") == self.next_id:
                if "error" in reply: raise SystemExit(f"{method}: {reply['error']}")
                return reply["result"]

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--screenshot")
    args = parser.parse_args()
    profile = tempfile.mkdtemp(prefix="pf-chromium-")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium: raise SystemExit("no chromium on PATH (deploy/local/setup.sh installs Debian's)")
    browser = subprocess.Popen([chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                "--no-first-run", "--window-size=1500,1400", f"--user-data-dir={profile}",
                                "--remote-debugging-port=0", args.url], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        deadline = time.time() + 30
        while not os.path.exists(port_file) or not open(port_file).read().strip():
            if time.time() > deadline or browser.poll() is not None: raise SystemExit("chromium did not start")
            time.sleep(0.1)
        port = open(port_file).read().split()[0]
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
        page = next(t for t in targets if t.get("type") == "page")
        tools = DevTools(page["webSocketDebuggerUrl"])
        end = time.time() + args.seconds
        while True:
            result = tools.call("Runtime.evaluate", expression=SAMPLE, returnByValue=True)
            sample = json.loads(result["result"]["value"])
            print(json.dumps(sample), flush=True)
            if sample["state"] == "finished" or time.time() > end: break
            time.sleep(0.5)
        time.sleep(1)  # the last change painted
        print(json.dumps(json.loads(tools.call("Runtime.evaluate", expression=SAMPLE, returnByValue=True)["result"]["value"])), flush=True)
        if args.screenshot:
            shot = tools.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
            with open(args.screenshot, "wb") as out: out.write(base64.b64decode(shot["data"]))
    finally:
        browser.kill()
        browser.wait()
        shutil.rmtree(profile, ignore_errors=True)

if __name__ == "__main__":
    main()
