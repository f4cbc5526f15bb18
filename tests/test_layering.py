"""Nothing in neurosim imports anything above it (docs/design.md, "Modules, and which way they depend").

Every import of a neurosim module, at the top of a file or inside a function, is read from the source with
:mod:`ast` and checked against :data:`LAYERS`: a module may import the modules of lower layers and its own
subpackage (``engines/``, ``rules/``, ``hardware/``), nothing of its own layer or above. A new module must be
placed in a layer here, which is where its direction is decided.
"""

import ast

import pytest
from conftest import REPO

PACKAGE = REPO / "neurosim"

#: Bottom first. A name is a module of the package or one of its subpackages; ``__init__`` is the package's
#: root (``from . import __version__``).
LAYERS = (
    {"__init__", "errors", "phase", "quantize", "cudagraph", "topology", "tomlfile", "streams"},
    {"backend", "settings", "atomic", "spicetext"},
    {"network", "data", "spiking", "sampling"},  # spiking, sampling: the neuron models of the spiking and sampling rules
    {"coupling", "metrics"},
    {"energy"},
    {"crossbars"},  # each kind's node equation, netlist section and power: the network, coupling and energy
    {"circuit"},  # a circuit holds its crossbar
    {"dissipation", "netlist", "spicecost"},
    {"engines", "hardware"},  # engines know the network and its circuit; devices know the network
    {"rules", "pyspice"},  # rules know engines through their interface
    {"controller"},  # rules, engines and devices
    {"config"},  # the engines', circuit's, hardware's and rules' settings and registries
    {"runcheck"},  # a stored run's arrays against its configuration and the writer's layout
    {"store"},  # run files hold a configuration
    {"build", "plots"},  # configuration -> objects
    {"training", "export", "report", "studypoints"},
    {"sweep", "waveform", "chips"},  # chips: a stored run programmed onto modelled chips (neurosim evaluate)
    {"bitdepth"},  # a study made a sweep grid
    {"cli"},
    {"__main__"},
)
RANK = {name: k for k, layer in enumerate(LAYERS) for name in layer}


def component(module: str) -> str:
    """The layer-table name of a dotted module path inside the package: ``engines.base`` -> ``engines``."""
    return module.split(".")[0] if module else "__init__"


def is_module(name: str) -> bool:
    path = PACKAGE / name.replace(".", "/")
    return path.with_suffix(".py").exists() or path.is_dir()


def imported_modules(source: str, here: list[str]) -> list[tuple[int, str]]:
    """(line, package-relative module) of every neurosim import in ``source``, a file of the package's
    subpackage ``here`` (``[]`` for the package itself, ``["engines"]``), wherever the import stands."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name.partition(".")[2]) for a in node.names
                      if a.name.split(".")[0] == "neurosim"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - (node.level - 1)] + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "neurosim":
                base = node.module.split(".")[1:]
            else:
                continue
            prefix = ".".join(base)
            if node.module is None or not base:  # from . import a, b: each name a module or the root's attribute
                for a in node.names:
                    name = ".".join([*base, a.name])
                    found.append((node.lineno, name if is_module(name) else prefix))
            else:
                found.append((node.lineno, prefix))
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


def own_component(path) -> str:
    """The layer-table name of a file of the package: ``engines/base.py`` -> ``engines``."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def test_every_module_has_a_layer():
    missing = sorted({own_component(p) for p in SOURCES} - set(RANK))
    assert not missing, f"place these modules in LAYERS: {missing}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_upward(path):
    mine = own_component(path)
    upward = [f"line {line}: {module or 'neurosim'} (layer {RANK[component(module)]})"
              for line, module in imported_modules(path.read_text(), list(path.relative_to(PACKAGE).parts[:-1]))
              if component(module) != mine and RANK[component(module)] >= RANK[mine]]
    assert not upward, f"{mine} (layer {RANK[mine]}) imports at or above its layer: {upward}"


def test_the_reader_sees_every_form_of_import():
    """The checker itself, on a file of ``engines/``: relative imports of each depth, a root attribute, absolute
    and nested imports, and an import of something else left out."""
    source = ("from ..controller import Controller\n"
              "from . import euler\n"
              "from .. import __version__, topology\n"
              "import neurosim.cli, numpy\n"
              "def f():\n"
              "    from neurosim.training import train\n"
              "    from scipy import sparse\n")
    found = imported_modules(source, ["engines"])
    assert found == [(1, "controller"), (2, "engines.euler"), (3, ""), (3, "topology"), (4, "cli"),
                     (6, "training")]
