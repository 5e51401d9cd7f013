"""Train: pick a variant, set its sliders, train in the background and watch it learn."""

import streamlit as st

import ui
from ae_core import registry

ui.page_header(
    "Train",
    "Pick a variant, move its sliders, press Train and watch the loss and the activations change "
    "live. Runs train in the background and are kept: settings anyone has trained already "
    "answer at once, and under a slider its values trained already are listed.",
)
manager = ui.manager()


def train_buttons(config, problem) -> None:
    train_column, reset_column = st.columns(2)
    pressed = train_column.button(
        "Train",
        type="primary",
        disabled=config is None,
        help=problem or "Train these settings (or show their stored result).",
        on_click=ui.submit_current,
        width="stretch",
    )
    reset_column.button(
        "Reset to defaults",
        on_click=ui.reset_settings,
        help="This variant's defaults.",
        width="stretch",
    )
    if pressed and st.session_state.get(ui.SUBMIT_ERROR):
        st.error(st.session_state[ui.SUBMIT_ERROR])


form, result = st.columns([5, 7], gap="large")
with form:
    variant = st.selectbox(
        "Variant",
        registry.available(),
        key=ui.persistent_key(ui.VARIANT, ui.DEFAULT_VARIANT),
        help="The kind of autoencoder; each shows only the settings it uses.",
    )
    st.caption(f"**{variant}**: {registry.get(variant).summary}")
    config, problem = ui.settings_form(variant, train_buttons, ui.trained_values(variant))

last = st.session_state.get(ui.LAST_STARTED)
# After "Continue", the continuation stands where its parent's result stood.
own = ui.shown_result(manager.get(config.run_id) if config is not None else None, last)
with result:
    if own is not None:
        if ui.trained_before(own):
            st.caption("These settings were trained before: here is the stored result.")
        ui.live_run(own)
    else:
        previous = manager.get(last) if last else None
        if config is not None:
            st.caption("These settings have not been trained yet: press **Train**.")
            if previous is None:  # the charts a run of them draws as it learns
                ui.progress_charts(config, [], config.run_id)
        if previous is not None:
            st.subheader("Your last run")
            st.caption(ui.describe_run(previous))
            ui.live_run(previous)

with st.sidebar:
    active = manager.active_jobs()
    training = sum(job.state == "training" for job in active)
    st.metric(
        "Training now",
        f"{training} of {manager.training_slots}",
        help=f"Up to {manager.training_slots} runs train at once, taking turns on "
        f"{manager.backend.describe(manager.worker_count)}; more wait in the queue.",
    )
    st.metric("Waiting in the queue", len(active) - training)
ui.share_link(settings=True)
ui.sweep_panel()
