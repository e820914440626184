"""The dry run of a profile (``python -m llie_core.workbook run --profile paper --dry-run``, ``make paper-dry-run``):
the notebooks load ``<profile>-dry-run`` (the profile's recipes, 2 iterations per stage, 1 image per test set, 1
seed) and write into ``results/<profile>-dry-run``, never into ``results/<profile>``; every training record says
``dry_run: true``. ``make paper-dry-run`` executes every notebook of the ``paper`` profile that way; it is a make
target, not a test: at the paper's widths and batch sizes one training iteration costs minutes on a 2-core CPU (on
a busy 2-core machine JCRNet, batch 10 of 256 px, had not finished its first iteration after 8 minutes, at 15 GB)
and 11_jcrnet alone trains 11 runs. The slow test below dry-runs the paper training recipe of every method instead
(every stage, 2 iterations, loaded back as evaluation loads it)."""
from __future__ import annotations

import json

import nbformat
import pytest

from llie_core.core.profiles import load_profile
from llie_core.training.recipes import available_methods, train_method
from llie_core.training.trained import load_trained
from llie_core.workbook import runner as workbook


def _write_notebook(path, source):
    cells = [nbformat.v4.new_code_cell('profile: str = "smoke"\nroot: str = ""\ndata_root: str = ""\n'
                                       'weights_root: str = ""'), nbformat.v4.new_code_cell(source)]
    cells[0].metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def test_a_dry_run_passes_the_dry_run_profile_and_writes_beside_the_real_results(tmp_path, monkeypatch):
    monkeypatch.delenv("LLIE_DATA_ROOT", raising=False)
    _write_notebook(tmp_path / "notebooks" / "00_seen.ipynb",
                    "import json\nfrom llie_core.workbook.context import start\n"
                    "ctx = start('00_seen', profile, root, data_root, weights_root)\n"
                    "(ctx.results / 'seen.json').write_text(json.dumps({'profile': profile, 'name': ctx.profile_name, "
                    "'dry_run': ctx.profile.dry_run, 'max_iterations': ctx.profile.train.max_iterations, "
                    "'seeds': list(ctx.profile.train.seeds)}))")
    run = workbook.run_workbook("smoke", root=tmp_path, kernel="python3", dry_run=True)
    assert run.ok and run.profile == "smoke-dry-run" and run.dry_run
    seen = json.loads((tmp_path / "results" / "smoke-dry-run" / "seen.json").read_text())
    assert seen == {"profile": "smoke-dry-run", "name": "smoke", "dry_run": True, "max_iterations": 2, "seeds": [0]}
    manifest = json.loads((tmp_path / "results" / "smoke-dry-run" / "manifest.json").read_text())
    assert manifest["dry_run"] is True and manifest["profile"] == "smoke-dry-run"
    assert not (tmp_path / "results" / "smoke").exists()


@pytest.mark.slow
@pytest.mark.parametrize("method", available_methods())
def test_every_paper_recipe_trains_in_a_dry_run(method, tmp_path, real_data_root):
    """The paper recipe (paper widths, patches, batches, losses, schedules) of every stage, 2 iterations each."""
    profile = load_profile("paper-dry-run", data_root=real_data_root, cache_dir=tmp_path / "cache")
    run = train_method(method, profile, tmp_path / "runs")
    trained = [r for r in run.stages.values() if not isinstance(r, str)]
    assert trained and all(r.iterations_done == 2 and r.stopped_reason == "completed" for r in trained)
    assert all(json.loads((r.run_dir / "run.json").read_text())["dry_run"] is True for r in trained)
    assert json.loads((run.run_dir / "recipe.json").read_text())["dry_run"] is True
    load_trained(method, "paper", tmp_path / "runs")     # evaluation can load what the dry run trained
