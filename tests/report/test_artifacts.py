"""The catalogue of tables and figures: well-formed, complete against the documents and the ledger, and
``missing_outputs`` finds what a profile did not write."""
from __future__ import annotations

import json
import re

import pytest

from llie_core.core.profiles import load_profile
from llie_core.report import artifacts as A
from llie_core.report.ledger import reported_tables


def test_ids_are_unique_and_fields_are_valid():
    ids = [a.id for a in A.ARTIFACTS]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    for a in A.ARTIFACTS:
        assert a.paper in A.PAPERS and a.kind in A.KINDS, a.id
        assert re.fullmatch(r"[a-z0-9_]+", a.id), a.id
        assert a.shows.strip(), a.id
        for profile in A.PROFILES:
            A.state(a.status.of(profile))  # raises on an unknown status word


def test_notebooks_exist_or_are_explicitly_pending(repo_root):
    present = {p.stem for p in (repo_root / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    for a in A.ARTIFACTS:
        if a.notebook is not None:
            assert a.notebook in present | A.PENDING_NOTEBOOKS, (a.id, a.notebook)
    assert not (A.PENDING_NOTEBOOKS & present), f"merged notebooks still pending: {A.PENDING_NOTEBOOKS & present}"


def test_output_names_follow_the_conventions():
    for a in A.ARTIFACTS:
        for out in a.outputs:
            assert A.OUTPUT_PATTERN.match(out), (a.id, out)
            assert out.startswith("tables/" if a.kind == "table" else "figures/") or out.endswith((".md", ".tex")), \
                (a.id, out)
        method = next((m for m, nb in A.METHOD_NOTEBOOKS.items() if nb == a.notebook), None)
        if method is None:
            continue
        for out in a.outputs:
            stem = A.output_stem(out)
            assert stem.startswith(f"{method}_") or (method == "iclr" and stem.startswith("cidnet_")), (a.id, out)
        number = A.label_number(a.label)
        if number is not None:
            expected = f"{a.paper}_table{number}" if a.kind == "table" else f"{a.paper}_fig{number}_"
            assert any(A.output_stem(o).startswith(expected) for o in a.outputs) or a.id.endswith("fig1"), \
                (a.id, a.outputs, expected)


def test_statuses_are_consistent_with_outputs():
    for a in A.ARTIFACTS:
        states = {A.state(a.status.of(p)) for p in A.PROFILES}
        if a.notebook is None:
            assert a.outputs == () and states <= {"not reproducible", "not run"}, a.id
        else:
            assert a.outputs, a.id
            assert "not reproducible" not in states, a.id
        for p in A.PROFILES:
            status = a.status.of(p)
            if A.state(status) != "reproduced":
                assert ":" in status and status.split(":", 1)[1].strip(), (a.id, p, status)


def test_architecture_diagrams_are_not_reproducible_and_have_no_outputs():
    for artifact_id in ("frlie_fig3", "jcrnet_fig2", "jcrnet_fig3"):
        a = A.get(artifact_id)
        assert a.notebook is None and a.outputs == ()
        assert a.status.of("paper") == "not reproducible: architecture diagram"


def test_every_numbered_table_and_figure_of_the_papers_is_registered(shared_root):
    expected = {("frlie", "table", n) for n in (1, 2)} | {("frlie", "figure", n) for n in range(1, 6)}
    expected |= {("jcrnet", "table", n) for n in range(1, 10)} | {("jcrnet", "figure", n) for n in range(1, 19)}
    registered = {(a.paper, a.kind, A.label_number(a.label)) for a in A.PAPER_ARTIFACTS}
    assert expected <= registered, sorted(expected - registered)
    # the documents really number them so (no more, no fewer)
    frlie = (shared_root / "seeds" / "frlie_2022_paper.txt").read_text(encoding="utf-8")
    jcrnet = (shared_root / "seeds" / "jcrnet_2023_paper.txt").read_text(encoding="utf-8")
    assert {int(n) for n in re.findall(r"\*\*Fig\. (\d+):", frlie)} == set(range(1, 6))
    assert {int(n) for n in re.findall(r"^Fig\. (\d+)\. ", jcrnet, flags=re.M)} == set(range(1, 19))
    assert {A.ROMAN[n] for n in re.findall(r"^TABLE ([IVX]+)$", jcrnet, flags=re.M)} == set(range(1, 10))


def test_every_ledger_table_is_compared_exactly_once():
    keys = {(row.paper, row.table) for row in reported_tables().itertuples()}
    claimed = [k for a in A.PAPER_ARTIFACTS for k in a.ledger]
    assert len(claimed) == len(set(claimed))
    assert keys == set(claimed), (keys - set(claimed), set(claimed) - keys)
    for paper, table in keys:
        a = A.by_ledger_table(paper, table)
        assert A.comparison_name(a) in {x.id for x in A.ARTIFACTS}


def test_shared_outputs_belong_to_one_notebook():
    owner: dict[str, str] = {}
    for a in A.ARTIFACTS:
        for out in a.outputs:
            assert owner.setdefault(out, a.notebook) == a.notebook, (out, owner[out], a.notebook)


def test_missing_outputs_lists_absent_and_empty_files_of_the_profile(tmp_path):
    expected = A.expected_outputs("smoke", notebooks={"00_data_prep", "05_baselines"})
    assert set(expected) == {"tables/data_inventory.csv", "figures/data_samples.png", "figures/data_histograms.png",
                             "tables/baselines.csv", "figures/baselines_lol_psnr.png",
                             "figures/baselines_qualitative.png"}
    for rel in expected:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    assert A.missing_outputs(tmp_path, "smoke", notebooks={"00_data_prep", "05_baselines"}) == []
    (tmp_path / "figures/data_samples.png").write_text("")
    (tmp_path / "tables/baselines.csv").unlink()
    assert sorted(A.missing_outputs(tmp_path, "smoke", notebooks={"00_data_prep", "05_baselines"})) == \
        ["figures/data_samples.png", "tables/baselines.csv"]


def test_not_run_and_not_reproducible_artifacts_are_not_expected():
    smoke = set(A.expected_outputs("smoke"))
    assert "figures/qualitative_npe.png" not in smoke  # NPE absent on the CI data
    assert "tables/jcrnet_table8.csv" not in smoke     # phone frames never available
    assert "figures/qualitative_sice.png" not in smoke and "figures/qualitative_sice.png" in A.expected_outputs("quick")
    assert "figures/qualitative_npe.png" in A.expected_outputs("paper")
    assert "tables/compare_jcrnet_table8.csv" in smoke  # the comparison is written anyway, with its reasons
    assert {"figures/qualitative_lol_v1.png", "figures/qualitative_dicm.png"} <= smoke  # smoke: two grids only
    assert "figures/qualitative_lime.png" not in smoke and "figures/qualitative_lime.png" in A.expected_outputs("quick")


def test_status_lookup_rejects_unknown_profiles_and_words():
    with pytest.raises(KeyError, match="unknown profile"):
        A.get("frlie_table1").status.of("fast")
    with pytest.raises(ValueError, match="does not start with"):
        A.state("done")
    with pytest.raises(KeyError, match="no artifact"):
        A.get("frlie_table9")


def test_registry_frame_reports_presence(tmp_path):
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "frlie_table1.csv").write_text("x")
    frame = A.registry_frame("smoke", tmp_path)
    row = frame.set_index("id").loc["frlie_table1"]
    assert row["files_present"] == "1/1" and row["status"].startswith("partly: smoke budget")
    assert frame.set_index("id").loc["frlie_fig3", "files_present"] == "0/0"


def test_unregistered_outputs_are_listed(tmp_path):
    for rel in ("tables/frlie_table1.csv", "tables/frlie_table1.md", "tables/jcrnet_extra.csv",
                "figures/frlie_fig2_features.png", "figures/odd_name.png"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    assert A.unregistered_outputs(tmp_path) == ["tables/jcrnet_extra.csv", "figures/odd_name.png"]


def _notebook_line(repo_root, notebook, prefix):
    cells = json.loads((repo_root / "notebooks" / f"{notebook}.ipynb").read_text(encoding="utf-8"))["cells"]
    lines = [line for c in cells if c["cell_type"] == "code" for line in "".join(c["source"]).splitlines()]
    return next(line for line in lines if line.startswith(prefix))


def test_statuses_name_the_variants_the_notebooks_do_not_train(repo_root):
    # 13_iclr trains the one-MAFM DIEM variants in `paper` only (the profiles' notebooks: 13_iclr section);
    # 11_jcrnet never trains `released_code`
    for profile in ("smoke", "quick", "paper"):
        variants = load_profile(profile).notebook("13_iclr")["ablation_variants"]
        assert ("wo_first_mafm" in variants) == (profile == "paper"), (profile, variants)
    assert "released_code" not in _notebook_line(repo_root, "11_jcrnet", "VARIANTS = ")
    iclr = A.get("iclr_ablation").status
    for profile in ("smoke", "quick"):
        assert "w/o 1st / w/o 2nd MAFM of DIEM and the paper-text reading run only in the paper profile" in iclr.of(profile)
        assert "paper_text" not in load_profile(profile).notebook("13_iclr")["ablation_variants"]
    assert "paper_text" in load_profile("paper").notebook("13_iclr")["ablation_variants"]
    assert iclr.paper == "reproduced"
    for table in ("jcrnet_table1", "jcrnet_table2"):
        for profile in A.PROFILES:
            status = A.get(table).status.of(profile)
            assert "'JCRNet (MindSpore)' row (config variant released_code) is not trained" in status, (table, profile)
            assert "MindSpore) not implemented" not in status and "DDNet, JCRNet (MindSpore)" not in status
