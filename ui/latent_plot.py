"""The Latent space page's plot as a place to click: a test digit's point shows that digit and
its reconstruction beside the plot; where the plot is the 2-D code itself, an empty place shows
the decoding of that code. The click is kept for the session and goes into the address."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import streamlit as st

from ae_core import figures, latent_clicks
from ae_core.jobs import Job
from ae_core.latent_clicks import LatentClick
from ui import links, presenting
from ui.model_views import view

CLICKED = "latent:clicked"  # the session's last click on the latent plot (a LatentClick)
LINK_NAME = "clicked"
CODES_CHART = "latent:codes_chart"
# What the page shows in place of a click a link gave and a rule refused.
_NOTHING = "no clicked point"
# Pixels across a clicked digit and its reconstruction, drawn sharp.
_PICTURE_WIDTH = 160


def has_plane(codes: Mapping) -> bool:
    """Whether the plot is the 2-D code itself, so every place of it is a code to decode."""
    return codes["method"] == "code" and codes["code_size"] == 2


def remember_click(selection: Mapping) -> None:
    """Keep the click a chart selection holds (a box or lasso of nothing keeps the last one)."""
    click = latent_clicks.from_selection(selection)
    if click is not None:
        st.session_state[CLICKED] = click


def current_click(codes: Mapping) -> LatentClick | None:
    """The click to show for these codes: a link's (when the session opened with one that fits
    the run), else the session's last, when it fits the plot now shown."""

    def fits(text: str) -> LatentClick:
        click = LatentClick.from_text(text)
        problem = _misfit(click, codes)
        if problem:
            raise ValueError(problem)
        return click

    linked = links.linked_view_value(LINK_NAME, _NOTHING, fits)
    if isinstance(linked, LatentClick):
        st.session_state[CLICKED] = linked
    click = st.session_state.get(CLICKED)
    return None if click is None or _misfit(click, codes) else click


def _misfit(click: LatentClick, codes: Mapping) -> str | None:
    """Why ``click`` does not fit the plot of ``codes`` (another run's, or another view's)."""
    last = codes["test_examples"] - 1
    if click.digit is not None and click.digit > last:
        return f"this run's test digits are 0 to {last}"
    if click.code is not None and not has_plane(codes):
        return "only a 2-D code shown as itself has a plane to decode"
    return None


def _marked(click: LatentClick | None, codes: Mapping) -> tuple | None:
    if click is None:
        return None
    if click.code is not None:
        return click.code, "decoded here"
    if click.digit < len(codes["points"]):
        return codes["points"][click.digit], f"test digit {click.digit}"
    return None


def show_click(job: Job, click: LatentClick | None, plane: bool) -> None:
    """Beside the plot: the clicked test digit over its reconstruction, or the decoding of the
    clicked place."""
    if click is None:
        st.caption(
            "Click a digit's point to see that digit and its reconstruction here"
            + (", or an empty place to see what the decoder makes of that code." if plane else ".")
        )
        return
    if click.digit is not None:
        shown = view(job, "digit_and_reconstruction", index=click.digit)
        images = np.stack([shown["input"], shown["reconstruction"]])
        text = f"Test digit {click.digit} (a {shown['label']}) over its reconstruction."
    else:
        images = view(job, "decoded_code", code=click.code)[None]
        text = f"The decoding of the code ({click.code[0]:g}, {click.code[1]:g})."
    st.image(figures.image_tiles(images, 1, min_width=_PICTURE_WIDTH))
    st.caption(text)


def clickable_codes(job: Job, codes: Mapping) -> None:
    """The codes plot (``views.latent_codes``' ``codes``) taking clicks, what was clicked
    beside it, and the click in the address."""
    # The chart's last selection, read before the chart is drawn: the mark on the chart follows
    # the click, and a chart drawn with a new mark is a new chart, its selection empty.
    chart = st.session_state.get(CODES_CHART)
    if chart is not None:
        remember_click(chart["selection"])
    plane = has_plane(codes)
    click = current_click(codes)
    plot, beside = st.columns([3, 1])
    with plot:
        presenting.chart(
            figures.codes_scatter(
                codes["points"],
                codes["labels"],
                codes["method"],
                clickable_plane=plane,
                marked=_marked(click, codes),
            ),
            width="stretch",
            key=CODES_CHART,
            on_select="rerun",
            selection_mode="points",
        )
    with beside:
        show_click(job, click, plane)
    links.show_view_value(LINK_NAME, None if click is None else click.to_text())
