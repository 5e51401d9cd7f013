"""The app's colours, one per meaning: every chart takes its colours from here.

A loss term has the same colour in every chart that shows it, and so has a layer, whatever else
the chart shows or in which order. Terms and layers use different hues, so a colour seen in the
loss chart never means something else in the activation chart beside it. Reference lines are
greys (black is the total loss). Runs and a sweep's values are coloured by their position in
their chart, from ``SERIES``.
"""

from __future__ import annotations

TOTAL_COLOUR = "#222222"
RECONSTRUCTION_COLOUR = "#1f77b4"
# The reconstruction term on held-out examples: a lighter shade of the training term's colour.
HELD_OUT_COLOUR = "#6baed6"

# Every loss term a model reports (``ae_core.model.TERM_NAMES``), the total and the held-out loss.
TERM_COLOURS = {
    "total": TOTAL_COLOUR,
    "reconstruction": RECONSTRUCTION_COLOUR,
    "held-out": HELD_OUT_COLOUR,
    "sparsity": "#d62728",
    "l1": "#ff7f0e",
    "l2": "#8c564b",
    "latent": "#9467bd",
}

CODE_COLOUR = "#2ca02c"
OUTPUT_COLOUR = "#e377c2"
# Encoder layers in teals and decoder layers in olives, outermost first (at most five each,
# ``ae_core.config.MAX_DEPTH``).
ENCODER_COLOURS = ("#17becf", "#0e7c87", "#7fd8e2", "#0a555c", "#b8ecf2")
DECODER_COLOURS = ("#bcbd22", "#7d7e10", "#dbdb8d", "#55560a", "#eeeec4")

# Reference lines: the sparsity target, and where a new training phase begins.
TARGET_COLOUR = "#555555"
PHASE_COLOUR = "#888888"
# A unit that gives the same value for every example.
DEAD_COLOUR = "#bbbbbb"

# Runs compared side by side and a sweep's values, by position.
SERIES = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#17becf",
)
# Ten distinct colours, one per digit class (D3's category10).
LABEL_COLOURS = (*SERIES[:3], SERIES[4], SERIES[3], *SERIES[5:], "#7f7f7f", "#bcbd22")


def series_colour(index: int) -> str:
    """The colour of the ``index``-th run compared, or of a sweep's ``index``-th value."""
    return SERIES[index % len(SERIES)]


def term_colour(name: str) -> str:
    """The colour of a loss term (or "total", or "held-out") in every chart."""
    try:
        return TERM_COLOURS[name]
    except KeyError:
        raise ValueError(
            f"no colour for the loss term {name!r}: known terms are {', '.join(TERM_COLOURS)}"
        ) from None


def layer_colour(name: str) -> str:
    """The colour of a layer, by its name ("encoder 1", "code", "decoder 2", "output"), in every
    chart."""
    if name == "code":
        return CODE_COLOUR
    if name == "output":
        return OUTPUT_COLOUR
    family, _, number = name.partition(" ")
    shades = {"encoder": ENCODER_COLOURS, "decoder": DECODER_COLOURS}.get(family)
    if shades is not None and number.isdigit() and 1 <= int(number) <= len(shades):
        return shades[int(number) - 1]
    raise ValueError(
        f"no colour for the layer {name!r}: layers are 'encoder 1' to "
        f"'encoder {len(ENCODER_COLOURS)}', 'code', 'decoder 1' to "
        f"'decoder {len(DECODER_COLOURS)}' and 'output'"
    )
