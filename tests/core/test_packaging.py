"""Packaging invariants: pinned requirements, environment.yml agreement, profiles, notebooks stored clean."""
from __future__ import annotations

import ast
import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from llie_core.core.provenance import path_replacements, portable_paths
from llie_core.core.profiles import PROFILE_DIR, PROFILE_NAMES, available_profiles, deep_merge, load_profile

REQUIRED_PACKAGES = {"torch", "torchvision", "lpips", "papermill", "jupyterlab", "ipykernel", "ipywidgets",
                     "matplotlib", "pandas", "seaborn", "scikit-image", "tqdm", "pyyaml", "pytest"}


def _requirements(repo_root: Path) -> list[str]:
    lines = (repo_root / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_requirements_are_pinned_and_complete(repo_root):
    reqs = _requirements(repo_root)
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][^\s]*", r) for r in reqs), reqs
    names = {r.split("==")[0].lower() for r in reqs}
    assert REQUIRED_PACKAGES <= names, REQUIRED_PACKAGES - names
    assert "torch==2.14.1" in reqs and "torchvision==0.29.1" in reqs


def test_environment_yml_pip_section_matches_requirements(repo_root):
    env = yaml.safe_load((repo_root / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    pinned = [p for p in pip_section if not p.startswith("-e")]
    assert sorted(pinned) == sorted(_requirements(repo_root))


def test_installed_torch_is_the_pinned_one():
    import torch
    import torchvision

    assert torch.__version__.split("+")[0] == "2.14.1"
    assert torchvision.__version__.split("+")[0] == "0.29.1"


def test_ci_runs_the_readme_test_command(repo_root):
    readme = (repo_root / "README.md").read_text()
    ci = (repo_root / ".ci" / "run").read_text()
    assert "make test" in readme and "make reproduce" in readme
    assert "LLIE_DATA_ROOT=../shared/data" in ci and re.search(r"^make test$", ci, re.M)


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_profiles_load_with_required_keys(name):
    """Every key the code reads is written in each YAML (none left to a dataclass default)."""
    cfg = load_profile(name)
    assert cfg.name == name
    raw = yaml.safe_load((PROFILE_DIR / f"{name}.yaml").read_text())
    for key in ("patch_size", "batch_size", "train", "eval_paired", "eval_unpaired", "synthetic", "val_images"):
        assert key in raw["data"], key
    for key in ("iterations", "precision", "seeds", "val_every", "ablation_budget_scale"):
        assert key in raw["train"], key
    assert cfg.data.eval_paired and cfg.data.eval_unpaired and cfg.train.seeds
    assert set(available_profiles()) >= set(PROFILE_NAMES)


def test_profile_overrides(tmp_path):
    cfg = load_profile("smoke", overrides={"train": {"iterations": 2}})
    assert cfg.train.iterations == 2 and cfg.train.val_every == 3  # merged, not replaced
    assert cfg.data.root is None
    assert load_profile("smoke", data_root=tmp_path).data.root == tmp_path.resolve()
    with pytest.raises(FileNotFoundError, match="unknown profile"):
        load_profile("nope")
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"b": 3}}) == {"a": {"b": 3, "c": 2}}


def _notebooks(repo_root: Path) -> list[Path]:
    nbs = sorted((repo_root / "notebooks").glob("*.ipynb"))
    assert nbs, "no notebooks found"
    return nbs


def test_notebooks_are_stored_without_outputs(repo_root):
    for path in _notebooks(repo_root):
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        dirty = [i for i, c in enumerate(nb.cells)
                 if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count"))]
        assert not dirty, f"{path.name}: cells {dirty} carry outputs; strip them"


def test_notebooks_have_one_typed_parameters_cell(repo_root):
    for path in _notebooks(repo_root):
        nb = nbformat.read(path, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: {len(tagged)} parameters cells"
        tree = ast.parse(tagged[0].source)
        assigns = [n for n in tree.body if not isinstance(n, ast.Expr)]
        assert assigns and all(isinstance(n, ast.AnnAssign) for n in assigns), f"{path.name}: untyped parameter"
        names = {n.target.id for n in assigns}
        assert {"profile", "root", "data_root", "weights_root"} <= names, f"{path.name}: {names}"
        assert nb.metadata["kernelspec"]["name"] == "llie-workbook"


def test_papermill_parses_every_parameter(repo_root):
    """papermill's own parser (used by `papermill --help-notebook` and parameter typing) must read every
    parameter; e.g. an '=' inside a trailing comment makes it drop the line silently."""
    import papermill

    for path in _notebooks(repo_root):
        params = papermill.inspect_notebook(str(path))
        assert {"profile", "root", "data_root", "weights_root"} <= set(params), (
            f"{path.name}: papermill sees only {set(params)}")
        assert all(p["inferred_type_name"] != "None" for p in params.values()), f"{path.name}: untyped"


def test_portable_paths_leaves_no_absolute_machine_path(tmp_path):
    """Result files keep paths relative to the project root: the root, the data root beside it and the Python
    environment are rewritten whole (a longer sibling name is left alone), other files are not touched."""
    root, data = tmp_path / "proj", tmp_path / "shared" / "data"
    results = root / "results" / "quick"
    results.mkdir(parents=True)
    (results / "t.json").write_text(json.dumps({"run_dir": f"{root}/results/quick/runs/x", "data": str(data),
                                                "other": f"{root}2/file", "python": sys.executable}))
    (results / "img.png").write_bytes(str(root).encode())
    (results / "clean.md").write_text("nothing absolute")
    changed = portable_paths(results, path_replacements(root, data_root=data, cache_dir=tmp_path / "elsewhere" / "x"))
    assert changed == ["t.json"]
    record = json.loads((results / "t.json").read_text())
    assert record["run_dir"] == "results/quick/runs/x" or record["run_dir"] == "./results/quick/runs/x"
    assert record["data"] == "../shared/data" and record["other"] == f"{root}2/file"
    assert not os.path.isabs(record["python"])
    assert (results / "img.png").read_bytes() == str(root).encode()
