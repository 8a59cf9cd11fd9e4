"""IDX reading and Fashion-MNIST checks (numpy only)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from alert.nn.data import DatasetError, Split, load_split, read_idx, write_idx


def test_round_trip_gzip_and_raw(tmp_path: Path) -> None:
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a.gz", "a"):
        write_idx(tmp_path / name, a)
        np.testing.assert_array_equal(read_idx(tmp_path / name), a)


def test_header_bytes_are_big_endian(tmp_path: Path) -> None:
    write_idx(tmp_path / "l", np.array([3, 7], dtype=np.uint8))
    raw = (tmp_path / "l").read_bytes()
    assert raw == bytes([0, 0, 8, 1, 0, 0, 0, 2, 3, 7])


def test_load_split_small_files(fake_data: Path) -> None:
    s = load_split(fake_data, "train", check_count=False)
    assert s.images.shape == (64, 28, 28) and s.labels.shape == (64,)
    x = s.normalized()
    assert x.shape == (64, 1, 28, 28) and x.dtype == np.float32
    two = Split(np.array([[[0] * 28] * 28, [[255] * 28] * 28], np.uint8), np.array([0, 1], np.uint8))
    z = two.normalized()
    assert np.allclose(z[0], -0.2860 / 0.3530) and np.allclose(z[1], (1 - 0.2860) / 0.3530)


def test_count_is_checked_by_default(fake_data: Path) -> None:
    with pytest.raises(DatasetError, match="64 examples, expected 60000") as e:
        load_split(fake_data, "train")
    assert e.value.field == "count"


def test_missing_folder_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="apt-get install dataset-fashion-mnist"):
        load_split(tmp_path / "nope", "train")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz: <file>: file not found"):
        load_split(tmp_path / "empty", "train")


def test_truncated_file(tmp_path: Path) -> None:
    write_idx(tmp_path / "x", np.zeros((3, 28, 28), np.uint8))
    raw = (tmp_path / "x").read_bytes()
    (tmp_path / "x").write_bytes(raw[:-5])
    with pytest.raises(DatasetError, match="header says shape") as e:
        read_idx(tmp_path / "x")
    assert e.value.field == "size"


def test_bad_magic_and_ndim(tmp_path: Path) -> None:
    (tmp_path / "m").write_bytes(bytes([0, 0, 0x0D, 1, 0, 0, 0, 0]))
    with pytest.raises(DatasetError, match="not an IDX header") as e:
        read_idx(tmp_path / "m")
    assert e.value.field == "magic"
    write_idx(tmp_path / "v", np.zeros(4, np.uint8))
    with pytest.raises(DatasetError, match="1 dimensions, expected 3"):
        read_idx(tmp_path / "v", expect_ndim=3)


def test_not_gzip(tmp_path: Path) -> None:
    (tmp_path / "f.gz").write_bytes(b"plain bytes, not gzip")
    with pytest.raises(DatasetError, match="cannot read"):
        read_idx(tmp_path / "f.gz")


def test_mismatched_counts_and_labels(fake_data: Path) -> None:
    write_idx(fake_data / "t10k-labels-idx1-ubyte.gz", np.zeros(5, np.uint8))
    with pytest.raises(DatasetError, match="5 labels for 32 images"):
        load_split(fake_data, "test", check_count=False)
    write_idx(fake_data / "t10k-labels-idx1-ubyte.gz", np.full(32, 12, np.uint8))
    with pytest.raises(DatasetError, match="label 12 outside 0..9"):
        load_split(fake_data, "test", check_count=False)


def test_wrong_image_shape(fake_data: Path) -> None:
    write_idx(fake_data / "t10k-images-idx3-ubyte.gz", np.zeros((32, 32, 32), np.uint8))
    with pytest.raises(DatasetError, match=r"images are \(32, 32\)"):
        load_split(fake_data, "test", check_count=False)


def test_raw_file_preferred_when_no_gz(fake_data: Path) -> None:
    gz = fake_data / "t10k-labels-idx1-ubyte.gz"
    raw = fake_data / "t10k-labels-idx1-ubyte"
    raw.write_bytes(gzip.decompress(gz.read_bytes()))
    gz.unlink()
    assert len(load_split(fake_data, "test", check_count=False)) == 32


@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz").exists(),
                    reason="dataset-fashion-mnist not installed")
def test_installed_test_split() -> None:
    s = load_split(split="test")
    assert len(s) == 10000 and np.bincount(s.labels).tolist() == [1000] * 10
