"""Train: pick a variant, set its sliders, train in the background and watch it learn."""

import streamlit as st

import ui
from ae_core import registry
from ae_core.store import StoreError

ui.page_header(
    "Train",
    "Pick a variant and its settings, press Train, and watch the loss and the activations "
    "change live. Runs train in the background: you can leave this page and come back.",
)
manager = ui.manager()

variants = registry.available()
variant = st.selectbox(
    "Variant",
    variants,
    index=variants.index("stacked"),
    key="variant",
    persist_state="session",
    help="The kind of autoencoder; each shows only the settings it uses.",
)
st.markdown(f"**{variant}**: {registry.get(variant).summary}")

config, problem = ui.settings_form(variant)

train_column, reset_column, _ = st.columns([1, 1, 4])
pressed = train_column.button(
    "Train", type="primary", disabled=config is None, help=problem or "Start this run."
)
reset_column.button(
    "Reset to defaults",
    on_click=ui.reset_settings,
    args=(variant,),
    help="This variant's defaults.",
)

if pressed and config is not None:
    try:
        started = manager.submit(config)
    except StoreError as error:
        st.error(ui.sentence(str(error)))
    else:
        ui.select_run(started.run_id)
        st.session_state["last_started"] = started.run_id

own = manager.get(config.run_id) if config is not None else None
last = st.session_state.get("last_started")
st.divider()
if own is not None:
    if own.is_final_result and not pressed:
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
    st.metric("Training now", f"{training} of {manager.worker_count}")
    st.metric("Waiting in the queue", len(active) - training)
