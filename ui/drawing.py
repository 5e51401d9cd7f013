"""The Reconstructions page's "Draw a digit": a canvas, and the drawing, made like an MNIST digit
(``ae_core.drawing``), through the chosen run."""

from __future__ import annotations

import numpy as np
import streamlit as st

from ae_core import drawing, figures
from ae_core.jobs import Job
from ui import presenting
from ui.model_views import dataset_info_of, view

# Canvas pixels across, and the brush's width: about the stroke of a pen on a 28-pixel digit.
CANVAS_SIZE = 280
BRUSH_WIDTH = 20
# Pixels across the drawing as the run sees it and its reconstruction, drawn sharp.
_PICTURE_WIDTH = 200


def can_draw(job: Job) -> bool:
    """Whether the run reads 28x28 images, the digits a drawing is made into; if not, say so."""
    info = dataset_info_of(job)
    if info.image_shape == drawing.MNIST_SHAPE:
        return True
    if info.image_shape is None:
        shown = "points, not images"
    else:
        shown = "{}x{} images".format(*info.image_shape)
    st.info(
        f"Drawing is for runs on 28x28 digits (MNIST); this run's data ({job.config.dataset}) "
        f"are {shown}, so there is no canvas here."
    )
    return False


def draw_a_digit(job: Job) -> None:
    """The "Draw a digit" section: the canvas, and what the run makes of the drawing."""
    st.subheader("Draw a digit")
    if not can_draw(job):
        return
    from streamlit_drawable_canvas import st_canvas  # a component: importable in a running app

    canvas_column, result_column = st.columns([1, 2])
    with canvas_column:
        canvas = st_canvas(
            stroke_width=BRUSH_WIDTH,
            stroke_color="#000000",
            background_color="#ffffff",
            height=CANVAS_SIZE,
            width=CANVAS_SIZE,
            drawing_mode="freedraw",
            return_image_data=True,
            key="draw:canvas",
        )
        st.caption("Draw one digit with the mouse; the bin on the canvas's toolbar clears it.")
    with result_column:
        show_drawing(job, canvas.image_data)


def show_drawing(job: Job, canvas_image: np.ndarray | None) -> None:
    """What the run makes of a canvas image (RGBA, height x width x 4): the drawing as the run
    sees it over its reconstruction, and its code among the test digits' codes."""
    digit = None if canvas_image is None else drawing.mnist_like(drawing.canvas_ink(canvas_image))
    if digit is None:
        st.caption("Nothing drawn yet: the drawing, as the run sees it, appears here.")
        return
    result = view(job, "drawn_digit", image=digit)
    pictures, codes = st.columns([1, 2])
    with pictures:
        st.image(
            figures.image_tiles(
                np.stack([result["input"], result["reconstruction"]]), 1, min_width=_PICTURE_WIDTH
            )
        )
        st.caption(
            "Your digit as the run sees it (28x28, centred like MNIST) over its reconstruction."
        )
        if result["denoises"]:
            st.caption(
                f"This run learnt to remove {job.config.noise} noise, so its reconstruction is "
                "its denoised version of your digit."
            )
    with codes:
        presenting.chart(
            figures.codes_scatter(
                result["points"],
                result["labels"],
                result["method"],
                marked=(result["point"], "your digit"),
            ),
            width="stretch",
        )
        st.caption(
            f"The star: your digit's code (a VAE's mean code) among those of "
            f"{len(result['points']):,} test digits."
        )
