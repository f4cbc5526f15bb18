"""Draw docs/figures/circuit.png: neuron j, neuron i, and the synapse pair that carries W_ij from j into i.

    python docs/figures/circuit.py      (needs schemdraw: pip install schemdraw)

The parts are those of circuits/neurosim.lib; schemdraw is used only here, not by neurosim.
"""

from pathlib import Path

import schemdraw
import schemdraw.elements as elm

schemdraw.use("matplotlib")
TOP, SPACING = 4.0, 2.8


def column(x, make, label):
    """An element (made by ``make``) from the top rail at x down to ground."""
    make().at((x, TOP)).down().label(label, loc="bottom", fontsize=10)
    elm.Ground()


def neuron(x0, name, extra=()):
    """Node ``name`` at x0 with C, R and the clamp to ground, then ``extra`` (element, label) columns."""
    parts = [(elm.Capacitor, "C"), (elm.Resistor, "R"), (elm.SourceControlledI, "clamp"), *extra]
    for k, (make, label) in enumerate(parts):
        column(x0 + k * SPACING, make, label)
    elm.Line().at((x0, TOP)).to((x0 + (len(parts) - 1) * SPACING, TOP))
    elm.Dot().at((x0, TOP)).label(name, loc="top", fontsize=12)


with schemdraw.Drawing(file=str(Path(__file__).with_suffix(".png")), show=False, dpi=150) as d:
    d.config(fontsize=11, unit=2.2)
    neuron(0, "V_j  (neuron j)")
    x_i = 4 * SPACING
    neuron(x_i, "V_i  (neuron i)", [(lambda: elm.SourceControlledI().reverse(), "G⁺_ij V_j"),
                                   (elm.SourceControlledI, "G⁻_ij V_j")])
    elm.Arrow().at((x_i + 3.5 * SPACING, TOP + 1.6)).down(1.2)
    elm.Label().at((x_i + 3.5 * SPACING, TOP + 1.9)).label(
        "synapse pair j → i: W_ij = R (G⁺_ij − G⁻_ij)", fontsize=11)
