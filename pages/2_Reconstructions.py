"""Reconstructions: test digits over what the chosen run makes of them."""

import streamlit as st

import ui
from ae_core import figures


def show_reconstructions(job) -> None:
    config = job.config
    count = ui.view_slider("digits", "Digits", 5, 30, 10, 1, help="How many test digits to show.")
    options = {"count": count}
    if config.noise != "none":
        maximum = 0.95 if config.noise == "dropout" else 1.5
        options["noise_level"] = ui.view_slider(
            "noise_level",
            f"Noise level ({config.noise})",
            0.0,
            maximum,
            min(config.noise_level, maximum),
            0.05,
            help=f"Trained with {config.noise} noise {config.noise_level:g}; try other levels "
            "on the trained model.",
        )
    result = ui.view(job, "reconstructions", **options)
    ui.chart(
        figures.image_grid(
            result["images"],
            result["columns"],
            "Digits " + " ".join(str(label) for label in result["labels"]),
            row_labels=result["row_labels"],
        ),
        width="stretch",
    )
    columns = st.columns(len(result["mse"]))
    for column, (row, error) in zip(columns, result["mse"].items(), strict=True):
        column.metric(
            f"MSE of the {row.split(' (')[0]} row against the clean digits", f"{error:.5f}"
        )
    ui.draw_a_digit(job)


ui.view_page(
    "Reconstructions",
    "Test digits the run never trained on, over its reconstructions. For a run trained with "
    "input noise: the clean digit, the corrupted input it sees and what it makes of it.",
    show_reconstructions,
    images=True,
)
