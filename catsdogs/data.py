"""Getting the data set: download or local copy, verification, safe extraction, quarantine.

The notebooks call :func:`prepare_dataset` and get back a :class:`Dataset` whose folders
``flow_from_directory`` can read. On the way every step that can go wrong says what it
found and what to do, and nothing half-done is ever taken for a good data folder:

* downloads try Google's current address, then its older one, go to ``<name>.part`` and are
  renamed only once complete (and, when a checksum is known, verified);
* archives are checked before anything is extracted: a complete zip, no entry outside the
  target folder, no link, no password, a compression method Python reads, and uncompressed
  sizes within :data:`MAX_DATA_BYTES` and :data:`MAX_EXPANSION` (a small zip that unpacks to
  gigabytes is refused); each entry's CRC is checked while it is extracted;
* extraction (or the copy of a local folder) happens in a temporary folder; there the layout
  is checked (exactly two class folders, the same in both splits, enough photos in each),
  hidden entries and operating-system files (``.ipynb_checkpoints``, ``.DS_Store``,
  ``Thumbs.db``, ``._name.jpg``) are removed and listed, unreadable or unsuitable images are
  moved to ``data/quarantine/`` with a report, and only then is the result renamed into place
  with a marker file that records where it came from. A temporary folder left by a run that
  was killed is removed by the next run.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
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

from .images import FORMATS_TEXT, SUFFIXES, TRAINING_SUFFIXES, WIDE_MODES, ImageInputError, open_image
from .paths import REPO_ROOT, Workspace

#: Google's addresses for the archive, tried in this order: the one its tutorials use since
#: November 2025 (tensorflow/docs, transfer_learning.ipynb), then the older one.
OFFICIAL_URLS = (
    "https://download.mlcc.google.com/mledu-datasets/cats_and_dogs_filtered.zip",
    "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip",
)
OFFICIAL_URL = OFFICIAL_URLS[0]
ARCHIVE_NAME = "cats_and_dogs_filtered.zip"
DATASET_DIRNAME = "cats_and_dogs_filtered"
DATA_ENV = "CATSDOGS_DATA"
SPLITS = ("train", "validation")
MARKER_NAME = ".catsdogs-complete.json"
STAGING_PREFIX = ".staging-"

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
#: The model tells exactly this many classes apart (one sigmoid output).
N_CLASSES = 2
#: Fewest photos per class and split: fewer cannot train or evaluate anything (the tutorial's set has 1,000 and 500).
MIN_IMAGES = {"train": 8, "validation": 4}
#: Largest data set accepted, uncompressed (the tutorial's is 68 MB): checked before extracting or copying.
MAX_DATA_BYTES = 2 * 1000**3
#: Most entries an archive may hold (the tutorial's holds 3,000 photos and a few folders).
MAX_ENTRIES = 200_000
#: Largest expansion of one archive entry of 1 MB or more: photos hardly compress, a zip bomb expands thousands of times.
MAX_EXPANSION = 100
#: Extensions Keras' ``flow_from_directory`` reads, mapped to the format Pillow must find there.
IMAGE_FORMATS = {suffix: SUFFIXES[suffix] for suffix in TRAINING_SUFFIXES}
#: Files that operating systems and tools leave in folders; never photos.
SYSTEM_FILES = {"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini", "ehthumbs.db", ".directory", "Icon\r"}


class DataError(RuntimeError):
    """A problem with the data that the user can fix. The message says what and how."""


@dataclass
class ImageIssue:
    """One file the scan found: quarantined (unusable), removed (not a photo) or kept with a note."""

    path: str  # relative to the data set's folder, e.g. train/cats/cat.1.jpg
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

    @property
    def removed(self) -> list[ImageIssue]:
        """Hidden entries and operating-system files taken out on purpose."""
        return [issue for issue in self.issues if issue.action.startswith("removed")]


def _gb(n: int) -> str:
    return f"{n / 1000**3:.1f} GB" if n >= 100 * 1000**2 else f"{n / 1000**2:.1f} MB"


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


def resolve_source(source: str | os.PathLike | None = None) -> str | None:
    """The data source to use: the argument, else ``$CATSDOGS_DATA``, else None (Google's addresses)."""
    chosen = source or os.environ.get(DATA_ENV)
    return os.fspath(chosen) if chosen else None


def is_url(source: str) -> bool:
    return urllib.parse.urlparse(source).scheme in {"http", "https", "file", "ftp"}


def digest_of(path: Path, algorithm: str = "sha256", chunk: int = 1 << 20) -> str:
    """The hex digest of a file, read in blocks (archives are hundreds of MB)."""
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    return digest_of(path, "sha256")


def fetch_archive(
    url: str,
    downloads: Path,
    expected_sha256: str | None = None,
    filename: str | None = None,
    timeout: float = 60.0,
    hint: str | None = None,
) -> Path:
    """Download ``url`` into ``downloads`` once; later calls return the cached file.

    The file is written as ``<name>.part`` and renamed only when complete, so an interrupted
    download never looks like a finished one. With ``expected_sha256`` a mismatch removes
    the download and raises :class:`DataError`; a cached file that no longer matches is
    downloaded again. ``hint`` (default: how to use a local copy of the tutorial's archive) ends
    every error message.
    """
    hint = offline_hint() if hint is None else hint
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
                if received > MAX_DATA_BYTES:
                    raise DataError(f"The download of {url} is larger than {_gb(MAX_DATA_BYTES)}: it is not the "
                                    f"tutorial's archive. It was stopped and deleted.\n{hint}")
    except DataError:
        partial.unlink(missing_ok=True)
        raise
    except (urllib.error.URLError, OSError, TimeoutError, ValueError) as error:
        partial.unlink(missing_ok=True)
        reason = getattr(error, "reason", error)
        raise DataError(
            f"Could not download {url}: {reason}.\n{hint}"
        ) from None
    if expected_bytes is not None and expected_bytes.isdigit() and received != int(expected_bytes):
        partial.unlink(missing_ok=True)
        raise DataError(
            f"The download of {url} stopped after {received:,} of {int(expected_bytes):,} bytes. "
            f"Run the cell again to retry.\n{hint}"
        )
    if expected_sha256 is not None and digest.hexdigest() != expected_sha256:
        partial.unlink(missing_ok=True)
        raise DataError(
            f"The file downloaded from {url} has sha256 {digest.hexdigest()}, "
            f"but {expected_sha256} was expected: the download is damaged or the file at that "
            "address has changed. It was deleted; run the cell again to retry, or download the "
            f"archive yourself and use it as a local copy.\n{hint}"
        )
    os.replace(partial, target)
    return target


def fetch_official_archive(downloads: Path, urls: tuple[str, ...] | None = None) -> Path:
    """The canonical archive from the cache, else from Google's addresses in turn, each checked the same way.

    An address that fails (no network, an error page instead of a zip, a partial download) is
    followed by the next; when all fail the message lists every address tried and its reason.
    """
    urls = urls or OFFICIAL_URLS
    cached = downloads / ARCHIVE_NAME
    if cached.exists():
        try:
            check_archive(cached)
            return cached
        except DataError:
            cached.unlink()  # a damaged cache (an interrupted copy, say): download it again below
    failures = []
    for url in urls:
        try:
            archive = fetch_archive(url, downloads, filename=ARCHIVE_NAME)
            check_archive(archive)
            return archive
        except DataError as error:
            failures.append(f"  * {url}: {str(error).split(chr(10), 1)[0]}")
            cached.unlink(missing_ok=True)  # a damaged download is not kept for the next address or run
    raise DataError("Could not get the data set from any of Google's addresses:\n" + "\n".join(failures)
                    + "\n" + offline_hint())


# --------------------------------------------------------------------------- archives


def _damaged(archive: Path, what: str) -> DataError:
    return DataError(f"{archive.name} is damaged ({what}). Delete it and download it again, or check that "
                     f"you pointed {DATA_ENV} at the right file.")


def check_archive(archive: Path) -> None:
    """Refuse, before extracting anything, an archive that cannot be extracted safely and completely.

    Checked from the zip's directory (no entry is decompressed here): a complete zip with at
    least one file, entries inside the target folder, no links, no passwords, compression
    methods Python reads, and uncompressed sizes within the limits. Each entry's CRC is
    checked while it is extracted.
    """
    if not zipfile.is_zipfile(archive):
        raise DataError(
            f"{archive.name} is not a zip archive, or it is truncated (a partial download?). "
            f"Delete it and download it again, or check that you pointed {DATA_ENV} at the "
            "right file."
        )
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, EOFError, OSError, zipfile.LargeZipFile, zlib.error, ValueError) as error:
        raise _damaged(archive, str(error)) from None
    files = [info for info in infos if not info.is_dir()]
    if len(infos) > MAX_ENTRIES:
        raise DataError(f"{archive.name} holds {len(infos):,} entries; the limit is {MAX_ENTRIES:,} (the tutorial's "
                        "archive holds about 3,000). It is not a photo archive this tutorial can use.")
    if not files:
        raise DataError(f"{archive.name} is an empty zip archive: it holds no files. It is not the tutorial's data "
                        "set; delete it and download it again.")
    total = 0
    for info in infos:
        _check_member(info)
        if info.flag_bits & 0x1:
            raise DataError(f"{archive.name} is password-protected (its entry {info.filename!r} is encrypted). "
                            "The tutorial cannot read it: use an archive without a password, or extract it yourself "
                            "and point the data source at the folder.")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
            raise DataError(f"{archive.name} uses a compression method Python cannot read (method "
                            f"{info.compress_type}, in {info.filename!r}; Windows' 'Deflate64' is one). Extract it "
                            "with another program and point the data source at the folder, or zip it again.")
        if info.file_size >= 1000**2 and info.file_size > MAX_EXPANSION * max(info.compress_size, 1):
            raise DataError(f"{archive.name} is refused: its entry {info.filename!r} would expand from "
                            f"{_gb(info.compress_size)} to {_gb(info.file_size)} (more than {MAX_EXPANSION} times; "
                            "photos hardly compress). It is a zip bomb or not a photo archive.")
        total += info.file_size
    if total > MAX_DATA_BYTES:
        raise DataError(f"{archive.name} would unpack to {_gb(total)}; the limit is {_gb(MAX_DATA_BYTES)} (the "
                        "tutorial's data set is 68 MB). Use a smaller data set.")


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
    into.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            _check_member(info)  # checked again: never trust a file between two reads
            try:
                zf.extract(info, into)  # reads exactly file_size bytes and checks the CRC
            except (zipfile.BadZipFile, EOFError, zlib.error) as error:
                raise _damaged(archive, f"the entry {info.filename!r} fails its check: {error}") from None
            except (RuntimeError, NotImplementedError) as error:  # encryption or a method found only now
                raise DataError(f"{archive.name}: the entry {info.filename!r} cannot be read ({error}). Extract "
                                "it with another program and point the data source at the folder.") from None
            except OSError as error:
                raise DataError(
                    f"The archive entry {info.filename!r} cannot be written on this computer's disk "
                    f"({error.strerror or error}): a name too long or not allowed here, a file where a folder "
                    "should be, or a full disk. Extract the archive elsewhere, fix the name, and point the "
                    "data source at the folder."
                ) from None


# --------------------------------------------------------------------------- local folders


def _walk_files(folder: Path, folders: list[Path] | None = None) -> list[tuple[Path, int]]:
    """Every file under ``folder`` (links followed) with its size; a folder that loops raises DataError.

    ``folders``, if given, receives every folder visited, the empty ones too.
    """
    found: list[tuple[Path, int]] = []
    total = 0

    def visit(directory: Path, ancestors: tuple[tuple[int, int], ...]) -> None:
        nonlocal total
        if folders is not None:
            folders.append(directory)
        try:
            st = directory.stat()
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as error:
            raise DataError(f"Cannot read the folder {directory.relative_to(folder) if directory != folder else '.'} "
                            f"of the data source ({error.strerror or error}). Check its permissions.") from None
        key = (st.st_dev, st.st_ino)
        if key in ancestors:
            raise DataError(f"The data folder loops: {directory.relative_to(folder).as_posix()} is a link back to a "
                            "folder that contains it. Remove that link, or point the data source at a copy without it.")
        for entry in entries:
            path = Path(entry.path)
            try:
                if entry.is_dir():  # follows links, like a copy does
                    visit(path, ancestors + (key,))
                elif entry.is_file():
                    size = entry.stat().st_size
                    found.append((path, size))
                    total += size
                    if total > MAX_DATA_BYTES:
                        raise DataError(f"The data folder holds more than {_gb(MAX_DATA_BYTES)} (the tutorial's data "
                                        "set is 68 MB). Use a smaller data set.")
                # anything else (a dangling link, a pipe, a device) is not copied
            except OSError as error:
                raise DataError(f"Cannot read {path.relative_to(folder).as_posix()} in the data source "
                                f"({error.strerror or error}).") from None

    visit(folder, ())
    return found


def _copy_folder(folder: Path, into: Path) -> None:
    """Copy the files of a local data folder (links followed, loops refused) into ``into``."""
    folders: list[Path] = []
    files = _walk_files(folder, folders)
    for directory in folders:
        (into / directory.relative_to(folder)).mkdir(parents=True, exist_ok=True)
    for path, _ in files:
        target = into / path.relative_to(folder)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        except OSError as error:
            raise DataError(f"Cannot copy {path.relative_to(folder).as_posix()} from the data source "
                            f"({error.strerror or error}).") from None


def _folder_fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for path, size in _walk_files(folder):
        digest.update(f"{path.relative_to(folder).as_posix()}|{size}|{path.stat().st_mtime_ns}\n".encode())
    return "folder:" + digest.hexdigest()


# --------------------------------------------------------------------------- layout


def is_system_entry(name: str) -> bool:
    """Hidden entries (``.ipynb_checkpoints``, ``._photo.jpg``) and files that operating systems leave."""
    return name.startswith(".") or name in SYSTEM_FILES


def _visible(entries) -> list[Path]:
    return sorted(p for p in entries if not is_system_entry(p.name))


def locate_dataset_root(folder: Path) -> Path:
    """The folder holding ``train/`` and ``validation/``: ``folder`` or its only sub-folder."""
    if all((folder / split).is_dir() for split in SPLITS):
        return folder
    entries = _visible(folder.iterdir()) if folder.is_dir() else []
    subfolders = [p for p in entries if p.is_dir()]
    if len(subfolders) == 1 and all((subfolders[0] / s).is_dir() for s in SPLITS):
        return subfolders[0]
    found = ", ".join(p.name + ("/" if p.is_dir() else "") for p in entries[:12]) + (", ..." if len(entries) > 12 else "")
    raise DataError(
        "Wrong folder layout: expected train/ and validation/, each with one sub-folder per "
        "class (train/cats, train/dogs, validation/cats, validation/dogs), at the top of the "
        f"data folder or one level down. Found: {found or 'nothing'}. "
        "(This is the cause of Keras' 'Found 0 images belonging to 0 classes'.) "
        "Point the data source at the archive, or at the folder that holds train/ and validation/."
    )


def _in(split: str) -> str:
    """How a split folder is named in messages: ``train/``, or "the folder" for a set without splits."""
    return f"{split}/" if split else "the data folder"


def _remove_system_entries(root: Path, quarantine: Path, splits: tuple[str, ...] = SPLITS) -> list[ImageIssue]:
    """Move hidden entries and operating-system files out of the split folders, and list them.

    Keras would otherwise make a hidden folder a class (``.ipynb_checkpoints`` beside ``cats``
    and ``dogs``) or try to read ``._cat.1.jpg`` (a macOS resource fork) as a photo.
    """
    issues = []
    for split in splits:
        for parent, dirs, files in os.walk(root / split):
            for name in sorted(dirs + files):
                if not is_system_entry(name):
                    continue
                path = Path(parent) / name
                relative = path.relative_to(root).as_posix()
                destination = quarantine / "removed" / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(path, destination)
                what = "a hidden folder" if name in dirs else ("a macOS resource fork" if name.startswith("._")
                                                               else "a hidden or system file")
                issues.append(ImageIssue(relative, f"{what}, not a photo", "removed: skipped on purpose"))
            dirs[:] = [d for d in dirs if not is_system_entry(d)]
    return issues


def _stray_files(root: Path, quarantine: Path, splits: tuple[str, ...] = SPLITS) -> list[ImageIssue]:
    """Files directly in train/ or validation/, outside any class folder: Keras ignores them, so we say so."""
    issues = []
    for split in splits:
        for path in _visible((root / split).iterdir()):
            if path.is_file():
                relative = path.relative_to(root).as_posix()
                destination = quarantine / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(path, destination)
                issues.append(ImageIssue(relative, "not in a class folder (Keras takes the class from the folder)",
                                         "quarantined"))
    return issues


def _class_folders(root: Path, split: str) -> list[Path]:
    split_dir = root / split
    entries = _visible(split_dir.iterdir())
    classes = [p for p in entries if p.is_dir()]
    loose = [p.name for p in entries if p.is_file()]
    if loose and not classes:
        raise DataError(
            f"Wrong folder layout: {_in(split)} holds image files directly ({loose[0]}, ...) but "
            f"no class sub-folders. Put each class in its own folder: {split}{'/' if split else ''}cats/, "
            f"{split}{'/' if split else ''}dogs/. Keras takes the class name from the folder name."
        )
    if len(classes) != N_CLASSES:
        names = ", ".join(p.name + "/" for p in classes) or "none"
        raise DataError(
            f"Wrong folder layout: {_in(split)} must hold exactly {N_CLASSES} class folders (cats/ and dogs/), "
            f"found {len(classes)}: {names}. The model tells two classes apart, and Keras would make every "
            "folder a class. Move the other folders out of the data folder (or add the missing one)."
        )
    return classes


def _images_under(folder: Path) -> list[Path]:
    """The files Keras' ``flow_from_directory`` reads in a class folder: all levels, its extensions."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_FORMATS)


def count_images(
    root: Path, splits: tuple[str, ...] = SPLITS, minimum: dict[str, int] | None = None
) -> dict[str, dict[str, int]]:
    """Check the class folders and count the images in each; raise on a wrong layout or too few photos."""
    minimum = MIN_IMAGES if minimum is None else minimum
    counts: dict[str, dict[str, int]] = {}
    for split in splits:
        counts[split] = {c.name: len(_images_under(c)) for c in _class_folders(root, split)}
    names = [sorted(c) for c in counts.values()]
    if any(n != names[0] for n in names):
        raise DataError(
            f"{' and '.join(_in(s) for s in splits)} name different classes: "
            f"{' vs '.join(map(str, names))}. Both splits need the same class folders."
        )
    for split in splits:
        for name, n in counts[split].items():
            folder = f"{split}/{name}/" if split else f"{name}/"
            if n == 0:
                raise DataError(
                    f"The class folder {folder} holds no images. Every class needs images"
                    + (" in both train/ and validation/" if split else "")
                    + ": check that the copy or extraction finished."
                )
            if n < minimum.get(split, 1):
                needs = ", ".join(f"{m} per class in {_in(s)}" for s, m in minimum.items())
                raise DataError(
                    f"The class folder {folder} holds only {n} usable image(s); the tutorial needs at least "
                    f"{needs}. Add photos, or use the tutorial's data set."
                )
    return counts


# --------------------------------------------------------------------------- images


def inspect_image(path: Path, name: str | None = None) -> ImageIssue | None:
    """Decode one image fully with the project's one loader.

    Unusable files get a problem (quarantined); odd-but-usable ones a note (kept). Images with
    16-bit or floating-point pixels are rewritten in this copy as 8-bit, which Keras reads
    correctly (it would clip a mid-grey 16-bit image to white).
    """
    name = name or path.name
    suffix = path.suffix.lower()
    if suffix not in IMAGE_FORMATS:
        if suffix in SUFFIXES:
            return ImageIssue(str(path), f"a {SUFFIXES[suffix]} file: Keras' flow_from_directory skips this format "
                                         "(it reads .jpg, .jpeg, .png, .bmp, .tif, .tiff); convert it to JPEG or PNG",
                              "quarantined")
        return ImageIssue(str(path), f"not an image file ({suffix or 'no extension'}; expected {FORMATS_TEXT})",
                          "quarantined")
    try:
        decoded = open_image(path, name)
    except ImageInputError as error:
        return ImageIssue(str(path), str(error).removeprefix(f"{name}: "), "quarantined")
    expected = IMAGE_FORMATS[suffix]
    if decoded.format != expected:
        return ImageIssue(
            str(path), f"is a {decoded.format} file named {path.suffix}: rename or convert it", "quarantined"
        )
    if decoded.mode in WIDE_MODES:
        buffer = io.BytesIO()
        decoded.image.save(buffer, format=expected)
        path.write_bytes(buffer.getvalue())
        return ImageIssue(str(path), decoded.converted, "kept: rewritten as 8-bit RGB in this copy")
    if decoded.mode != "RGB":
        return ImageIssue(str(path), f"colour mode {decoded.mode}", "kept: converted to RGB when loaded")
    return None


def scan_images(root: Path, splits: tuple[str, ...] = SPLITS) -> list[ImageIssue]:
    """Inspect every file in the class folders; paths in the result are relative to ``root``."""
    issues = []
    for split in splits:
        for class_dir in _visible((root / split).iterdir()):
            if not class_dir.is_dir():
                continue
            for path in sorted(p for p in class_dir.rglob("*") if p.is_file()):
                relative = path.relative_to(root).as_posix()
                issue = inspect_image(path, relative)
                if issue is not None:
                    issue.path = relative
                    issues.append(issue)
    return issues


def _quarantine(root: Path, issues: list[ImageIssue], quarantine: Path) -> None:
    for issue in issues:
        if issue.action != "quarantined" or not (root / issue.path).exists():
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


def check_folder(
    root: Path,
    quarantine: Path,
    canonical: dict[str, dict[str, int]] | None = None,
    splits: tuple[str, ...] = SPLITS,
    minimum: dict[str, int] | None = None,
) -> tuple[dict[str, dict[str, int]], list[ImageIssue]]:
    """Check and clean a copied or extracted data folder in place; return its counts and its issues.

    Hidden and system entries are moved to ``quarantine/removed/``; the layout is checked
    (exactly two class folders, the same in every split); files outside the class folders and
    images that cannot be used are moved to ``quarantine/`` with ``report.csv``; then the
    layout and the counts are checked again, since quarantine can empty a class. With
    ``canonical``, the counts before quarantine must equal it (the tutorial's own archive).
    """
    issues = _remove_system_entries(root, quarantine, splits)
    count_images(root, splits, minimum)  # the layout, before every image is decoded
    issues += _stray_files(root, quarantine, splits)
    counts = count_images(root, splits, minimum)
    if canonical is not None and counts != canonical:
        raise DataError(
            f"The archive holds {counts}, but the canonical data set has {canonical}: "
            "it is incomplete or not the tutorial's archive. Delete it and download it again."
        )
    issues += scan_images(root, splits)
    _quarantine(root, issues, quarantine)  # the report lists every issue, the removed files too
    return count_images(root, splits, minimum), issues


def _read_marker(root: Path) -> dict | None:
    try:
        marker = json.loads((root / MARKER_NAME).read_text())
        return marker if isinstance(marker, dict) else None
    except (OSError, ValueError):
        return None


def _dataset_from_marker(root: Path, marker: dict) -> Dataset | None:
    try:
        return Dataset(
            root=root,
            classes=marker["classes"],
            counts=marker["counts"],
            source=marker["source"],
            fingerprint=marker["fingerprint"],
            issues=[ImageIssue(**issue) for issue in marker["issues"]],
        )
    except (KeyError, TypeError):
        return None  # an older or damaged marker: the data is prepared again


def _describe(source: str, workspace: Workspace) -> str:
    if is_url(source):
        return source
    return workspace.show(source) if Path(source).is_absolute() else source


@contextlib.contextmanager
def staging_area(ws: Workspace, what: str):
    """A temporary folder in ``data/`` for extracting and checking, removed afterwards whatever happens.

    Its name holds this process's id, so that :func:`remove_stale_staging` can tell a folder left
    by a killed run from one in use. Errors of the disk (full, read-only, a file where a folder
    should be) become a :class:`DataError` that says so.
    """
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=ws.data))
    try:
        yield staging
    except OSError as error:
        raise DataError(f"Could not prepare {what} in {ws.show(ws.data)}/ ({error.strerror or error}). Check the "
                        "free disk space and that the folder is writable, then run again.") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def install(staging: Path, root: Path, description: dict, final: Path, quarantine: Path) -> None:
    """Put a checked folder in place with its marker, and ``staging/quarantine`` at ``quarantine``.

    The marker (``description`` without its ``root``) is what a later run compares to reuse the
    folder. Old copies are moved aside into the staging area first, so a folder in place is always
    a complete one, then removed with the staging area.
    """
    marker = {k: v for k, v in description.items() if k != "root"}
    (root / MARKER_NAME).write_text(json.dumps(marker, indent=2))
    old = staging / "old"
    old.mkdir()
    for existing in (final, quarantine):
        if existing.exists() or existing.is_symlink():
            existing.rename(old / existing.name)
    if (staging / "quarantine").exists():
        (staging / "quarantine").rename(quarantine)
    root.rename(final)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_staging(data_dir: Path) -> list[str]:
    """Remove temporary folders that a killed run left in ``data/`` (their process is gone)."""
    removed = []
    for path in data_dir.glob(STAGING_PREFIX + "*"):
        pid_text = path.name[len(STAGING_PREFIX):].split("-", 1)[0]
        if pid_text.isdigit() and _pid_alive(int(pid_text)) and int(pid_text) != os.getpid():
            continue  # another run is extracting right now
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    return removed


def local_source(source: str, workspace: Workspace, what: str = "The data source", hint: str | None = None) -> Path:
    """A local file or folder: as given, else relative to the workspace, then to the repository."""
    path = Path(source).expanduser()
    if not path.is_absolute() and not path.exists():
        path = next((base / path for base in (workspace.root, REPO_ROOT) if (base / path).exists()), path)
    if not path.exists():
        raise DataError(f"{what} {source} does not exist.\n{offline_hint() if hint is None else hint}")
    if not (path.is_file() or path.is_dir()):
        raise DataError(f"{what} {source} is neither an archive nor a folder.")
    return path


def prepare_dataset(source: str | os.PathLike | None, workspace: Workspace) -> Dataset:
    """Get, check and extract the data set into ``data/cats_and_dogs_filtered``.

    ``source`` is a URL (``https://``, ``file://``), a local zip archive, or an extracted
    folder; ``None`` means ``$CATSDOGS_DATA`` or Google's official addresses. A second call with
    the same source reuses the extracted folder. The caller's own files are never changed:
    archives are extracted and folders are copied before anything is moved to quarantine.
    """
    remove_stale_staging(workspace.data)
    chosen = resolve_source(source)
    folder = None
    if chosen is None:
        archive = fetch_official_archive(workspace.downloads)
        chosen, expect_canonical = OFFICIAL_URLS[0], True
    elif is_url(chosen):
        archive = fetch_archive(chosen, workspace.downloads)
        expect_canonical = chosen in OFFICIAL_URLS
    else:
        path = local_source(chosen, workspace)
        archive, expect_canonical = (path, False) if path.is_file() else (None, False)
        folder = None if archive else path
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
        reused = _dataset_from_marker(final, marker)
        if reused is not None:
            return reused

    with staging_area(workspace, "the data") as staging:
        if archive is not None:
            _extract(archive, staging / "extracted")
            root = locate_dataset_root(staging / "extracted")
        else:
            root = staging / "copy"
            _copy_folder(folder, root)
        quarantine = staging / "quarantine"
        counts, issues = check_folder(root, quarantine, CANONICAL_COUNTS if expect_canonical else None)
        classes = sorted(counts["train"])
        dataset = Dataset(final, classes, counts, _describe(chosen, workspace), fingerprint, issues)
        install(staging, root, asdict(dataset), final, workspace.data / "quarantine")
        return dataset
