"""Careless and hostile input to the web app: query parameters, damaged models, odd work folders.

Every answer's ``detail`` must be something a person can act on, and never show a path of the
server's machine: the app names files relative to the workspace (``models/best.keras``).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from catsdogs import paths, webapp
from catsdogs.web import cli

#: A path of the machine: two or more folders from the root, or a Windows drive.
ABSOLUTE_PATH = re.compile(r"(?:^|[\s'\"(=:])(?:/[\w.-]+){2,}|\b[A-Za-z]:\\")


def assert_no_machine_path(text: str, *folders: Path) -> None:
    assert not ABSOLUTE_PATH.search(text), text
    for folder in folders:
        assert str(folder) not in text, text


def post_photo(client, photo: Path, name: str | None = None, **params):
    return client.post("/api/predict", files={"file": (name or photo.name, photo.read_bytes(), "image/jpeg")},
                       params=params)


@pytest.fixture(scope="module")
def photo(tiny_workspace) -> Path:
    return sorted((tiny_workspace.root / "photos").iterdir())[0]


@pytest.fixture(scope="module")
def client(tiny_workspace):
    with TestClient(webapp.create_app(workdir=tiny_workspace.root)) as test_client:
        yield test_client


def workspace_copy(tiny_workspace, root: Path) -> Path:
    (root / "models").mkdir(parents=True)
    for name in ("best.keras", "data_config.json"):
        shutil.copy(tiny_workspace.models / name, root / "models" / name)
    return root


# --------------------------------------------------------------------------- query parameters


@pytest.mark.parametrize("value", ["maybe", "", "2"])
def test_images_must_be_true_or_false(client, photo, value):
    response = post_photo(client, photo, images=value)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "`images`" in detail and "true or false" in detail and repr(value) in detail
    assert "No photo" not in detail


@pytest.mark.parametrize("value", ["true", "false", "1", "0", "yes", "no"])
def test_the_usual_spellings_of_true_and_false_work(client, photo, value):
    answer = post_photo(client, photo, images=value)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["photo_png"] is not None) == (value in ("true", "1", "yes"))


# --------------------------------------------------------------------------- damaged models and configurations


def keep_zip_members(path: Path, keep) -> None:
    """Rewrite the zip archive at ``path`` with only the members ``keep(name)`` accepts."""
    with zipfile.ZipFile(path) as source:
        members = [(item, source.read(item)) for item in source.infolist() if keep(item.filename)]
    with zipfile.ZipFile(path, "w") as target:
        for item, data in members:
            target.writestr(item, data)


DAMAGES = {
    "model as text": ("best.keras", lambda p: p.write_text("not a model")),
    "model truncated": ("best.keras", lambda p: p.write_bytes(p.read_bytes()[:2000])),
    "model without its weights": ("best.keras", lambda p: keep_zip_members(p, lambda n: not n.endswith(".h5"))),
    "model without its configuration": ("best.keras", lambda p: keep_zip_members(p, lambda n: n != "config.json")),
    "model is a folder": ("best.keras", lambda p: (p.unlink(), p.mkdir())),
    "configuration missing": ("data_config.json", lambda p: p.unlink()),
    "configuration cut short": ("data_config.json", lambda p: p.write_text(p.read_text()[:30])),
    "configuration of another kind": ("data_config.json", lambda p: p.write_text('{"image_size": "big"}')),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_model_or_configuration_is_named_without_machine_paths(tiny_workspace, photo, tmp_path, damage):
    name, spoil = DAMAGES[damage]
    root = workspace_copy(tiny_workspace, tmp_path / "work")
    spoil(root / "models" / name)
    with TestClient(webapp.create_app(workdir=root)) as client:
        health = client.get("/api/health").json()
        answer = post_photo(client, photo)
    assert health["model_loaded"] is False
    assert answer.status_code == 503, answer.text
    detail = answer.json()["detail"]
    assert detail == health["detail"]
    assert f"models/{name}" in detail and ".ipynb" in detail, detail
    assert "Traceback" not in detail
    assert_no_machine_path(detail, tmp_path, root)


def test_a_model_given_by_its_absolute_path_is_named_by_its_name(tiny_workspace, photo, tmp_path):
    model = tmp_path / "elsewhere" / "mine.keras"
    model.parent.mkdir()
    model.write_bytes(b"PK\x03\x04 truncated")
    with TestClient(webapp.create_app(model_path=model, workdir=tiny_workspace.root)) as client:
        health = client.get("/api/health").json()
        detail = post_photo(client, photo).json()["detail"]
    assert health["model"] == "mine.keras" and "mine.keras" in detail
    assert_no_machine_path(detail, tmp_path)


def test_no_answer_shows_a_machine_path(client, photo, tiny_workspace):
    """Bad uploads of every kind, with file names that carry folders: the answers name the file only."""
    requests = [
        {"files": {"file": ("/home/alice/Pictures/notes.jpg", b"just text", "image/jpeg")}},
        {"files": {"file": ("C:\\Users\\alice\\cut.jpg", photo.read_bytes()[:500], "image/jpeg")}},
        {"files": {"file": ("/srv/photos/empty.jpg", b"", "image/jpeg")}},
        {"files": {"file": ("/srv/photos/a.jpg", b"x", "image/jpeg"), "other": ("/srv/b.jpg", b"x", "image/jpeg")}},
        {"files": {"image": ("/srv/photos/a.jpg", b"x", "image/jpeg")}},
        {"content": b"x", "headers": {"content-type": "image/jpeg"}},
    ]
    for request in requests:
        response = client.post("/api/predict", **request)
        assert response.status_code >= 400
        assert_no_machine_path(response.json()["detail"], tiny_workspace.root)
    assert client.get("/api/health").json()["model"] == "models/best.keras"


# --------------------------------------------------------------------------- the work folder


def test_a_workdir_that_does_not_exist_is_refused_not_created(tmp_path, monkeypatch, capsys):
    import uvicorn

    missing = tmp_path / "typo"
    with pytest.raises(paths.WorkspaceError, match="does not exist"):
        webapp.create_app(workdir=missing)
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: pytest.fail("the server must not start"))
    assert cli.main(["--workdir", str(missing)]) == 2
    error = capsys.readouterr().err
    assert "typo does not exist" in error and "notebooks ran in" in error
    assert not missing.exists()


@pytest.fixture
def read_only(monkeypatch):
    """Make folders under the given root read-only, for root too (who may write anywhere): creating
    a folder there fails as on a read-only file system."""
    folders: list[Path] = []
    real_mkdir, real_os_mkdir = Path.mkdir, os.mkdir

    def refused(path) -> bool:
        return any(Path(os.path.abspath(path)).is_relative_to(folder) for folder in folders)

    def path_mkdir(self, *args, **kwargs):
        if refused(self):
            raise PermissionError(13, "Read-only file system", str(self))
        return real_mkdir(self, *args, **kwargs)

    def os_mkdir(path, *args, **kwargs):
        if refused(path):
            raise PermissionError(13, "Read-only file system", str(path))
        return real_os_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", path_mkdir)
    monkeypatch.setattr(os, "mkdir", os_mkdir)

    def protect(root: Path) -> Path:
        for path in [root, *root.rglob("*")]:
            path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        folders.append(root.resolve())
        return root

    yield protect
    for folder in folders:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def listing(root: Path) -> list[tuple[str, int]]:
    return sorted((p.relative_to(root).as_posix(), p.stat().st_mtime_ns) for p in [root, *root.rglob("*")])


def test_a_read_only_workdir_is_enough(tiny_workspace, photo, tmp_path, read_only):
    root = read_only(workspace_copy(tiny_workspace, tmp_path / "work"))
    before = listing(root)
    with TestClient(webapp.create_app(workdir=root)) as client:
        assert client.get("/api/health").json()["model_loaded"] is True
        answer = post_photo(client, photo)
        assert answer.status_code == 200, answer.text
    assert listing(root) == before


def test_a_read_only_empty_workdir_starts_and_says_which_notebook_to_run(photo, tmp_path, read_only):
    root = tmp_path / "empty"
    root.mkdir()
    read_only(root)
    with TestClient(webapp.create_app(workdir=root)) as client:
        health = client.get("/api/health").json()
        assert health["model_loaded"] is False and "03_training.ipynb" in health["detail"]
        answer = post_photo(client, photo)
    assert answer.status_code == 503 and "models/best.keras does not exist" in answer.json()["detail"]
    assert list(root.iterdir()) == []


# --------------------------------------------------------------------------- which model answers


def test_the_app_switches_to_the_transfer_model_once_notebook_07_saves_it(tiny_workspace, tmp_path, photo):
    import keras

    root = workspace_copy(tiny_workspace, tmp_path / "work")
    with TestClient(webapp.create_app(workdir=root)) as client:
        assert client.get("/api/health").json()["model"] == "models/best.keras"
        first = post_photo(client, photo, images="false").json()
        assert first["model"] == "models/best.keras"
        dense = keras.layers.Dense(1, activation="sigmoid", kernel_initializer="zeros",
                                   bias_initializer=keras.initializers.Constant(9.0))
        always_dog = keras.Sequential([keras.Input((48, 48, 3)), keras.layers.GlobalAveragePooling2D(), dense])
        always_dog.save(root / "models" / "transfer.keras")
        second = post_photo(client, photo, images="false").json()
        assert second["model"] == "models/transfer.keras" and second["label"] == "dogs"
        assert client.get("/api/health").json()["model"] == "models/transfer.keras"
    with TestClient(webapp.create_app(model_path=root / "models" / "best.keras", workdir=root)) as client:
        assert post_photo(client, photo, images="false").json()["model"] == "models/best.keras", "--model chooses"
