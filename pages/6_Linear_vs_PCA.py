"""Linear vs PCA: a linear autoencoder learns the subspace of the first principal components."""

import streamlit as st

import ui
from ae_core import figures
from ae_core.config import make_config

ui.page_header(
    "Linear autoencoder vs PCA",
    "With no activations and a squared-error loss, an autoencoder with k code units learns the "
    "same k-dimensional subspace as the first k principal components, though not the same axes "
    "within it: the angles between the two subspaces go to zero and the errors match.",
)
EXAMPLES = {
    "the 3-D cloud, 2 code units": make_config("linear"),
    "MNIST, 16 code units": make_config(
        "linear", dataset="mnist", code_size=16, learning_rate=0.002, steps=4000, batch_size=128
    ),
}


def train_example(label: str) -> None:
    """An example button's callback: the example is looked up when the click is handled, as
    every button's config is, not handed over from the run that drew the button."""
    ui.submit(EXAMPLES[label])


def show_linear_vs_pca(job) -> None:
    result = ui.view(job, "linear_vs_pca")
    k = result["code_size"]
    st.subheader(f"{k} code units against {k} principal components")
    columns = st.columns(4)
    columns[0].metric("Autoencoder test MSE", f"{result['autoencoder_mse']:.5f}")
    columns[1].metric("PCA test MSE", f"{result['pca_mse']:.5f}")
    columns[2].metric("MSE ratio (autoencoder / PCA)", f"{result['pca_mse_ratio']:.3f}")
    columns[3].metric(
        "Largest angle between the subspaces", f"{result['max_principal_angle_deg']:.2f}°"
    )
    angles = ", ".join(f"{angle:.2f}°" for angle in result["principal_angles_deg"])
    st.caption(
        f"Principal angles between the decoder's subspace and PCA's: {angles}. Zero means the "
        "same subspace; PCA's error is the smallest any k-dimensional linear map can reach."
    )
    if result["cloud"] is not None:
        ui.chart(ui.planes_figure(result["cloud"]), width="stretch")
    if result.get("images") is not None:
        ui.chart(
            figures.image_grid(
                result["images"], 10, "The same test digits", row_labels=result["row_labels"]
            ),
            width="stretch",
        )


job = ui.pick_run()
ui.share_link()
if job is None or not job.config.is_linear:
    if job is not None:
        st.info(
            f"The chosen run ({job.config.variant}) has non-linear units, so it does not compare "
            "with PCA. Pick a linear run in the sidebar, or train one of these examples:"
        )
    else:
        st.info("Train one of these examples:")
    for column, (label, config) in zip(st.columns(len(EXAMPLES)), EXAMPLES.items(), strict=True):
        column.button(
            f"Train {label}", key=f"example:{config.run_id}", on_click=train_example, args=(label,)
        )
else:
    ui.live_view(job, show_linear_vs_pca)
