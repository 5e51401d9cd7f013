"""Train: pick a variant, set its sliders, train in the background and watch it learn."""

import streamlit as st

import ui
from ae_core import registry

ui.page_header(
    "Train",
    "Pick a variant and its settings, press Train, and watch the loss and the activations "
    "change live. Runs train in the background: you can leave this page and come back.",
)
manager = ui.manager()

variants = registry.available()
variant_column, data_column, _ = st.columns(3)
variant = variant_column.selectbox(
    "Variant",
    variants,
    key=ui.kept(ui.VARIANT, "stacked"),
    help="The kind of autoencoder; each shows only the settings it uses.",
)
ui.keep(ui.VARIANT)
st.markdown(f"**{variant}**: {registry.get(variant).summary}")

config, problem = ui.settings_form(variant, data_column)

train_column, reset_column, _ = st.columns([1, 1, 4])
pressed = train_column.button(
    "Train",
    type="primary",
    disabled=config is None,
    help=problem or "Start this run.",
    on_click=ui.submit_current,
)
reset_column.button(
    "Reset to defaults",
    on_click=ui.reset_settings,
    args=(variant,),
    help="This variant's defaults.",
)

if pressed and st.session_state.get("submit_error"):
    st.error(st.session_state["submit_error"])

own = manager.get(config.run_id) if config is not None else None
last = st.session_state.get("last_started")
st.divider()
if own is not None:
    if ui.trained_before(own):
        st.caption("These settings were trained before: here is the stored result.")
    ui.live_run(own)
else:
    if config is not None:
        st.caption("These settings have not been trained yet: press **Train**.")
    previous = manager.get(last) if last else None
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
        f"{manager.worker_count} worker process{'es' if manager.worker_count != 1 else ''}; "
        "more wait in the queue.",
    )
    st.metric("Waiting in the queue", len(active) - training)
