"""The web app's memory stays bounded under parallel uploads of large photos, and goes back down when idle.

A PNG of a mostly uniform 6000 × 6000 photo is about 100 KB on disk and 108 MB decoded: the
memory a server needs comes from decoding, not from the bytes it receives. The app decodes each
upload once, at most ``MAX_CONCURRENT_DECODES`` at a time, and hands the memory back afterwards;
the slow test measures that on a real server in its own process (``/proc``, so Linux only).
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from catsdogs import webapp
from catsdogs.web import limits, uploads

REPO = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
#: Room above the decoding bound for what requests need besides their decoded photos (their bytes,
#: the model's input, the preview, Grad-CAM, uvicorn's buffers, the C heap's per-thread arenas):
#: 8 uploads measured 480-560 MB above the baseline in all, against 2.2 GB before the bound.
MARGIN_BYTES = 256 * MB
#: How far above its baseline an idle server may stay once the uploads are answered.
IDLE_SLACK_BYTES = 100 * MB


def large_png(width: int = 6000, height: int = 6000) -> bytes:
    """A PNG of ``width × height`` pixels (36 megapixels: under the 40 MP limit) that is small on disk."""
    image = Image.new("RGB", (width, height), (120, 140, 90))
    patch = np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8)
    image.paste(Image.fromarray(patch, "RGB"), (width // 2, height // 2))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=6)
    return buffer.getvalue()


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def rss(pid: int) -> int:
    """The resident memory of process ``pid``, in bytes."""
    return _status_kb(pid, "VmRSS")


class PeakRss:
    """The highest resident memory of a process while the block runs: the kernel's own peak
    (``VmHWM``, reset through ``clear_refs``), or sampled every 10 ms where that reset is refused."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak = 0

    def __enter__(self) -> PeakRss:
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
            self._kernel = True
        except OSError:
            self._kernel = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss(self.pid))
            time.sleep(0.01)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        if self._kernel:
            self.peak = max(self.peak, _status_kb(self.pid, "VmHWM"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def measure(repo: Path, workdir: Path, uploads_at_once: int = 8, timeout: float = 180.0) -> dict[str, int]:
    """Serve ``repo``'s web app in its own process and send ``uploads_at_once`` large PNGs at once.

    Returns the server's resident memory in bytes: ``baseline`` (after one small warm-up photo),
    ``peak`` (while the uploads are answered) and ``idle`` (a second after the last answer), and
    how many answers were 200 (``ok``). Usable on an older checkout too, to compare.
    """
    import httpx2

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(repo), "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "catsdogs.webapp", "--workdir", str(workdir), "--port", str(port),
               "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the server stopped: {server.stderr.read().decode()[-2000:]}")
            try:
                if httpx2.get(url + "/api/health", timeout=5).json()["model_loaded"]:
                    break
            except httpx2.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start in time")
            time.sleep(0.2)
        small = io.BytesIO()
        Image.new("RGB", (200, 150), (90, 60, 30)).save(small, "JPEG")
        warm_up = httpx2.post(url + "/api/predict", files={"file": ("warm.jpg", small.getvalue())}, timeout=60)
        assert warm_up.status_code == 200, warm_up.text
        time.sleep(0.5)
        baseline = rss(server.pid)
        png = large_png()

        def send(i: int) -> int:
            return httpx2.post(url + "/api/predict", files={"file": (f"large{i}.png", png, "image/png")},
                               timeout=timeout).status_code

        with PeakRss(server.pid) as peak, ThreadPoolExecutor(uploads_at_once) as pool:
            statuses = list(pool.map(send, range(uploads_at_once)))
        time.sleep(1.0)
        return {"baseline": baseline, "peak": peak.peak, "idle": rss(server.pid),
                "ok": statuses.count(200), "png_bytes": len(png)}
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's memory from /proc (Linux)")
def test_parallel_large_uploads_stay_within_the_memory_bound(tiny_workspace):
    uploads_at_once = 8
    result = measure(REPO, tiny_workspace.root, uploads_at_once)
    bound = limits.decode_memory_bound(limits.MAX_PIXELS, limits.MAX_CONCURRENT_DECODES) + MARGIN_BYTES
    shown = {key: f"{value / MB:.0f} MB" for key, value in result.items() if key != "ok"}
    assert result["ok"] == uploads_at_once, shown
    assert result["png_bytes"] < 1 * MB  # the file is small: the memory comes from decoding
    assert result["peak"] - result["baseline"] < bound, (shown, f"bound {bound / MB:.0f} MB")
    assert result["idle"] - result["baseline"] < IDLE_SLACK_BYTES, shown


# --------------------------------------------------------------------------- fast checks of the mechanisms


def test_the_readme_states_the_bound_of_the_limits():
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    decodes, pixels = limits.MAX_CONCURRENT_DECODES, limits.MAX_PIXELS
    bound = limits.decode_memory_bound(pixels, decodes)
    assert bound == decodes * pixels * limits.BYTES_PER_PIXEL * limits.COPIES_PER_DECODE
    stated = (f"at most {decodes} at a time (others wait up to {limits.DECODE_WAIT_SECONDS:g} s, then get 503 with "
              f"`Retry-After`), so decoding adds at most {decodes} × {limits.megapixels_text(pixels)} × "
              f"{limits.BYTES_PER_PIXEL} bytes × {limits.COPIES_PER_DECODE} copies = {bound / 1e6:.0f} MB")
    assert stated in readme


def test_each_upload_is_decoded_once(tiny_workspace, monkeypatch):
    calls = []
    real = uploads.open_image
    monkeypatch.setattr(uploads, "open_image", lambda *args, **kwargs: calls.append(args[1]) or real(*args, **kwargs))
    photo = next((tiny_workspace.root / "photos").iterdir())
    with TestClient(webapp.create_app(workdir=tiny_workspace.root)) as client:
        answer = client.post("/api/predict", files={"file": (photo.name, photo.read_bytes(), "image/jpeg")})
    assert answer.status_code == 200 and answer.json()["photo_png"] and answer.json()["gradcam_png"]
    assert calls == [photo.name]


def test_uploads_beyond_the_decode_slots_wait_then_get_busy(tiny_workspace, monkeypatch):
    """With every slot taken past the wait, an upload gets 503 with Retry-After instead of more memory."""
    from catsdogs.web import prediction

    started, release = threading.Event(), threading.Event()
    real = prediction.predict_upload

    def slow(*args, **kwargs):
        started.set()
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(prediction, "predict_upload", slow)
    monkeypatch.setattr("catsdogs.web.app.predict_upload", slow)
    photo = next((tiny_workspace.root / "photos").iterdir())
    files = {"file": (photo.name, photo.read_bytes(), "image/jpeg")}
    app = webapp.create_app(workdir=tiny_workspace.root, max_decodes=1, decode_wait_seconds=0.5)
    with TestClient(app) as client, ThreadPoolExecutor(1) as pool:
        first = pool.submit(client.post, "/api/predict", files=files)
        assert started.wait(30)
        busy = client.post("/api/predict", files=files)
        release.set()
        assert first.result(timeout=60).status_code == 200
    assert busy.status_code == 503 and busy.headers["retry-after"] == str(limits.RETRY_AFTER_SECONDS)
    assert "busy" in busy.json()["detail"] and "Try again" in busy.json()["detail"]
