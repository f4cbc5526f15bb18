import gzip

import numpy as np
import pytest

from neurosim.data import DataError, load_dataset, read_idx


def test_mnist_reader_on_the_real_files(mnist_dir):
    data = load_dataset("mnist", mnist_dir)
    assert data.x_train.shape == (60000, 784) and data.x_test.shape == (10000, 784)
    assert list(data.y_train[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert list(data.y_test[:10]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0
    counts = np.bincount(data.y_train, minlength=10)
    assert list(counts) == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_subset_takes_the_first_examples(mnist_dir):
    data = load_dataset("mnist", mnist_dir, n_train=100, n_test=7)
    assert len(data.x_train) == 100 and len(data.y_test) == 7
    assert list(data.y_train[:3]) == [5, 0, 4]
    with pytest.raises(DataError, match="n_train=70000"):
        load_dataset("mnist", mnist_dir, n_train=70000)


def write_idx(path, array, compress):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return payload


@pytest.mark.parametrize("compress", [True, False])
def test_idx_round_trip(tmp_path, compress):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.idx", a, compress)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx"), a)


def test_truncated_file_is_named(tmp_path):
    payload = write_idx(tmp_path / "full", np.zeros((3, 4, 4)), compress=False)
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(payload[:-5])
    with pytest.raises(DataError, match="train-images-idx3-ubyte: truncated"):
        read_idx(bad)
    gz = tmp_path / "cut.gz"
    gz.write_bytes(gzip.compress(payload)[:-9])
    with pytest.raises(DataError, match="cut.gz"):
        read_idx(gz)


def test_wrong_magic_is_named(tmp_path):
    bad = tmp_path / "labels"
    bad.write_bytes(b"\x12\x34\x08\x01" + b"\x00" * 8)
    with pytest.raises(DataError, match="labels: not an IDX file"):
        read_idx(bad)


def test_missing_directory_and_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("mnist", tmp_path / "nowhere")
    with pytest.raises(DataError, match="train-images-idx3-ubyte"):
        load_dataset("mnist", tmp_path)
    with pytest.raises(DataError, match="--data-dir"):
        load_dataset("mnist")
    with pytest.raises(DataError, match="dataset='cifar'"):
        load_dataset("cifar")


def test_digits_is_bundled_and_scaled():
    data = load_dataset("digits")
    assert data.n_inputs == 64 and len(data.x_train) + len(data.x_test) == 1797
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0


def write_typed_idx(path, array, code):
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(array.dtype.newbyteorder(">")).tobytes())


@pytest.mark.parametrize("case, says", [
    ("float labels", "labels hold float32 values"),
    ("sizes differ", "training images of 784 pixels, test images of 196"),
])
def test_an_mnist_directory_that_does_not_fit_together_is_refused_in_one_line(tmp_path, case, says):
    rng = np.random.default_rng(0)
    write_idx(tmp_path / "train-images-idx3-ubyte", rng.integers(0, 255, (5, 28, 28)), compress=False)
    write_idx(tmp_path / "t10k-images-idx3-ubyte",
              rng.integers(0, 255, (3, 14, 14) if case == "sizes differ" else (3, 28, 28)), compress=False)
    labels = np.array([1, 2, 3, 4, np.nan if case == "float labels" else 5], dtype=np.float32)
    if case == "float labels":
        write_typed_idx(tmp_path / "train-labels-idx1-ubyte", labels, 0x0D)
    else:
        write_idx(tmp_path / "train-labels-idx1-ubyte", labels, compress=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([0, 1, 2]), compress=False)
    with pytest.raises(DataError, match=says):
        load_dataset("mnist", tmp_path)
