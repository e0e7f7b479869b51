"""Getting the data set: download or local copy, verification, safe extraction, quarantine.

The notebooks call :func:`prepare_dataset` and get back a :class:`Dataset` whose folders
``flow_from_directory`` can read. On the way every step that can go wrong says what it
found and what to do, and nothing half-done is ever taken for a good data folder:

* downloads go to ``<name>.part`` and are renamed only once complete (and, when a checksum
  is known, verified);
* archives are checked end to end (every member's CRC) and refused when an entry would land
  outside the target folder;
* extraction happens in a temporary folder, the layout is checked there, unreadable images
  are moved to ``data/quarantine/`` with a report, and only then is the result renamed into
  place with a marker file that records where it came from.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import stat
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from PIL import Image

from .paths import REPO_ROOT, Workspace

OFFICIAL_URL = "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip"
ARCHIVE_NAME = "cats_and_dogs_filtered.zip"
DATASET_DIRNAME = "cats_and_dogs_filtered"
DATA_ENV = "CATSDOGS_DATA"
SPLITS = ("train", "validation")
MARKER_NAME = ".catsdogs-complete.json"

#: Archives known to hold exactly the canonical data set (sha256 -> what it is).
#: Google's own archive (68,606,236 bytes) is accepted by checking its layout and counts.
KNOWN_ARCHIVES = {
    "175801ce093cd64b79e3e39470310cec4be4c38db3430c7fd2f7bf7ac9f8dd2e": (
        "offline copy of cats_and_dogs_filtered.zip without vectorize.py (68,492,311 bytes)"
    ),
}
CANONICAL_COUNTS = {
    "train": {"cats": 1000, "dogs": 1000},
    "validation": {"cats": 500, "dogs": 500},
}
#: Extensions Keras' ``flow_from_directory`` reads, mapped to the format Pillow must find.
IMAGE_FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".bmp": "BMP",
    ".ppm": "PPM",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
_IGNORED_NAMES = {"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"}


class DataError(RuntimeError):
    """A problem with the data that the user can fix. The message says what and how."""


@dataclass
class ImageIssue:
    """One file the scan found: quarantined (unusable) or kept with a note."""

    path: str
    problem: str
    action: str


@dataclass
class Dataset:
    """An extracted, checked data set ready for ``flow_from_directory``."""

    root: Path
    classes: list[str]
    counts: dict[str, dict[str, int]]
    source: str
    fingerprint: str
    issues: list[ImageIssue] = field(default_factory=list)

    @property
    def train_dir(self) -> Path:
        return self.root / "train"

    @property
    def validation_dir(self) -> Path:
        return self.root / "validation"

    @property
    def quarantined(self) -> list[ImageIssue]:
        return [issue for issue in self.issues if issue.action == "quarantined"]


# --------------------------------------------------------------------------- sources


def offline_hint(workspace: Workspace | None = None) -> str:
    cache = "data/downloads/" + ARCHIVE_NAME
    return (
        "To use a local copy instead (a classroom share, an offline machine), either\n"
        f"  * set the environment variable {DATA_ENV} to the archive or to the extracted folder,\n"
        f"    e.g. {DATA_ENV}=../shared/datasets/{ARCHIVE_NAME}, or\n"
        "  * pass it as the `data_source` parameter of notebook 01, or\n"
        f"  * copy the archive to {cache} (it is then used as the cached download)."
    )


def resolve_source(source: str | os.PathLike | None = None) -> str:
    """The data source to use: the argument, else ``$CATSDOGS_DATA``, else Google's URL."""
    chosen = source or os.environ.get(DATA_ENV) or OFFICIAL_URL
    return os.fspath(chosen)


def is_url(source: str) -> bool:
    return urllib.parse.urlparse(source).scheme in {"http", "https", "file", "ftp"}


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def fetch_archive(
    url: str,
    downloads: Path,
    expected_sha256: str | None = None,
    filename: str | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` into ``downloads`` once; later calls return the cached file.

    The file is written as ``<name>.part`` and renamed only when complete, so an interrupted
    download never looks like a finished one. With ``expected_sha256`` a mismatch removes
    the download and raises :class:`DataError`; a cached file that no longer matches is
    downloaded again.
    """
    name = filename or PurePosixPath(urllib.parse.urlparse(url).path).name or ARCHIVE_NAME
    downloads.mkdir(parents=True, exist_ok=True)
    target = downloads / name
    if target.exists():
        if expected_sha256 is None or sha256_of(target) == expected_sha256:
            return target
        target.unlink()  # stale or damaged cache: fetch again below
    partial = downloads / (name + ".part")
    digest = hashlib.sha256()
    received = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            expected_bytes = response.headers.get("Content-Length")
            while block := response.read(1 << 20):
                out.write(block)
                digest.update(block)
                received += len(block)
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        partial.unlink(missing_ok=True)
        reason = getattr(error, "reason", error)
        raise DataError(
            f"Could not download {url}: {reason}.\n{offline_hint()}"
        ) from error
    if expected_bytes is not None and received != int(expected_bytes):
        partial.unlink(missing_ok=True)
        raise DataError(
            f"The download of {url} stopped after {received:,} of {int(expected_bytes):,} bytes. "
            f"Run the cell again to retry.\n{offline_hint()}"
        )
    if expected_sha256 is not None and digest.hexdigest() != expected_sha256:
        partial.unlink(missing_ok=True)
        raise DataError(
            f"The file downloaded from {url} has sha256 {digest.hexdigest()}, "
            f"but {expected_sha256} was expected: the download is damaged or the file at that "
            "address has changed. It was deleted; run the cell again to retry, or download the "
            f"archive yourself and use it as a local copy.\n{offline_hint()}"
        )
    os.replace(partial, target)
    return target


# --------------------------------------------------------------------------- archives


def check_archive(archive: Path) -> None:
    """Refuse an archive that is not a complete zip or whose entries escape the target folder."""
    if not zipfile.is_zipfile(archive):
        raise DataError(
            f"{archive.name} is not a zip archive, or it is truncated (a partial download?). "
            f"Delete it and download it again, or check that you pointed {DATA_ENV} at the "
            "right file."
        )
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                _check_member(info)
            damaged = zf.testzip()
    except (zipfile.BadZipFile, EOFError, OSError, zipfile.LargeZipFile, zlib.error) as error:
        raise DataError(
            f"{archive.name} is damaged ({error}). Delete it and download it again."
        ) from error
    if damaged is not None:
        raise DataError(
            f"{archive.name} is damaged: the entry {damaged!r} fails its CRC check "
            "(a partial or corrupted download). Delete it and download it again."
        )


def _check_member(info: zipfile.ZipInfo) -> None:
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    mode = info.external_attr >> 16
    if (
        name.startswith("/")
        or (len(name) > 1 and name[1] == ":")
        or ".." in parts
        or stat.S_ISLNK(mode)
    ):
        raise DataError(
            f"Refusing to extract: the archive entry {info.filename!r} would be written outside "
            "the data folder (an absolute path, '..' or a link). This archive is not the "
            "tutorial's data set; get the original one."
        )


def _extract(archive: Path, into: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            _check_member(info)  # checked again: never trust a file between two reads
            zf.extract(info, into)


# --------------------------------------------------------------------------- layout


def _visible(entries) -> list[Path]:
    return sorted(
        p for p in entries if not p.name.startswith(".") and p.name not in _IGNORED_NAMES
    )


def locate_dataset_root(folder: Path) -> Path:
    """The folder holding ``train/`` and ``validation/``: ``folder`` or its only sub-folder."""
    if all((folder / split).is_dir() for split in SPLITS):
        return folder
    subfolders = [p for p in _visible(folder.iterdir()) if p.is_dir()]
    if len(subfolders) == 1 and all((subfolders[0] / s).is_dir() for s in SPLITS):
        return subfolders[0]
    found = ", ".join(p.name + ("/" if p.is_dir() else "") for p in _visible(folder.iterdir()))
    raise DataError(
        "Wrong folder layout: expected train/ and validation/, each with one sub-folder per "
        "class (train/cats, train/dogs, validation/cats, validation/dogs), at the top of the "
        f"data folder or one level down. Found: {found or 'nothing'}. "
        "(This is the cause of Keras' 'Found 0 images belonging to 0 classes'.) "
        "Point the data source at the archive, or at the folder that holds train/ and validation/."
    )


def count_images(root: Path) -> dict[str, dict[str, int]]:
    """Check the class folders and count the image files in each; raise on a wrong layout."""
    counts: dict[str, dict[str, int]] = {}
    for split in SPLITS:
        split_dir = root / split
        entries = _visible(split_dir.iterdir())
        loose = [p.name for p in entries if p.is_file()]
        classes = [p for p in entries if p.is_dir()]
        if loose and not classes:
            raise DataError(
                f"Wrong folder layout: {split}/ holds image files directly ({loose[0]}, ...) but "
                f"no class sub-folders. Put each class in its own folder: {split}/cats/, "
                f"{split}/dogs/. Keras takes the class name from the folder name."
            )
        if len(classes) < 2:
            raise DataError(
                f"Wrong folder layout: {split}/ must hold one sub-folder per class (at least two), "
                f"found {[p.name for p in classes]}."
            )
        counts[split] = {
            c.name: sum(1 for f in _visible(c.iterdir()) if f.suffix.lower() in IMAGE_FORMATS)
            for c in classes
        }
        empty = [name for name, n in counts[split].items() if n == 0]
        if empty:
            raise DataError(
                f"The class folder {split}/{empty[0]}/ holds no images. Every class needs images "
                "in both train/ and validation/: check that the copy or extraction finished."
            )
    if set(counts["train"]) != set(counts["validation"]):
        raise DataError(
            "train/ and validation/ name different classes: "
            f"{sorted(counts['train'])} vs {sorted(counts['validation'])}. "
            "Both splits need the same class folders."
        )
    return counts


# --------------------------------------------------------------------------- images


def inspect_image(path: Path) -> ImageIssue | None:
    """Decode one image fully. Unusable files get a problem; odd-but-usable ones a note."""
    expected = IMAGE_FORMATS.get(path.suffix.lower())
    if expected is None:
        return ImageIssue(str(path), f"not an image file ({path.suffix or 'no extension'})",
                          "quarantined")
    try:
        with Image.open(path) as image:
            found, mode = image.format, image.mode
            image.load()
    except Exception as error:  # Pillow raises many types for damaged files
        return ImageIssue(str(path), f"cannot be decoded: {error}", "quarantined")
    if found != expected and not (expected == "TIFF" and found == "TIFF"):
        return ImageIssue(
            str(path), f"is a {found} file named {path.suffix}: rename or convert it", "quarantined"
        )
    if mode != "RGB":
        return ImageIssue(str(path), f"colour mode {mode}", "kept: converted to RGB when loaded")
    return None


def scan_images(root: Path) -> list[ImageIssue]:
    """Inspect every file in the class folders; paths in the result are relative to ``root``."""
    issues = []
    for split in SPLITS:
        for class_dir in _visible((root / split).iterdir()):
            if not class_dir.is_dir():
                continue
            for path in _visible(class_dir.iterdir()):
                issue = inspect_image(path)
                if issue is not None:
                    issue.path = path.relative_to(root).as_posix()
                    issues.append(issue)
    return issues


def _quarantine(root: Path, issues: list[ImageIssue], quarantine: Path) -> None:
    for issue in issues:
        if issue.action != "quarantined":
            continue
        destination = quarantine / issue.path
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(root / issue.path, destination)
    if issues:
        quarantine.mkdir(parents=True, exist_ok=True)
        with open(quarantine / "report.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["path", "problem", "action"])
            writer.writeheader()
            writer.writerows(asdict(issue) for issue in issues)


# --------------------------------------------------------------------------- the whole step


def _folder_fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            st = path.stat()
            digest.update(f"{path.relative_to(folder)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return "folder:" + digest.hexdigest()


def _read_marker(root: Path) -> dict | None:
    try:
        return json.loads((root / MARKER_NAME).read_text())
    except (OSError, ValueError):
        return None


def _dataset_from_marker(root: Path, marker: dict) -> Dataset:
    return Dataset(
        root=root,
        classes=marker["classes"],
        counts=marker["counts"],
        source=marker["source"],
        fingerprint=marker["fingerprint"],
        issues=[ImageIssue(**issue) for issue in marker["issues"]],
    )


def _describe(source: str, workspace: Workspace) -> str:
    if is_url(source):
        return source
    return workspace.show(source) if Path(source).is_absolute() else source


def prepare_dataset(source: str | os.PathLike | None, workspace: Workspace) -> Dataset:
    """Get, check and extract the data set into ``data/cats_and_dogs_filtered``.

    ``source`` is a URL (``https://``, ``file://``), a local zip archive, or an extracted
    folder; ``None`` means ``$CATSDOGS_DATA`` or Google's official URL. A second call with
    the same source reuses the extracted folder. The caller's own files are never changed:
    archives are extracted and folders are copied before anything is moved to quarantine.
    """
    source = resolve_source(source)
    expect_canonical = source == OFFICIAL_URL
    if is_url(source):
        archive = fetch_archive(source, workspace.downloads)
    else:
        path = Path(source).expanduser()
        if not path.is_absolute() and not path.exists():  # relative to the workspace, then the repository
            path = next((base / path for base in (workspace.root, REPO_ROOT) if (base / path).exists()), path)
        if not path.exists():
            raise DataError(f"The data source {source} does not exist.\n{offline_hint()}")
        archive = path if path.is_file() else None
        if archive is None:
            folder = path
    if archive is not None:
        check_archive(archive)
        fingerprint = sha256_of(archive)
        expect_canonical = expect_canonical or fingerprint in KNOWN_ARCHIVES
    else:
        folder = locate_dataset_root(folder)
        fingerprint = _folder_fingerprint(folder)

    final = workspace.data / DATASET_DIRNAME
    marker = _read_marker(final)
    if marker is not None and marker.get("fingerprint") == fingerprint:
        return _dataset_from_marker(final, marker)

    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=workspace.data))
    try:
        if archive is not None:
            _extract(archive, staging / "extracted")
            root = locate_dataset_root(staging / "extracted")
        else:
            root = staging / "copy"
            shutil.copytree(folder, root)
        counts = count_images(root)
        if expect_canonical and counts != CANONICAL_COUNTS:
            raise DataError(
                f"The archive holds {counts}, but the canonical data set has {CANONICAL_COUNTS}: "
                "it is incomplete or not the tutorial's archive. Delete it and download it again."
            )
        issues = scan_images(root)
        _quarantine(root, issues, staging / "quarantine")
        counts = count_images(root)  # a class emptied by quarantine is an error too
        classes = sorted(counts["train"])
        dataset = Dataset(final, classes, counts, _describe(source, workspace), fingerprint, issues)
        marker = {k: v for k, v in asdict(dataset).items() if k != "root"}
        (root / MARKER_NAME).write_text(json.dumps(marker, indent=2))
        # Swap into place: old copies are moved aside first, then removed.
        old = staging / "old"
        old.mkdir()
        for existing in (final, workspace.data / "quarantine"):
            if existing.exists():
                existing.rename(old / existing.name)
        if (staging / "quarantine").exists():
            (staging / "quarantine").rename(workspace.data / "quarantine")
        root.rename(final)
        return dataset
    finally:
        shutil.rmtree(staging, ignore_errors=True)
