"""Damage derived from a run file's own layout: every dataset and every attribute the writer puts in a file is
deleted, retyped, cut, lengthened, or given a value outside its domain, one at a time. Whatever the writer adds
later is damaged here too without a new line of test code.

Each damaged file has its ``digest`` made anew (:func:`conftest.restamp`), as a writer with a bug would have left
it, so that what refuses it is the consistency check of its contents (:mod:`neurosim.runcheck`, and the
comparison with the layout the writer makes of the run read), not the digest. Each must be refused: a
:class:`RunFileError` of one line, and ``info`` and ``train --resume`` exit 1 with one ``Error:`` line and leave
the file as it was."""

import hashlib
import re
import shutil

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import restamp

from neurosim.cli import main
from neurosim.config import make_config
from neurosim.store import RunFileError, load_run, read_layout
from neurosim.training import train

#: A run with every part a file can hold: intralayer blocks with masks, skip connections, persistent states,
#: two epochs of history and rates.
RUN = dict(sizes=(64, 8, 6, 10), rewire_n=12, n_train=30, n_test=10, n_free=5, n_nudged=2, epochs=2, batch_size=10)


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    out = tmp_path_factory.mktemp("good") / "run.h5"
    train(make_config(**RUN), out=out, progress=False)
    return out


def _layout(path):
    with h5py.File(path, "r") as f:
        return read_layout(f)


def _replace(f, path, values):
    del f[path]
    f.create_dataset(path, data=values)


def dataset_damages(path: str, values: np.ndarray) -> dict:
    """Ways to damage the dataset ``path`` holding ``values``: name -> change(f)."""
    out = {"deleted": lambda f: f.__delitem__(path),
           "stored as text": lambda f: _replace(f, path, np.char.encode(values.astype(str), "ascii"))}
    if values.dtype.kind == "f":
        out["stored as int32"] = lambda f: _replace(f, path, np.nan_to_num(values).astype(np.int32))
        out["stored in the other float width"] = lambda f: _replace(
            f, path, values.astype(np.float64 if values.dtype == np.float32 else np.float32))
        if values.size:
            out["NaN"] = lambda f: _replace(f, path, np.where(np.arange(values.size).reshape(values.shape) == 0,
                                                              np.nan, values).astype(values.dtype))
    elif values.dtype.kind in "iu":
        out["stored as float"] = lambda f: _replace(f, path, values.astype(np.float64))
        if values.size:
            out["an index of -1"] = lambda f: _replace(f, path, np.where(values == values.flat[0], -1, values))
            out["an index past the end"] = lambda f: _replace(f, path, values + 10**6)
    elif values.dtype.kind == "b":
        out["stored as uint8"] = lambda f: _replace(f, path, values.astype(np.uint8))
        out["all False"] = lambda f: _replace(f, path, np.zeros_like(values))
    if values.ndim >= 1 and len(values):
        out["one row fewer"] = lambda f: _replace(f, path, values[:-1])
        out["one row more"] = lambda f: _replace(f, path, np.concatenate([values, values[-1:]]))
    if values.ndim == 2 and values.shape[1] > 1:
        out["one column fewer"] = lambda f: _replace(f, path, values[:, :-1])
    return out


def attribute_damages(path: str, name: str, value) -> dict:
    """Ways to damage the attribute ``name`` of the object ``path``."""
    where = lambda f: f if path == "" else f[path]  # noqa: E731
    value = np.asarray(value)
    out = {"deleted": lambda f: where(f).attrs.__delitem__(name)}
    if value.dtype.kind in "US":
        out["a number"] = lambda f: where(f).attrs.__setitem__(name, 12345)
    else:
        out["text"] = lambda f: where(f).attrs.__setitem__(name, "twelve")
        if value.dtype.kind in "iuf" and value.size:
            out["negative"] = lambda f: where(f).attrs.__setitem__(name, -1 - np.abs(value))
        if value.dtype.kind == "f" and value.size and not np.all(np.isnan(value)):
            out["NaN"] = lambda f: where(f).attrs.__setitem__(name, np.full_like(value, np.nan))
        if value.dtype.kind == "b":
            out["flipped"] = lambda f: where(f).attrs.__setitem__(name, ~value)
    return out


def every_damage(path) -> list:
    attrs, data = _layout(path)
    cases = [(f"/{p} {what}", change) for p, values in data.items()
             for what, change in dataset_damages(p, values).items()]
    cases += [(f"/{p} attribute {n} {what}", change) for p, group in attrs.items() for n, v in group.items()
              for what, change in attribute_damages(p, n, v).items()]
    cases.append(("an extra dataset", lambda f: f.create_dataset("network/extra", data=np.zeros(3))))
    cases.append(("format_version 99", lambda f: f.attrs.__setitem__("format_version", 99)))
    cases.append(("format_version 'two'", lambda f: f.attrs.__setitem__("format_version", "two")))
    return cases


#: Damage that only the data set can reveal: a persistent run's states count its training (test) examples, which
#: the file does not hold; ``train --resume`` compares them with the data and refuses in one line.
KNOWN_AT_USE = {"/state/free one row fewer", "/state/test one row fewer"}


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_damage_of_the_layout_is_refused_in_one_line(good, tmp_path):
    runner, unrefused, cases = CliRunner(), [], every_damage(good)
    assert len(cases) > 150  # the layout really was walked
    for label, change in cases:
        damaged = tmp_path / "damaged.h5"
        shutil.copyfile(good, damaged)
        with h5py.File(damaged, "r+") as f:
            change(f)
        before = _layout(damaged)
        if _same_layout(before, _layout(good)):
            continue  # the change changed nothing (a NaN where there was one)
        restamp(damaged)
        sha = _sha(damaged)
        try:
            load_run(damaged)
        except RunFileError as err:
            assert "\n" not in str(err) and str(damaged) in str(err), (label, str(err))
        else:
            if label not in KNOWN_AT_USE:
                unrefused.append(label)
                continue
        commands = [["info", str(damaged)]] if label not in KNOWN_AT_USE else []
        for args in commands + [["train", "--resume", str(damaged), "--epochs", "3"]]:
            result = runner.invoke(main, args)
            assert result.exit_code == 1 and result.output.startswith("Error: ") and \
                result.output.count("\n") == 1, (label, args[0], result.output)
        assert _sha(damaged) == sha, label
    assert not unrefused, unrefused


def _same_layout(a, b) -> bool:
    (attrs_a, data_a), (attrs_b, data_b) = a, b
    if set(data_a) != set(data_b) or attrs_a.keys() != attrs_b.keys():
        return False
    for p in data_a:
        x, y = np.asarray(data_a[p]), np.asarray(data_b[p])
        if x.dtype != y.dtype or x.shape != y.shape or not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
            return False
    for p in attrs_a:
        if attrs_a[p].keys() != attrs_b[p].keys():
            return False
        for n in attrs_a[p]:
            x, y = np.asarray(attrs_a[p][n]), np.asarray(attrs_b[p][n])
            if x.dtype != y.dtype or not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
                return False
    return True


def test_any_change_without_a_new_digest_is_refused(good, tmp_path):
    """A change that leaves the contents consistent (a weight moved, a learning rate rewritten in both places
    the configuration is stored) is still refused: the digest no longer matches."""
    changed = tmp_path / "changed.h5"
    shutil.copyfile(good, changed)
    with h5py.File(changed, "r+") as f:
        f["network/bias"][0] += 0.25
    with pytest.raises(RunFileError, match="digest does not match"):
        load_run(changed)
    restamp(changed)
    assert load_run(changed).network.bias[0] == load_run(good).network.bias[0] + np.float32(0.25)


def _rewrite_config(f, **changes):
    """Change settings in both places a run file stores its configuration (the JSON and the /config group), as a
    file whose configuration contradicts its arrays would have them."""
    import json

    from neurosim.store import _attr, flat_settings

    config = {**json.loads(f.attrs["config"]), **changes}
    f.attrs["config"] = json.dumps(config)
    f.attrs["seed"] = config["seed"]
    del f["config"]
    f.create_group("config").attrs.update({k: _attr(v) for k, v in flat_settings(config).items()})


@pytest.mark.parametrize("change, says", [
    (lambda f: _rewrite_config(f, seed=1), "not the one seed 1 generates"),
    (lambda f: _rewrite_config(f, sizes=[64, 8, 7, 10]), "sizes"),
    (lambda f: _rewrite_config(f, topology="layered", rewire_n=None), "topology"),
    (lambda f: _rewrite_config(f, dtype="float64"), "float64"),
    (lambda f: _rewrite_config(f, rewire_n=13), "not the one seed 0 generates"),
    (lambda f: f["history/test_error"].__setitem__(0, 2.0), "history/test_error holds 2.0"),
    (lambda f: f["history/epoch"].__setitem__(0, -1), "history/epoch is [-1, 2]"),
    (lambda f: f["network/sparse/j"].__setitem__(0, f["network/sparse/i"][0]), "itself"),
])
def test_a_configuration_contradicting_the_arrays_or_records_out_of_their_domain_are_refused(good, tmp_path,
                                                                                             change, says):
    damaged = tmp_path / "damaged.h5"
    shutil.copyfile(good, damaged)
    with h5py.File(damaged, "r+") as f:
        change(f)
    restamp(damaged)
    with pytest.raises(RunFileError, match=re.escape(says)):
        load_run(damaged)
