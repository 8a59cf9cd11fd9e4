"""Fashion-MNIST from local IDX files (numpy only; nothing is downloaded).

The Debian package ``dataset-fashion-mnist`` installs the four files into
``/usr/share/datasets/fashion-mnist/``. Files may be gzip-compressed (``*.gz``) or raw.
IDX layout: a 4-byte big-endian magic (0x0000 08 ndim: unsigned bytes, ndim dimensions),
``ndim`` big-endian uint32 sizes, then the bytes in C order.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_ROOT = Path("/usr/share/datasets/fashion-mnist")
INSTALL_HINT = ("install it with `apt-get install dataset-fashion-mnist` (files land in "
                f"{DEFAULT_ROOT}), or pass --data DIR pointing at a folder with the four IDX files")
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60000),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10000),
}
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
# Per-pixel statistics of the Fashion-MNIST training set (scaled to [0, 1]).
MEAN, STD = 0.2860, 0.3530


class DatasetError(ValueError):
    """A dataset file is missing or malformed; the message names the file, the field and the fix."""

    def __init__(self, path: str | Path, field: str, problem: str, fix: str) -> None:
        self.path, self.field, self.problem, self.fix = str(path), field, problem, fix
        super().__init__(f"{path}: {field}: {problem}. Fix: {fix}")


@dataclass(frozen=True)
class Split:
    """One split: ``images`` uint8 (n, 28, 28) and ``labels`` uint8 (n,)."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def normalized(self) -> np.ndarray:
        """Images as float32 (n, 1, 28, 28), standardised with the training-set MEAN and STD."""
        return ((self.images.astype(np.float32) / 255.0 - MEAN) / STD)[:, None, :, :]


def _resolve(root: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem):
        p = root / name
        if p.is_file():
            return p
    raise DatasetError(root / (stem + ".gz"), "<file>", "file not found", INSTALL_HINT)


def read_idx(path: str | Path, expect_ndim: int | None = None) -> np.ndarray:
    """Read one IDX file of unsigned bytes (gzip or raw) and check its header against its size."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DatasetError(path, "<file>", "file not found", INSTALL_HINT) from None
    except (OSError, EOFError) as e:
        raise DatasetError(path, "<file>", f"cannot read ({e})",
                           "the file is truncated or not gzip; reinstall dataset-fashion-mnist") from None
    if len(raw) < 4:
        raise DatasetError(path, "header", f"only {len(raw)} bytes", "the file is truncated; reinstall it")
    zero, dtype_code, ndim = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    if zero != 0 or dtype_code != 0x08:
        raise DatasetError(path, "magic", f"bytes {raw[:4].hex()} are not an IDX header of unsigned bytes "
                           "(expected 0000 08 0n)", "point at the *-ubyte IDX files, not another format")
    if expect_ndim is not None and ndim != expect_ndim:
        raise DatasetError(path, "magic", f"{ndim} dimensions, expected {expect_ndim}",
                           "images files have 3 dimensions, labels files 1; check the file names")
    head = 4 + 4 * ndim
    if len(raw) < head:
        raise DatasetError(path, "header", "header shorter than its dimension count", "reinstall the file")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    n = int(np.prod(shape)) if shape else 0
    if len(raw) - head != n:
        raise DatasetError(path, "size", f"header says shape {shape} ({n} bytes) but the file holds "
                           f"{len(raw) - head} data bytes", "the file is truncated or corrupt; reinstall it")
    return np.frombuffer(raw, dtype=np.uint8, offset=head).reshape(shape)


def load_split(root: str | Path = DEFAULT_ROOT, split: str = "train", check_count: bool = True) -> Split:
    """Load ``split`` ("train" or "test") from ``root``; checks shapes, label range and counts.

    ``check_count=False`` accepts files with any number of examples (used by tests).
    """
    if split not in FILES:
        raise ValueError(f"split must be one of {sorted(FILES)}, got {split!r}")
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(root, "<folder>", "folder not found", INSTALL_HINT)
    img_stem, lab_stem, count = FILES[split]
    img_path, lab_path = _resolve(root, img_stem), _resolve(root, lab_stem)
    images = read_idx(img_path, expect_ndim=3)
    labels = read_idx(lab_path, expect_ndim=1)
    if images.shape[1:] != (28, 28):
        raise DatasetError(img_path, "shape", f"images are {images.shape[1:]}, expected (28, 28)",
                           "use the Fashion-MNIST (or MNIST-format) files")
    if images.shape[0] != labels.shape[0]:
        raise DatasetError(lab_path, "count", f"{labels.shape[0]} labels for {images.shape[0]} images",
                           "the images and labels files do not belong together; reinstall them")
    if check_count and labels.shape[0] != count:
        raise DatasetError(lab_path, "count", f"{labels.shape[0]} examples, expected {count} for {split}",
                           "reinstall dataset-fashion-mnist")
    if labels.size and int(labels.max()) >= len(CLASSES):
        raise DatasetError(lab_path, "labels", f"label {int(labels.max())} outside 0..{len(CLASSES) - 1}",
                           "use the Fashion-MNIST label files")
    return Split(images, labels)


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzip when ``path`` ends in .gz); used to make test data."""
    path = Path(path)
    a = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, a.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in a.shape)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(header + a.tobytes())
