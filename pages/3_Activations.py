"""Activations: what the units do on test digits, and the sparsity penalty's shape."""

import streamlit as st

import ui
from ae_core import figures


def show_activations(job) -> None:
    config = job.config
    layers = ui.view(job, "activations")
    ui.chart(figures.activation_histograms(layers), width="stretch")

    names = list(layers)
    code_layer = "code" if "code" in names else names[0]
    left, right = st.columns([2, 1])
    with left:
        # Another run's layer that this run lacks gives way to its code layer.
        layer_key = ui.persistent_key("activations:layer", code_layer, lambda name: name in names)
        chosen = st.selectbox(
            "Layer",
            names,
            key=layer_key,
            help="The layer whose units to show.",
        )
        target = ui.sparsity_target(config)
        ui.chart(
            figures.unit_means(
                layers[chosen]["unit_means"],
                target,
                dead=layers[chosen]["dead_mask"],
                layer=chosen,
            ),
            width="stretch",
        )
        dead = int(layers[chosen]["dead_units"])
        caption = (
            f"{dead} of {layers[chosen]['units']} units of {chosen} are dead: they give the same "
            "value for every test digit, so they carry nothing."
        )
        constant = layers[chosen]["constant_targets"]
        if constant:
            caption += (
                f" Not counted: the {constant} pixels that are the same in every one of these "
                "digits, where one value is the right output."
            )
        st.caption(caption)
    with right:
        curve_target = ui.view_slider(
            "curve_target",
            "Sparsity target",
            0.01,
            0.99,
            float(min(max(config.sparsity_target, 0.01), 0.99)),
            0.01,
            help="The KL penalty per unit is zero when its average activation equals the target "
            "and grows steeply towards 0 and 1.",
        )
        ui.chart(figures.kl_divergence_curve(curve_target), width="stretch")
        if target is not None:
            st.caption(
                f"This run penalises {config.sparsity_layers} layer(s) with weight "
                f"beta = {config.sparsity_weight:g} towards {config.sparsity_target:g}."
            )
        else:
            st.caption("This run has no KL sparsity penalty (its weight is 0).")


ui.view_page(
    "Activations",
    "How the units respond to 1,000 test digits: a histogram per layer, each unit's average "
    "against the sparsity target, and the units that never change (dead).",
    show_activations,
)
