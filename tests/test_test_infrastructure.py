"""The test suite's own rules (tests/conftest.py, tests/helpers.py): the ``real_data`` marker is added from the
fixture closure; without ../shared or the offline assets a test skips locally and fails when ``$CI`` is set.

Runs an inner pytest session in-process (``pytester``) on a small test file that uses the real conftest."""
from __future__ import annotations

import pytest

from tests import conftest
from tests.helpers import in_ci, require_assets, skip_or_fail

pytest_plugins = ["pytester"]

INNER_TESTS = '''
import pytest

from llie_core.core import assets
from tests.helpers import require_assets


@pytest.fixture()
def golden(shared_root):            # a fixture built on shared_root: its users read ../shared too
    return shared_root / "reference"


def test_uses_shared_root(shared_root):
    assert (shared_root / "data").is_dir()


def test_uses_real_data_root(real_data_root):
    assert real_data_root.is_dir()


def test_uses_a_fixture_on_shared_root(golden):
    assert golden.name == "reference"


def test_needs_an_offline_asset():
    require_assets("lpips/alex_backbone.pth")


def test_skips_on_its_own_while_handling_a_missing_asset():
    try:
        assets.require("niqe/niqe_pris_params.npz")
    except assets.AssetsMissingError as exc:
        pytest.skip(f"asset missing: {exc}")


def test_needs_nothing():
    pass
'''
SHARED_TESTS = {"test_uses_shared_root", "test_uses_real_data_root", "test_uses_a_fixture_on_shared_root"}
ASSET_TESTS = {"test_needs_an_offline_asset", "test_skips_on_its_own_while_handling_a_missing_asset"}


@pytest.fixture()
def inner(pytester, monkeypatch, tmp_path):
    """A test file using the real conftest, run where neither ../shared nor the offline assets exist."""
    pytester.makeconftest('pytest_plugins = ["tests.conftest"]\n')
    pytester.makepyfile(test_inner=INNER_TESTS)
    pytester.makeini('[pytest]\nmarkers =\n    real_data: needs ../shared\n')
    monkeypatch.setattr(conftest, "REPO_ROOT", tmp_path / "checkout")      # no ../shared beside it
    monkeypatch.setenv("LLIE_DATA_ROOT", str(tmp_path / "nowhere" / "data"))
    monkeypatch.setenv("LLIE_ASSETS_DIR", str(tmp_path / "no_assets"))
    return pytester


def _outcomes(result: pytest.RunResult) -> dict[str, str]:
    return {r.nodeid.split("::")[-1]: r.outcome for r in result.reprec.getreports("pytest_runtest_logreport")
            if r.when == "call" or r.outcome != "passed"}


def test_missing_shared_folder_and_assets_skip_without_ci(inner, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    result = inner.runpytest_inprocess("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(passed=1, skipped=5)
    result.stdout.fnmatch_lines(["*../shared is not present: set LLIE_DATA_ROOT=../shared/data*",
                                 "*python -m llie_core.core.assets setup*"])


@pytest.mark.parametrize("ci", ["true", "1"])
def test_missing_shared_folder_and_assets_fail_under_ci(inner, monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    result = inner.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=3, failed=2)   # fixture failures are setup errors
    outcomes = _outcomes(result)
    assert {name for name, o in outcomes.items() if o == "failed"} == SHARED_TESTS | ASSET_TESTS
    result.stdout.fnmatch_lines(["*../shared is not present*CI is set*"])
    result.stdout.fnmatch_lines(["*asset missing*CI is set: missing offline assets fail*"])


def test_an_empty_ci_variable_is_not_ci(monkeypatch):
    monkeypatch.setenv("CI", "")
    assert not in_ci()
    with pytest.raises(pytest.skip.Exception, match="why"):
        skip_or_fail("why")
    monkeypatch.setenv("CI", "yes")
    with pytest.raises(pytest.fail.Exception, match="why.*CI is set"):
        skip_or_fail("why")


def test_require_assets_names_the_setup_command(monkeypatch, tmp_path):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("LLIE_ASSETS_DIR", str(tmp_path))
    with pytest.raises(pytest.skip.Exception, match=r"python -m llie_core\.core\.assets setup"):
        require_assets("brisque/live_svm.npz")
    (tmp_path / "brisque").mkdir()
    (tmp_path / "brisque" / "live_svm.npz").write_bytes(b"")
    require_assets("brisque/live_svm.npz")                                    # present: returns


def test_real_data_marker_follows_the_fixture_closure(inner):
    marked = inner.runpytest_inprocess("-p", "no:cacheprovider", "--collect-only", "-q", "-m", "real_data")
    names = {line.split("::")[-1] for line in marked.outlines if "::" in line}
    assert names == SHARED_TESTS
    unmarked = inner.runpytest_inprocess("-p", "no:cacheprovider", "--collect-only", "-q", "-m", "not real_data")
    assert {line.split("::")[-1] for line in unmarked.outlines if "::" in line} == ASSET_TESTS | {"test_needs_nothing"}
