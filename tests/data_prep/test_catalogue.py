"""Dataset catalogue, layout discovery, pairing by name, status reports (fake trees + the shared data)."""
from __future__ import annotations

import dataclasses

import pytest

from data_prep import __main__ as cli
from data_prep.catalogue import DATASETS, get_spec
from data_prep.settings import DataSettings
from data_prep.synthetic import build_synthetic
from data_prep.testing import write_fake_images, write_fake_pairs
from data_prep.validate import (SHORT_REASON_MAX, DatasetError, check_dataset, list_images, list_pairs, pair_by_name,
                                short_reason, status_table)
from tests.helpers import TINY_SYNTHETIC

REQUIRED = ("lol_v1", "lol_v2_real", "lol_v2_synthetic", "fivek", "coco_lowlight", "lsrw", "ve_lol", "sice",
            "exdark", "dicm", "lime", "mef", "npe", "vv", "toys_flash", "synthetic")


def _status(name, root, split):
    (status,) = check_dataset(name, root, split)
    return status


# ----------------------------------------------------------------------------------------- catalogue
def test_catalogue_holds_every_dataset_with_its_facts():
    assert set(REQUIRED) <= set(DATASETS)
    for spec in DATASETS.values():
        assert spec.citation and spec.url and spec.licence and spec.title
        assert set(spec.splits) == set(spec.expected_count) and spec.splits
        assert all(layout.variants for layout in spec.splits.values())
        assert not spec.has_direct_download or (spec.download_url and spec.download_sha256)
    assert get_spec("lol_v1").expected_count == {"train": 485, "test": 15}
    assert (get_spec("dicm").expected_count["test"], get_spec("lime").expected_count["test"]) == (69, 10)
    assert not get_spec("sice").paired and get_spec("lol_v2_real").paired


def test_catalogue_is_immutable():
    with pytest.raises(TypeError):
        DATASETS["new"] = DATASETS["lol_v1"]  # type: ignore[index]
    with pytest.raises(TypeError):
        DATASETS["lol_v1"].splits["x"] = None  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        DATASETS["lol_v1"].paired = False  # type: ignore[misc]


def test_unknown_dataset_and_split_name_the_known_ones(tmp_path):
    with pytest.raises(KeyError, match="lol_v1"):
        get_spec("lol_v9")
    with pytest.raises(KeyError, match="train, test"):
        check_dataset("lol_v1", tmp_path, split="val")


# ------------------------------------------------------------------------------------------- pairing
def test_pair_by_name_uses_natural_order(tmp_path):
    low = write_fake_images(tmp_path / "low", ["10.png", "2.png", "1.png"])
    high = write_fake_images(tmp_path / "high", ["1.png", "10.png", "2.png"])
    pairs = pair_by_name(low, high)
    assert [lo.name for lo, _ in pairs] == ["1.png", "2.png", "10.png"]
    assert all(lo.name == hi.name for lo, hi in pairs)


def test_pair_by_name_matches_lol_v2_prefixes_and_ignores_extensions(tmp_path):
    low = write_fake_images(tmp_path / "Low", ["low00690.png", "low00701.png"])
    high = write_fake_images(tmp_path / "Normal", ["normal00701.png", "normal00690.jpg"])
    pairs = pair_by_name(low, high)
    assert [(lo.name, hi.name) for lo, hi in pairs] == [("low00690.png", "normal00690.jpg"),
                                                       ("low00701.png", "normal00701.png")]


def test_unmatched_names_raise_listing_them(tmp_path):
    low = write_fake_images(tmp_path / "low", ["1.png", "2.png", "3.png"])
    high = write_fake_images(tmp_path / "high", ["1.png", "4.png"])
    with pytest.raises(DatasetError) as info:
        pair_by_name(low, high)
    message = str(info.value)
    assert "2.png, 3.png" in message and "4.png" in message and "Fix:" in message


def test_duplicate_stems_are_an_error(tmp_path):
    low = write_fake_images(tmp_path / "low", ["1.png", "1.jpg"])
    with pytest.raises(DatasetError, match="share the name"):
        pair_by_name(low, write_fake_images(tmp_path / "high", ["1.png"]))


# -------------------------------------------------------------------------------------- fake layouts
@pytest.mark.parametrize("low, high", [("LOLv1/eval15/low", "LOLv1/eval15/high"),
                                       ("LOL/eval15/low", "LOL/eval15/normal"),
                                       ("lol/Eval15/Low", "lol/Eval15/High"),
                                       ("LOLv1/Test/input", "LOLv1/Test/target")])
def test_lol_v1_layout_variants_are_found(tmp_path, low, high):
    write_fake_pairs(tmp_path, low, high, [f"{i}.png" for i in (1, 22, 111)])
    status = _status("lol_v1", tmp_path, "test")
    assert (status.state, status.n_items) == ("partial", 3)  # 3 of 15
    assert [lo.name for lo, _ in list_pairs("lol_v1", tmp_path, "test")] == ["1.png", "22.png", "111.png"]
    assert _status("lol_v1", tmp_path, "train").state == "missing"


def test_full_count_is_found_and_subset_folder_is_partial(tmp_path):
    write_fake_pairs(tmp_path, "LOLv1/eval15/low", "LOLv1/eval15/high", [f"{i}.png" for i in range(15)])
    write_fake_pairs(tmp_path, "LOLv1/our485_subset/low", "LOLv1/our485_subset/high", ["1.png"])
    assert _status("lol_v1", tmp_path, "test").state == "found"
    train = _status("lol_v1", tmp_path, "train")
    assert train.state == "partial" and "subset" in train.reason and train.fix


def test_lol_v2_prefix_variants(tmp_path):
    write_fake_pairs(tmp_path, "LOL-v2/Real_captured/Test/Low", "LOL-v2/Real_captured/Test/Normal",
                     ["low00690.png", "low00691.png"], high_names=["normal00690.png", "normal00691.png"])
    pairs = list_pairs("lol_v2_real", tmp_path, "test")
    assert [(lo.name, hi.name) for lo, hi in pairs] == [("low00690.png", "normal00690.png"),
                                                       ("low00691.png", "normal00691.png")]
    folder = tmp_path / "LOLv2/Synthetic/Test"
    write_fake_images(folder, ["low1.png", "low2.png", "normal1.png", "normal2.png"])
    assert [(lo.name, hi.name) for lo, hi in list_pairs("lol_v2_synthetic", tmp_path, "test")] == [
        ("low1.png", "normal1.png"), ("low2.png", "normal2.png")]


def test_grouped_layout_keeps_both_cameras(tmp_path):
    for camera in ("Huawei", "Nikon"):
        write_fake_pairs(tmp_path, f"LSRW/Eval/{camera}/low", f"LSRW/Eval/{camera}/high", ["1.jpg", "2.jpg"])
    pairs = list_pairs("lsrw", tmp_path, "test")
    assert len(pairs) == 4 and {lo.parent.parent.name for lo, _ in pairs} == {"Huawei", "Nikon"}


def test_unmatched_pairs_make_the_split_invalid(tmp_path):
    write_fake_pairs(tmp_path, "LOLv1/eval15/low", "LOLv1/eval15/high", ["1.png", "2.png"], high_names=["1.png"])
    status = _status("lol_v1", tmp_path, "test")
    assert status.state == "invalid" and "2.png" in status.reason and status.fix
    with pytest.raises(DatasetError, match="2.png"):
        list_pairs("lol_v1", tmp_path, "test")


def test_size_mismatch_is_invalid_and_names_both_files(tmp_path):
    write_fake_images(tmp_path / "LOLv1/eval15/low", ["1.png"], size=(4, 6))
    write_fake_images(tmp_path / "LOLv1/eval15/high", ["1.png"], size=(4, 8))
    status = _status("lol_v1", tmp_path, "test")
    assert status.state == "invalid"
    assert "size mismatch" in status.problems[0]
    assert str(tmp_path / "LOLv1/eval15/low/1.png") in status.problems[0]
    assert str(tmp_path / "LOLv1/eval15/high/1.png") in status.problems[0]


def test_missing_high_folder_is_invalid(tmp_path):
    write_fake_images(tmp_path / "LOLv1/eval15/low", ["1.png"])
    status = _status("lol_v1", tmp_path, "test")
    assert status.state == "invalid" and "partner folder" in status.reason


def test_corrupt_files_are_reported_and_deep_decodes(tmp_path):
    names = [f"{i}.png" for i in range(10)]
    write_fake_images(tmp_path / "LIME", names)
    data = (tmp_path / "LIME/3.png").read_bytes()
    (tmp_path / "LIME/3.png").write_bytes(data[:60])  # header intact, pixels cut
    assert _status("lime", tmp_path, "test").state == "found"  # 10 of 10, headers readable
    (deep,) = check_dataset("lime", tmp_path, "test", deep=True)
    assert deep.state == "invalid" and "3.png" in deep.problems[0]


def test_non_image_files_are_reported_not_silently_skipped(tmp_path):
    write_fake_images(tmp_path / "DICM", ["1.jpg", "2.jpg"])
    (tmp_path / "DICM/readme.txt").write_text("x")
    (tmp_path / "DICM/.DS_Store").write_text("x")
    status = _status("dicm", tmp_path, "test")
    assert status.n_items == 2 and status.state == "partial"
    assert any("readme.txt" in p for p in status.problems)
    assert [p.name for p in list_images("dicm", tmp_path)] == ["1.jpg", "2.jpg"]


def test_missing_dataset_errors_name_the_folder_and_the_fix(tmp_path):
    with pytest.raises(DatasetError) as info:
        list_pairs("lol_v1", tmp_path, "test")
    assert str(tmp_path) in str(info.value) and "Fix:" in str(info.value)
    with pytest.raises(DatasetError, match="LLIE_DATA_ROOT"):
        list_pairs("lol_v1", None, "test")
    with pytest.raises(DatasetError, match="unpaired"):
        list_pairs("dicm", tmp_path, "test")


# ------------------------------------------------------------------------------------- status tables
def test_status_on_an_empty_root_is_all_missing_with_fixes(tmp_path):
    table = status_table(tmp_path)
    real = table[table["name"] != "synthetic"]
    assert set(real["state"]) == {"missing"}
    assert real["fix"].str.len().min() > 20 and (real["n_items"] == 0).all()
    assert len(table) == sum(len(spec.splits) for spec in DATASETS.values())


def test_cli_status_exits_zero_when_everything_is_missing(tmp_path, capsys):
    assert cli.main(["status", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "lol_v1" in out and "missing" in out and "how to fix" in out


def test_cli_status_of_chosen_datasets_with_a_cache(tmp_path, capsys, monkeypatch):
    """``--datasets a,b`` restricts the rows; the embedded set is found in ``--cache-dir`` (else
    ``$LLIE_CACHE_DIR``, read by the CLI); an unknown name exits 2 and names the registered ones."""
    monkeypatch.delenv("LLIE_DATA_ROOT", raising=False)
    cache = tmp_path / "cache"
    build_synthetic(cache, **TINY_SYNTHETIC)
    assert cli.main(["status", "--datasets", "lol_v1,synthetic", "--cache-dir", str(cache)]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.split() and line.split()[0] in DATASETS]
    assert sorted({r[0] for r in rows}) == ["lol_v1", "synthetic"] and "dicm" not in out
    assert "data root: (none" in out and ["synthetic", "test", "found"] == rows[-1][:3]
    monkeypatch.setenv("LLIE_CACHE_DIR", str(cache))
    assert cli.main(["status", "--datasets", "synthetic"]) == 0
    assert "found" in capsys.readouterr().out
    assert cli.main(["status", "--datasets", "lol_v1,nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_cli_download_explains_manual_datasets(capsys):
    assert cli.main(["download", "lol_v1"]) == 1
    out = capsys.readouterr().out
    assert "daooshee.github.io" in out and "LOLv1/eval15/low" in out
    assert cli.main(["download", "nope"]) == 2


# ------------------------------------------------------------------------------------------ Toys (JCRNet)
def test_toys_entry_says_it_is_not_public_and_whom_to_ask():
    spec = get_spec("toys_flash")
    assert spec.paired and not spec.public and spec.expected_count == {"test": None}
    assert "JCRNet authors" in spec.url and "Joint Correcting and Refinement" in spec.citation
    assert "flash" in spec.notes and "JCRNet" in spec.used_by


@pytest.mark.parametrize("low, high", [("Toys/low", "Toys/high"), ("toys/Low", "toys/Normal"),
                                       ("Toys/test/input", "Toys/test/target")])
def test_toys_folder_with_pairs_is_found_and_validated(tmp_path, low, high):
    write_fake_pairs(tmp_path, low, high, ["toy1.png", "toy2.png", "toy10.png"])
    status = _status("toys_flash", tmp_path, "test")
    assert (status.state, status.n_items, status.problems) == ("found", 3, [])  # any count is accepted
    assert [lo.name for lo, _ in list_pairs("toys_flash", tmp_path, "test")] == ["toy1.png", "toy2.png", "toy10.png"]


def test_toys_with_unmatched_or_mis_sized_pairs_is_invalid(tmp_path):
    write_fake_pairs(tmp_path, "Toys/low", "Toys/high", ["1.png", "2.png"], high_names=["1.png"])
    assert _status("toys_flash", tmp_path, "test").state == "invalid"
    write_fake_images(tmp_path / "Toys/high", ["2.png"], size=(4, 8))
    status = _status("toys_flash", tmp_path, "test")
    assert status.state == "invalid" and "size mismatch" in status.problems[0]


def test_cli_status_lists_toys_as_missing_with_the_reason_and_the_fix(tmp_path, capsys):
    assert cli.main(["status", "--root", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = next(line for line in lines if line.lstrip().startswith("toys_flash "))
    assert "missing" in row and "no public release" in row and str(tmp_path) in row
    fix = next(line for line in lines if line.strip().startswith("toys_flash/test [missing]:"))
    assert "no public release" in fix and "ask the JCRNet authors" in fix and "Toys/low + Toys/high" in fix
    assert cli.main(["download", "toys_flash"]) == 1
    out = capsys.readouterr().out
    assert "not publicly released" in out and "JCRNet authors" in out and "any number of items" in out


# ------------------------------------------------------------------------------------------ short reasons
def test_every_absent_dataset_has_an_informative_reason_and_a_short_one(tmp_path):
    table = status_table(tmp_path)
    for row in table[table["name"] != "synthetic"].itertuples():
        spec = get_spec(row.name)
        assert str(tmp_path) in row.reason and spec.url in row.fix and spec.splits[row.split].variants[0].describe() \
            in row.fix, row
        line = short_reason(row.name, tmp_path, row.split)
        head, tail = f"not run: {row.name} not found under ", f"{'' if spec.public else ' (not public)'}; see " \
                                                               "python -m data_prep status"
        assert line.startswith(head) and line.endswith(tail), line
        where = line[len(head): -len(tail)]  # the root, its start cut to '...' when the line would be too long
        assert where == str(tmp_path) or (where.startswith("...") and str(tmp_path).endswith(where[3:])), line
        assert len(line) <= SHORT_REASON_MAX and "\n" not in line


def test_short_reason_cases(tmp_path):
    long_root = tmp_path / ("very_long_folder_name_" * 8)
    line = short_reason("lol_v2_real", long_root)
    assert len(line) <= SHORT_REASON_MAX and line.startswith("not run: lol_v2_real not found under ...")
    assert line.endswith("_name_; see python -m data_prep status")
    assert short_reason("lol_v1", None).startswith("not run: lol_v1 needs a data root ($LLIE_DATA_ROOT)")
    assert short_reason("sod_sets", tmp_path) == "not run: sod_sets is not registered in data_prep (no known source)"
    assert short_reason("synthetic", None) == ""  # built on first use
    write_fake_pairs(tmp_path, "LOLv1/eval15/low", "LOLv1/eval15/high", ["1.png"])
    data = DataSettings(root=tmp_path)
    assert short_reason("lol_v1", data) == ""  # partial (1 of 15) is usable
    assert short_reason("lol_v1", data, "train").startswith("not run: lol_v1 not found under")
    write_fake_pairs(tmp_path, "Toys/low", "Toys/high", ["1.png"], high_names=["2.png"])
    assert short_reason("toys_flash", tmp_path).startswith("not run: toys_flash is invalid under")
    (tmp_path / "DICM").mkdir()
    assert short_reason("dicm", tmp_path).startswith("not run: dicm has no images under")


@pytest.mark.real_data
def test_status_table_on_the_shared_data(real_data_root):
    table = status_table(real_data_root).set_index(["name", "split"])

    def row(name, split="test"):
        return table.loc[(name, split), "state"], table.loc[(name, split), "n_items"]

    assert row("lol_v1") == ("found", 15)
    assert row("lol_v1", "train") == ("partial", 202)
    assert table.loc[("lol_v1", "train"), "expected"] == 485
    assert row("dicm") == ("partial", 64)
    assert row("lime") == ("partial", 9)
    assert row("fivek") == ("partial", 8)
    assert row("sice") == ("found", 14)
    assert row("lol_v2_real") == ("missing", 0)
    assert not (table["state"] == "invalid").any()


@pytest.mark.real_data
def test_shared_lol_pairs_are_matched_by_name(real_data_root):
    pairs = list_pairs("lol_v1", real_data_root, "test")
    assert [lo.stem for lo, _ in pairs][:4] == ["1", "22", "23", "55"]
    assert all(lo.name == hi.name and lo.parent.name == "low" for lo, hi in pairs)
    assert len(list_images("sice", real_data_root)) == 14


def test_cli_status_exits_nonzero_when_a_dataset_is_invalid(tmp_path, capsys):
    """Issue 18, defect 8: an invalid dataset (present but unusable) makes ``status`` exit 1 (missing ones do
    not: a run falls back to the embedded set), so scripts and CI notice it."""
    write_fake_pairs(tmp_path, "LOLv1/eval15/low", "LOLv1/eval15/high", ["1.png", "2.png"], high_names=["1.png"])
    assert cli.main(["status", "--root", str(tmp_path), "--datasets", "lol_v1"]) == 1
    assert "invalid" in capsys.readouterr().out
    assert cli.main(["status", "--root", str(tmp_path)]) == 1
    assert cli.main(["status", "--root", str(tmp_path), "--datasets", "lime"]) == 0  # only missing
