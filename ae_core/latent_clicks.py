"""A click on the latent plot: a test digit's point, or a place on the code plane to decode.

The plot (``figures.codes_scatter``) tags each test digit's point with its test index and each
point of its clickable plane with ``PLANE``; a click comes back as the chart's selection, and
goes into the page's link as text (``digit:17``, ``code:0.5,-1.25``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# The tag (plotly customdata) of the plane's points, which decode where they are.
PLANE = "plane"
# Decimals a code point keeps in a link: finer than a pixel of the plot.
_DECIMALS = 3


@dataclass(frozen=True)
class LatentClick:
    """Either ``digit``, a test example's index, or ``code``, a point of the 2-D code plane."""

    digit: int | None = None
    code: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if (self.digit is None) == (self.code is None):
            raise ValueError("a latent click is either a test digit or a code point")

    def to_text(self) -> str:
        if self.digit is not None:
            return f"digit:{self.digit}"
        return "code:" + ",".join(str(value) for value in self.code)

    @classmethod
    def from_text(cls, text: str) -> LatentClick:
        """The click a link names; ValueError naming the two forms for anything else."""
        kind, _, value = str(text).partition(":")
        try:
            if kind == "digit":
                index = int(value)
                if index < 0:
                    raise ValueError
                return cls(digit=index)
            if kind == "code":
                x, y = (float(part) for part in value.split(","))
                return cls(code=_code_point(x, y))
        except ValueError:
            pass
        raise ValueError("use digit:<test digit number> or code:<x>,<y>")


def _code_point(x: float, y: float) -> tuple[float, float]:
    if not all(abs(value) < float("inf") for value in (x, y)):
        raise ValueError("a code point has finite coordinates")
    return (round(float(x), _DECIMALS), round(float(y), _DECIMALS))


def _tag(point: Mapping):
    """A clicked point's customdata, a scalar or the first of a list."""
    tag = point.get("customdata")
    return tag[0] if isinstance(tag, (list, tuple)) and tag else tag


def from_selection(selection: Mapping) -> LatentClick | None:
    """The click a plotly chart selection (``st.plotly_chart``'s ``selection``) holds: its
    first point carrying a tag, or None (an empty selection, or a box or lasso of nothing)."""
    for point in selection.get("points", []):
        tag = _tag(point)
        if tag == PLANE:
            return LatentClick(code=_code_point(point["x"], point["y"]))
        if isinstance(tag, (int, float)) and not isinstance(tag, bool):
            return LatentClick(digit=int(tag))
    return None
