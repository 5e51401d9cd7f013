"""Presenting mode: the app as a teacher projects it. One switch in the sidebar (and
``present=1`` in an address, so a link opens in it): charts larger, their text readable from the
back of a room, the controls a lesson is not about hidden, and no run hashes on screen. The
"Link to this screen" a teacher hands out leaves it out, so a student's link opens as usual."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from ui.session import persistent_key, persistent_value, set_persistent_value

PRESENTING = "presenting"  # the switch's key, kept across pages
LINK_PARAM = "present"
LINK_VALUE = "1"
# Text on a chart at least this large on a 1280x720 projector (plotly's ticks are 12 px).
TEXT_PX = 16
TITLE_PX = 22
# Charts and digit grids this much taller, so the larger text leaves room for the data.
GROWTH = 1.3
# Streamlit draws a plotly chart with no height of its own this tall.
STREAMLIT_CHART_PX = 450


def on() -> bool:
    """Whether this session presents."""
    return bool(persistent_value(PRESENTING, False))


def from_link(text: str) -> str | None:
    """Turn presenting mode on from a link's ``present=`` value; the reason it was refused."""
    if text != LINK_VALUE:
        return f"{LINK_PARAM}={text!r} is not allowed: use {LINK_PARAM}={LINK_VALUE}"
    set_persistent_value(PRESENTING, True)
    return None


def link_params() -> dict[str, str]:
    """What the address carries for presenting mode (nothing when it is off)."""
    return {LINK_PARAM: LINK_VALUE} if on() else {}


def switch() -> None:
    """The sidebar's switch (every page draws it, through ``page_header``)."""
    st.sidebar.toggle(
        "Presenting mode",
        key=persistent_key(PRESENTING, False),
        help="For a projector: larger charts and text, only the settings a lesson is about, no "
        "run ids. The link to a screen you hand out opens in the normal mode.",
    )


def for_the_room(figure: go.Figure) -> go.Figure:
    """``figure`` as this session shows it: in presenting mode a copy with larger text and a
    taller plot; else ``figure`` itself."""
    if not on():
        return figure
    room = go.Figure(figure)
    room.update_layout(
        font={"size": TEXT_PX},
        title_font={"size": TITLE_PX},
        height=round((figure.layout.height or STREAMLIT_CHART_PX) * GROWTH),
    )
    return room


def chart(figure: go.Figure, where: Any = None, **options: Any) -> Any:
    """``st.plotly_chart`` (or ``where.plotly_chart``, for a column) of ``figure`` as this session
    shows it: every chart of the app goes through here."""
    return (where or st).plotly_chart(for_the_room(figure), **options)
