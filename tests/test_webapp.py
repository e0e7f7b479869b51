"""The web app's endpoints with FastAPI's TestClient: good photos, every kind of bad input, no model."""

from __future__ import annotations

import asyncio
import base64
import io
import shutil
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from catsdogs import webapp
from catsdogs.predict import Predictor
from catsdogs.web import limits
from catsdogs.web.body_limit import BodyLimit, BodyTooLarge
from tools.webapp_driver import serve_in_background

from .conftest import synthetic_photo


@pytest.fixture(scope="module")
def client(tiny_workspace):
    with TestClient(webapp.create_app(workdir=tiny_workspace.root)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def photos(tiny_workspace) -> list[Path]:
    return sorted((tiny_workspace.root / "photos").iterdir())


def upload(client, name: str, data: bytes, content_type: str = "image/jpeg", **params):
    return client.post("/api/predict", files={"file": (name, data, content_type)}, params=params)


def png_from_base64(text: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(text)))
    assert image.format == "PNG"
    return image


def assert_refused(response, status: int, *phrases: str) -> str:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "Traceback" not in detail
    for phrase in phrases:
        assert phrase in detail, detail
    return detail


def png_bomb(width: int, height: int, rows: int | None = None) -> bytes:
    """A PNG of ``width × height`` black pixels: a few kilobytes that decode to a huge image.

    ``rows`` limits the pixel data actually written (the header still declares the full size).
    """
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    row = b"\0" * (width + 1)  # filter byte + one grey byte per pixel
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(rows or height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


# --------------------------------------------------------------------------- good input


def test_health_says_the_model_is_loaded(client):
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["model_loaded"] is True and health["detail"] is None
    assert health["model"] == "models/best.keras"
    assert health["classes"] == {"cats": 0, "dogs": 1} and health["image_size"] == [48, 48]
    assert health["limits"] == {"max_bytes": 10 * 1024 * 1024, "max_pixels": 40_000_000,
                                "formats": limits.FORMATS_TEXT}


def test_predictions_match_the_predictor_and_carry_both_pictures(client, photos, tiny_workspace):
    predictor = Predictor.load(workdir=tiny_workspace.root)
    right = 0
    for photo in photos:
        response = upload(client, photo.name, photo.read_bytes())
        assert response.status_code == 200, response.text
        answer = response.json()
        expected = predictor.predict(photo)
        assert answer["name"] == photo.name and answer["label"] == expected.label
        assert answer["probability"] == pytest.approx(expected.probability, abs=1e-5)
        assert 0.5 <= answer["confidence"] <= 1 and answer["classes"] == {"cats": 0, "dogs": 1}
        shown, overlay = png_from_base64(answer["photo_png"]), png_from_base64(answer["gradcam_png"])
        assert shown.size == overlay.size == (90, 90)  # the photo's own size: under the preview limit
        assert answer["gradcam_note"] is None
        right += answer["label"][:-1] in photo.name
    assert right >= 3


def test_pictures_can_be_left_out(client, photos):
    answer = upload(client, photos[0].name, photos[0].read_bytes(), images="false").json()
    assert answer["label"] in {"cats", "dogs"}
    assert answer["photo_png"] is None and answer["gradcam_png"] is None


def test_a_large_photo_is_shown_scaled_down_and_upright(client):
    rng = np.random.default_rng(3)
    photo = synthetic_photo(1, 600, rng).resize((900, 600))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: a viewer turns it 90° clockwise
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", exif=exif)
    answer = upload(client, "sideways.jpg", buffer.getvalue()).json()
    assert png_from_base64(answer["photo_png"]).size == (299, 448)
    assert png_from_base64(answer["gradcam_png"]).size == (299, 448)


def test_other_formats_are_accepted(client, photos):
    image = Image.open(photos[1])
    for fmt in ("PNG", "BMP", "GIF", "WEBP", "TIFF"):
        buffer = io.BytesIO()
        image.save(buffer, fmt)
        response = upload(client, f"photo.{fmt.lower()}", buffer.getvalue(), f"image/{fmt.lower()}")
        assert response.status_code == 200, (fmt, response.text)


def test_uploads_are_never_written_to_disk(client, tiny_workspace, monkeypatch, tmp_path):
    """Over 1 MB Starlette spools a part to an unnamed temporary file; nothing shows up anywhere."""
    spool = tmp_path / "tmp"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    before = sorted(p for p in tiny_workspace.root.rglob("*"))
    big = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (700, 1000, 3), dtype=np.uint8)).save(big, "PNG")
    assert big.tell() > 1024 * 1024
    assert upload(client, "big.png", big.getvalue(), "image/png").status_code == 200
    assert sorted(p for p in tiny_workspace.root.rglob("*")) == before
    assert list(spool.iterdir()) == []


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("name, data, status, phrases", [
    ("notes.jpg", b"Dear diary, today I took a photo of my cat.", 415, ["notes.jpg is not an image", "text",
                                                                        "named .jpg"]),
    ("cat.png", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", 415, ["not an image", "SVG"]),
    ("cat.jpg", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", 415, ["a PDF document"]),
    ("IMG_0001.HEIC", b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", 415, ["HEIC", "export it as JPEG"]),
    ("random.jpg", bytes(range(256)) * 4, 415, ["not an image"]),
    ("empty.jpg", b"", 400, ["empty.jpg is empty"]),
])
def test_non_images_are_refused_clearly(client, name, data, status, phrases):
    assert_refused(upload(client, name, data), status, *phrases)


def test_a_truncated_photo_is_refused_as_damaged(client, photos):
    data = photos[0].read_bytes()
    assert_refused(upload(client, "cut.jpg", data[: len(data) // 2]), 422, "cut.jpg", "damaged")
    assert_refused(upload(client, "header.jpg", data[:40]), 422, "header.jpg", "damaged")


def oversized_stream(megabytes: int = 40):
    """A valid multipart upload of ``megabytes`` MB sent without a Content-Length (chunked)."""
    yield (b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="huge.jpg"\r\n'
           b"Content-Type: image/jpeg\r\n\r\n\xff\xd8")
    for _ in range(megabytes):
        yield b"\0" * (1024 * 1024)
    yield b"\r\n--xyz--\r\n"


MULTIPART = {"content-type": "multipart/form-data; boundary=xyz"}


def test_too_many_bytes_are_refused_before_storing_them(client):
    too_big = b"\xff\xd8" + b"\0" * (10 * 1024 * 1024)
    assert_refused(upload(client, "huge.jpg", too_big), 413, "the limit is 10 MB")
    assert_refused(client.post("/api/predict", content=oversized_stream(), headers=MULTIPART), 413, "the limit is 10 MB")


@pytest.mark.parametrize("declared", [True, False])
def test_a_refused_body_is_read_to_its_end_before_the_answer(declared):
    """A server that closes on unread data resets the connection: a client still sending loses the answer."""
    mb = 1024 * 1024
    chunks = [b"\0" * mb for _ in range(12)]
    events = []

    async def receive():
        events.append("read")
        return {"type": "http.request", "body": chunks.pop(0), "more_body": len(chunks) > 0}

    async def send(message):
        events.append(message["type"])

    async def form_parser(scope, receive, send):  # reads the body to its end, as the form parser does
        while (await receive()).get("more_body"):
            pass

    headers = [(b"content-length", str(12 * mb).encode())] if declared else []
    limit = BodyLimit(form_parser, max_file_bytes=10 * mb)
    if declared:
        asyncio.run(limit({"type": "http", "headers": headers}, receive, send))
        assert events.index("http.response.start") == events.count("read")  # the answer came after every read
    else:  # the app's exception handler turns the error into the answer
        with pytest.raises(BodyTooLarge):
            asyncio.run(limit({"type": "http", "headers": headers}, receive, send))
    assert chunks == []


def test_the_limits_hold_on_a_real_server(tiny_workspace):
    import httpx2

    with serve_in_background(webapp.create_app(workdir=tiny_workspace.root)) as url:
        declared = httpx2.post(url + "/api/predict", files={"file": ("huge.jpg", b"\0" * (30 * 1024 * 1024))})
        assert_refused(declared, 413, "The upload is 30.0 MB", "the limit is 10 MB")
        streamed = httpx2.post(url + "/api/predict", content=oversized_stream(), headers=MULTIPART)
        assert_refused(streamed, 413, "the limit is 10 MB")
        assert httpx2.get(url + "/api/health").json()["model_loaded"] is True


def test_a_file_just_over_the_limit_is_refused_with_its_size(client):
    data = b"\xff\xd8" + b"\0" * (10 * 1024 * 1024 - 1)  # 10 MB + 1 byte: the body fits the margin
    assert_refused(upload(client, "big.jpg", data), 413, "big.jpg is 10.0 MB", "the limit is 10 MB")


@pytest.mark.parametrize("width, height, rows", [
    (7000, 6000, None),  # 42 megapixels: over the app's limit, under Pillow's own
    (20000, 20000, 100),  # 400 megapixels: Pillow's DecompressionBombError; only the header counts
])
def test_decompression_bombs_are_refused_before_decoding(client, width, height, rows):
    bomb = png_bomb(width, height, rows)
    assert len(bomb) < 1024 * 1024
    assert_refused(upload(client, "bomb.png", bomb, "image/png"), 413, "40 megapixels")


def test_several_files_are_refused(client, photos):
    files = [("file", (p.name, p.read_bytes(), "image/jpeg")) for p in photos[:3]]
    assert_refused(client.post("/api/predict", files=files), 400, "one photo at a time", "3 files")
    files = [("file", ("a.jpg", photos[0].read_bytes(), "image/jpeg")),
             ("other", ("b.jpg", photos[1].read_bytes(), "image/jpeg"))]
    assert_refused(client.post("/api/predict", files=files), 400, "one photo at a time", "a.jpg, b.jpg")


def test_requests_without_a_photo_say_how_to_send_one(client, photos):
    assert_refused(client.post("/api/predict", files={"image": ("a.jpg", b"x", "image/jpeg")}),
                   422, "field 'file'", "curl -F file=@photo.jpg")
    assert_refused(client.post("/api/predict", data={"file": "cat.jpg"}, files={"x": ("x.txt", b"x", "text/plain")}),
                   422, "field 'file'")  # 'file' is a text field, not a file
    assert_refused(client.post("/api/predict", data={"file": "cat.jpg"}), 415, "multipart/form-data")
    assert_refused(client.post("/api/predict", content=photos[0].read_bytes(), headers={"content-type": "image/jpeg"}),
                   415, "multipart/form-data", "not as image/jpeg")
    assert_refused(client.post("/api/predict", json={"file": "cat.jpg"}), 415, "multipart/form-data")


# --------------------------------------------------------------------------- the model


def copy_model(source, target: Path) -> None:
    (target / "models").mkdir(parents=True, exist_ok=True)
    for name in ("best.keras", "data_config.json"):
        shutil.copy(source.models / name, target / "models" / name)


def test_without_a_model_the_app_starts_and_says_which_notebook_to_run(tiny_workspace, photos, tmp_path):
    root = tmp_path / "fresh"
    root.mkdir()  # an empty workspace: the notebooks have not run yet
    with TestClient(webapp.create_app(workdir=root)) as client:
        health = client.get("/api/health").json()
        assert health["model_loaded"] is False and "03_training.ipynb" in health["detail"]
        assert client.get("/").status_code == 200
        assert_refused(upload(client, photos[0].name, photos[0].read_bytes()), 503,
                       "models/best.keras does not exist", "03_training.ipynb")
        assert_refused(upload(client, "notes.jpg", b"text"), 415, "not an image")  # input is checked first

        copy_model(tiny_workspace, root)  # the notebook has run meanwhile: no restart needed
        assert client.get("/api/health").json()["model_loaded"] is True
        assert upload(client, photos[0].name, photos[0].read_bytes()).status_code == 200


@pytest.mark.parametrize("damage", ["text", "truncated"])
def test_an_unreadable_model_is_reported(tiny_workspace, photos, tmp_path, damage):
    root = tmp_path / "work"
    copy_model(tiny_workspace, root)
    model = root / "models" / "best.keras"
    if damage == "text":
        model.write_text("not a model")
    else:
        model.write_bytes(model.read_bytes()[:2000])
    with TestClient(webapp.create_app(workdir=root)) as client:
        health = client.get("/api/health").json()
        assert health["model_loaded"] is False
        assert "models/best.keras" in health["detail"] and "03_training.ipynb" in health["detail"]
        assert_refused(upload(client, photos[0].name, photos[0].read_bytes()), 503, "models/best.keras",
                       "damaged", "03_training.ipynb")


def test_a_missing_data_config_names_the_first_notebook(tiny_workspace, photos, tmp_path):
    root = tmp_path / "work"
    copy_model(tiny_workspace, root)
    (root / "models" / "data_config.json").unlink()
    with TestClient(webapp.create_app(workdir=root)) as client:
        assert_refused(upload(client, photos[0].name, photos[0].read_bytes()), 503,
                       "data_config.json is missing", "01_data.ipynb")


def test_a_model_without_convolutions_still_predicts_without_grad_cam(tiny_workspace, photos, tmp_path):
    import keras

    model = keras.Sequential([keras.Input((48, 48, 3)), keras.layers.Flatten(), keras.layers.Dense(1, "sigmoid")])
    path = tmp_path / "flat.keras"
    model.save(path)
    with TestClient(webapp.create_app(model_path=path, workdir=tiny_workspace.root)) as client:
        answer = upload(client, photos[0].name, photos[0].read_bytes()).json()
    assert answer["label"] in {"cats", "dogs"} and answer["photo_png"]
    assert answer["gradcam_png"] is None and "Grad-CAM is not available" in answer["gradcam_note"]


# --------------------------------------------------------------------------- page, docs, command


def test_the_page_has_a_file_picker_and_loads_nothing_from_outside(client):
    response = client.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    html = response.text
    assert 'type="file"' in html and "drop" in html and "05_prediction.ipynb" in html
    assert "http://" not in html and "https://" not in html


def test_the_api_is_documented_and_the_docs_work_offline(client):
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/api/predict"]["post"]
    assert {"200", "400", "413", "415", "422", "503"} <= set(operation["responses"])
    assert "multipart/form-data" in operation["requestBody"]["content"]
    assert "/api/health" in spec["paths"]
    docs = client.get("/docs").text
    assert "cdn." not in docs and "/static-offline-docs/swagger-ui-bundle.js" in docs
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200


def test_the_command_serves_on_localhost_by_default(monkeypatch, tiny_workspace, capsys):
    import uvicorn

    calls = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.update(app=app, **kwargs))
    assert webapp.main(["--workdir", str(tiny_workspace.root)]) == 0
    assert calls["host"] == "127.0.0.1" and calls["port"] == 8000
    assert "http://127.0.0.1:8000/" in capsys.readouterr().out
    assert webapp.main(["--workdir", str(tiny_workspace.root), "--port", "8123", "--host", "::1"]) == 0
    assert calls["host"] == "::1" and calls["port"] == 8123


def test_every_limit_text_follows_the_app_s_own_limits(tiny_workspace):
    """The 413 answers, /docs and the health endpoint state the limits the app was given, not typed numbers."""
    mb = 1024 * 1024
    with TestClient(webapp.create_app(workdir=tiny_workspace.root, max_upload_bytes=2 * mb, max_pixels=1_000_000)) as client:
        operation = client.get("/openapi.json").json()["paths"]["/api/predict"]["post"]
        assert operation["responses"]["413"]["description"] == "Over 2 MB, or over 1 megapixels."
        assert client.get("/api/health").json()["limits"]["max_bytes"] == 2 * mb
        assert_refused(upload(client, "big.jpg", b"\xff\xd8" + b"\0" * (2 * mb)), 413, "big.jpg is 2.0 MB",
                       "the limit is 2 MB")
        assert_refused(upload(client, "big.jpg", b"\xff\xd8" + b"\0" * (3 * mb)), 413, "The upload is 3.0 MB",
                       "the limit is 2 MB")
        assert_refused(upload(client, "wide.png", png_bomb(1500, 1000), "image/png"), 413, "1 megapixels")
