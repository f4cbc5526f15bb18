"""A run keeps the identity of its data, not its path (issue 42, item 3): the same IDX files moved elsewhere resume,
export and evaluate from there; other data is refused in one line; a run file whose digest was removed is damaged."""

import gzip
import shutil

import h5py
import pytest
from click.testing import CliRunner
from conftest import mnist_dir, restamp  # noqa: F401 (mnist_dir: a fixture)

from neurosim.cli import main
from neurosim.store import load_run

TINY = ["--dataset", "mnist", "--n-train", "60", "--n-test", "30", "--sizes", "784-8-10", "--topology", "layered",
        "--engine", "fixedpoint", "--n-free", "5", "--quiet"]


def copy_of(source, target):
    target.mkdir()
    for f in source.glob("*idx*"):
        shutil.copy(f, target / f.name)
    return target


def test_the_same_data_moved_resumes_exports_and_evaluates_from_its_new_place(mnist_dir, tmp_path):
    first = copy_of(mnist_dir, tmp_path / "first")
    cli = CliRunner()
    done = cli.invoke(main, ["train", *TINY, "--epochs", "1", "--data-dir", str(first), "-o", str(tmp_path / "r.h5")])
    assert done.exit_code == 0, done.output
    digest = load_run(tmp_path / "r.h5").data_digest
    assert len(digest) == 64
    moved = tmp_path / "moved"
    first.rename(moved)
    resumed = cli.invoke(main, ["train", "--resume", str(tmp_path / "r.h5"), "--epochs", "2", "--data-dir", str(moved)])
    assert resumed.exit_code == 0, resumed.output
    run = load_run(tmp_path / "r.h5")
    assert run.epochs_done == 2 and run.config["data_dir"] == str(moved) and run.data_digest == digest
    exported = cli.invoke(main, ["export", str(tmp_path / "r.h5"), "--example", "0", "-o", str(tmp_path / "e.cir")])
    assert exported.exit_code == 0, exported.output  # the run now records where its data is
    evaluated = cli.invoke(main, ["evaluate", str(tmp_path / "r.h5"), "--hardware", "ideal"])
    assert evaluated.exit_code == 0, evaluated.output


def test_other_data_is_refused_in_one_line(mnist_dir, tmp_path):
    cli = CliRunner()
    done = cli.invoke(main, ["train", *TINY, "--epochs", "1", "--data-dir", str(mnist_dir), "-o", str(tmp_path / "r.h5")])
    assert done.exit_code == 0, done.output
    other = copy_of(mnist_dir, tmp_path / "other")
    labels = other / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(gzip.decompress(labels.read_bytes()))
    data[-1] = (data[-1] + 1) % 10  # one label of 70,000 changed
    labels.write_bytes(gzip.compress(bytes(data)))
    for args in (["train", "--resume", str(tmp_path / "r.h5"), "--epochs", "2", "--data-dir", str(other)],
                 ["export", str(tmp_path / "r.h5"), "--example", "0", "-o", str(tmp_path / "e.cir"), "--data-dir",
                  str(other)],
                 ["evaluate", str(tmp_path / "r.h5"), "--hardware", "ideal", "--data-dir", str(other)]):
        refused = cli.invoke(main, args)
        lines = refused.output.strip().splitlines()
        assert refused.exit_code == 1 and lines[-1].startswith("Error: ") and "not the data this run trained on" in \
            lines[-1], (args, refused.output)
    assert load_run(tmp_path / "r.h5").epochs_done == 1 and not (tmp_path / "e.cir").exists()


def test_a_run_file_without_its_data_digest_is_damaged(tmp_path):
    cli = CliRunner()
    done = cli.invoke(main, ["train", "--dataset", "digits", "--n-train", "40", "--n-test", "20", "--sizes", "64-4-10",
                             "--epochs", "1", "--quiet", "-o", str(tmp_path / "r.h5")])
    assert done.exit_code == 0, done.output
    with h5py.File(tmp_path / "r.h5", "r+") as f:
        del f.attrs["data_digest"]
    restamp(tmp_path / "r.h5")
    with pytest.raises(Exception, match="data_digest"):
        load_run(tmp_path / "r.h5")
