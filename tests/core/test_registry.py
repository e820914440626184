"""The one registration mechanism (llie_core.core.registry.Registry): unique names, helpful errors, lazy discovery
of the declaring package (once, every lookup, private modules skipped, import errors never swallowed) and the
exact entries of every registry of the project, discovered in a fresh interpreter with no other import."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from llie_core.core.registry import Registry
from tests.helpers import REPO_ROOT

EXPECTED = {
    "MODELS": ["CIDNet", "FRLIE", "ICLR", "IRLE", "JCRNet", "LLFlow"],
    "ENHANCERS": ["clahe", "he", "input", "lime", "zero_dce"],
    "METRICS": ["brisque", "lpips_alex", "lpips_alex_gtmean", "lpips_vgg", "lpips_vgg_gtmean", "niqe", "psnr",
                "psnr_gtmean", "ssim", "ssim_frlie", "ssim_gray", "ssim_gray_gtmean", "ssim_gtmean", "ssim_matlab_gray",
                "ssim_matlab_gray_gtmean"],
    "LOSSES": ["CharbonnierEdgeLoss", "CharbonnierLoss", "CovarianceCorrectionLoss", "FeatureMatchingLoss", "HueLoss",
               "IlluminationAlignedPerceptualLoss", "L1Loss", "LLFlowNLLLoss", "LaplacianEdgeLoss", "MSELoss",
               "NeighborSubsamplingLoss", "SSIMLoss", "ShiftInvariantSpectralCorrelationLoss", "VGGPerceptualLoss"],
    "TASKS": ["SelfSupervisedTask", "StageTask", "SupervisedTask"],
}
REGISTRIES = {"MODELS": "llie_core.models.registry", "ENHANCERS": "llie_core.evaluation.baselines.registry",
              "METRICS": "llie_core.metrics.registry", "LOSSES": "llie_core.losses.registry",
              "TASKS": "llie_core.engine.registry"}
# packages whose __init__ must not import their entries (discovery happens on the first lookup, not on import)
LAZY_PACKAGES = ("llie_core.models", "llie_core.losses", "llie_core.evaluation.baselines")

ENTRY = """
from {pkg} import IMPORTS
from {pkg}.registry import THINGS

IMPORTS.append("{name}")


@THINGS.register()
class {cls}:
    def __init__(self, size=1):
        self.size = size
"""


def make_package(root: Path, modules: dict[str, str]) -> str:
    """A fresh importable package ``<name>`` under ``root``: ``IMPORTS`` (entry modules append their name when they
    run), ``registry.py`` declaring ``THINGS = Registry('thing', <name>)`` and ``modules`` (file stem -> source)."""
    name = f"regtest_{uuid.uuid4().hex[:10]}"
    pkg = root / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("IMPORTS = []\n")
    (pkg / "registry.py").write_text(f"from llie_core.core.registry import Registry\n\n"
                                     f"THINGS = Registry('thing', {name!r})\n")
    for stem, source in modules.items():
        (pkg / f"{stem}.py").write_text(source.format(pkg=name))
    return name


def entry(name: str, cls: str) -> str:
    return ENTRY.replace("{name}", name).replace("{cls}", cls)


@pytest.fixture()
def importable(tmp_path, monkeypatch):
    """``tmp_path`` on ``sys.path``; every package made there is dropped from ``sys.modules`` afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for module in [m for m in sys.modules if m.startswith("regtest_")]:
        del sys.modules[module]


def load(name: str, attr: str = "THINGS"):
    __import__(f"{name}.registry")
    return sys.modules[f"{name}.registry"].THINGS if attr == "THINGS" else sys.modules[name].IMPORTS


# ------------------------------------------------------------------------------------------------ names
def test_a_name_is_taken_once():
    things = Registry("thing")

    @things.register()
    class Box:
        pass

    things.register()(Box)  # the same object again (a re-run decorator) is harmless
    with pytest.raises(KeyError, match="thing 'Box' is already registered"):
        things.register("Box")(type("Box", (), {}))
    things.register("crate")(Box)
    assert things.names() == ["Box", "crate"] and things.get("crate") is Box


def test_unknown_names_list_the_known_ones():
    things = Registry("thing")
    for name in ("beta", "alpha"):
        things.register(name)(type(name, (), {}))
    with pytest.raises(KeyError, match=r"unknown thing 'gamma'; known: alpha, beta"):
        things.get("gamma")
    with pytest.raises(KeyError, match=r"unknown thing 'gamma'; known: alpha, beta"):
        things.build({"type": "gamma"})
    with pytest.raises(KeyError, match="needs a 'type' key"):
        things.build({"size": 2})
    with pytest.raises(KeyError, match=r"known: \(none\)"):
        Registry("empty").get("x")


def test_build_passes_the_config_and_extra_keyword_arguments():
    things = Registry("thing")
    things.register("pair")(lambda a, b=0: (a, b))
    assert things.build({"type": "pair", "a": 1}, b=2) == (1, 2)


# ------------------------------------------------------------------------------------------------ discovery
LOOKUPS = {
    "get": lambda r: r.get("A"),
    "build": lambda r: r.build({"type": "B", "size": 3}),
    "names": lambda r: r.names(),
    "contains": lambda r: "A" in r,
    "iter": lambda r: list(r),
    "len": lambda r: len(r),
}


@pytest.mark.parametrize("lookup", sorted(LOOKUPS))
def test_the_first_lookup_discovers_the_package_once(importable, lookup):
    name = make_package(importable, {"a": entry("a", "A"), "b": entry("b", "B"),
                                     "_private": "raise RuntimeError('private modules are never discovered')\n"})
    things, imports = load(name), load(name, "IMPORTS")
    assert imports == [] and f"{name}.a" not in sys.modules  # declaring the registry imports no entry
    LOOKUPS[lookup](things)
    assert imports == ["a", "b"] and f"{name}._private" not in sys.modules
    del sys.modules[f"{name}.a"]  # a second discovery would run module a again
    for other in LOOKUPS.values():
        other(things)
    assert imports == ["a", "b"] and things.names() == ["A", "B"] and len(things) == 2
    assert sorted(things.discovered_modules) == [f"{name}.a", f"{name}.b", f"{name}.registry"]


def test_a_broken_submodule_raises_on_every_lookup(importable):
    name = make_package(importable, {"a": entry("a", "A"), "b": "raise ImportError('b needs a missing library')\n",
                                     "c": entry("c", "C")})
    things = load(name)
    with pytest.raises(ImportError, match="b needs a missing library"):
        things.names()
    with pytest.raises(ImportError, match="b needs a missing library"):  # never a silently partial answer
        things.get("A")


def test_any_error_of_a_submodule_propagates_unchanged(importable):
    name = make_package(importable, {"a": "raise ValueError('bad constant in a')\n"})
    with pytest.raises(ValueError, match="bad constant in a"):
        "A" in load(name)  # noqa: B015


def test_a_registry_without_a_package_imports_nothing():
    things = Registry("thing")
    assert things.package is None and things.names() == [] and things.discover() == []


# ------------------------------------------------------------------------------------------------ the project
DISCOVER = textwrap.dedent("""
    import importlib, json, sys
    packages = {lazy!r}
    for package in packages:
        importlib.import_module(package)
    eager = sorted(m for m in sys.modules for p in packages if m.startswith(p + ".") and not m.endswith(".registry"))
    found = {{key: importlib.import_module(module).__dict__[key].names() for key, module in {registries!r}.items()}}
    print(json.dumps({{"eager": eager, "found": found}}))
""")


@pytest.fixture(scope="module")
def fresh_discovery() -> dict:
    """Every registry's names, looked up in a new interpreter that imported nothing else of the project."""
    script = DISCOVER.format(lazy=LAZY_PACKAGES, registries=REGISTRIES)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_every_registry_lists_exactly_its_entries(fresh_discovery, key):
    assert fresh_discovery["found"][key] == EXPECTED[key]


def test_importing_a_package_imports_none_of_its_entries(fresh_discovery):
    assert fresh_discovery["eager"] == []


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_the_registries_agree_in_process(key):
    """The same names here, whatever the tests before imported (discovery adds nothing twice)."""
    module = __import__(REGISTRIES[key], fromlist=[key])
    assert getattr(module, key).names() == EXPECTED[key]
