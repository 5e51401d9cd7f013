"""Latent space: where the codes of test digits lie, walks between digits, generated digits."""

import streamlit as st

import ui
from ae_core import figures, registry


def show_latent_space(job) -> None:
    config = job.config
    choice = st.radio(
        "2-D view",
        ["auto", "pca", "tsne"],
        key=ui.persistent_key("latent:method", "auto"),
        format_func={
            "auto": "the code itself when it is 2-D, else PCA",
            "pca": "PCA",
            "tsne": "t-SNE (slower)",
        }.get,
        horizontal=True,
    )
    codes = ui.view(job, "latent_codes", method=choice)
    ui.clickable_codes(job, codes)

    if ui.needs_images(job):
        st.subheader("Interpolation")
        left, right, steps_column = st.columns(3)
        last = codes["test_examples"] - 1

        def in_range(index: int) -> bool:  # another run's data may have fewer test digits
            return 0 <= index <= last

        start = left.number_input(
            "From test digit #", 0, last, key=ui.persistent_key("latent:from", 0, valid=in_range)
        )
        end = right.number_input(
            "To test digit #", 0, last, key=ui.persistent_key("latent:to", 1, valid=in_range)
        )
        with steps_column:
            steps = ui.view_slider("walk_steps", "Steps", 3, 20, 10, 1)
        walk = ui.view(job, "interpolation", start=int(start), end=int(end), steps=steps)
        ui.chart(
            figures.image_grid(
                walk["images"],
                steps,
                f"From a {walk['labels'][0]} to a {walk['labels'][1]}: decodings of evenly "
                "spaced codes on the line between theirs",
            ),
            width="stretch",
        )
        if registry.get(config.variant).generates:
            st.subheader("Generated digits")
            seed = st.number_input(
                "Random seed",
                0,
                10_000,
                key=ui.persistent_key("latent:seed", 0),
                help="Another draw of codes.",
            )
            made = ui.view(job, "generated", count=60, seed=int(seed))
            ui.chart(
                figures.image_grid(made["samples"], 12, "60 decodings of codes drawn from N(0, I)"),
                width="stretch",
            )
            if made["grid"] is not None:
                ui.chart(
                    figures.image_grid(
                        made["grid"], 15, "Decodings over the latent plane, from -2.5 to 2.5"
                    ),
                    width="stretch",
                )
            else:
                st.caption(f"With a 2-D latent (this one has {config.code_size}), the plane too.")


ui.view_page(
    "Latent space",
    "The codes of 2,000 test digits, coloured by their label (never used in training); a walk "
    "between two digits' codes; and, for a variational autoencoder, digits made from random codes.",
    show_latent_space,
)
