"""Features: the first layer's weights, drawn as images."""


import ui
from ae_core import figures


def show_features(job) -> None:
    units = ui.view_slider(
        "units", "Units", 8, 200, 64, 8, help="How many first-layer units to draw."
    )
    result = ui.view(job, "features", units=units)
    columns = min(16, result["units"])
    ui.chart(
        figures.image_grid(
            result["encoder"],
            columns,
            f"Encoder: first {result['units']} of {result['available']} units",
            diverging=True,
        ),
        width="stretch",
    )
    if result["decoder"] is not None:
        if job.config.tied:
            title = "The same weights as the decoder's output layer sees them (tied: transposed)"
        else:
            title = "Decoder: weights from the same units into the pixels (not tied)"
        ui.chart(
            figures.image_grid(result["decoder"], columns, title, diverging=True), width="stretch"
        )


ui.view_page(
    "Features",
    "Each first-layer unit's weights on the pixels, drawn as an image (red positive, blue "
    "negative, each scaled to its own largest weight): the pattern that excites the unit most.",
    show_features,
    images=True,
)
