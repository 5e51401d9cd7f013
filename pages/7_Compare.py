"""Compare: several runs side by side."""

import math

import numpy as np
import pandas as pd
import streamlit as st

import ui
from ae_core import figures

ui.page_header(
    "Compare runs",
    "Pick runs to see their settings side by side, their losses overlaid, their figures in one "
    "table and their reconstructions of the same test digits.",
)
manager = ui.manager()
listed = manager.list_runs()  # one scan of the runs folder serves the picker and this page
selected = ui.pick_run(listed)
jobs = {job.run_id: job for job in listed}
if not jobs:
    st.info("No runs yet: train a few on the **Train** page, then compare them here.")
    ui.share_link()
    st.stop()


def linked_runs(text: str) -> list[str]:
    run_ids = [run_id for run_id in text.split(",") if run_id]
    unknown = [run_id for run_id in run_ids if run_id not in jobs]
    if unknown:
        raise ValueError(f"not runs on this server: {', '.join(unknown)}")
    return run_ids


default = [selected.run_id] if selected else []
default += [run_id for run_id in jobs if run_id not in default][: 3 - len(default)]
default = ui.linked_view_value("compare", default, linked_runs)
chosen = st.multiselect(
    "Runs",
    list(jobs),
    default=default,
    format_func=lambda run_id: ui.run_label(jobs[run_id]),
    help="Any runs on this server; the figures need finished ones.",
)
ui.share_link(view={"compare": chosen})
if not chosen:
    st.stop()
runs = [jobs[run_id] for run_id in chosen]
names = {job.run_id: f"{job.config.variant} · {job.run_id.rsplit('-', 1)[-1][:6]}" for job in runs}

st.subheader("Settings")
settings = pd.DataFrame(
    {names[job.run_id]: {k: str(v) for k, v in job.config.to_dict().items()} for job in runs}
)
differing = settings.nunique(axis=1) > 1
only_differences = st.toggle("Only the settings that differ", value=len(runs) > 1)
shown = settings[differing] if only_differences and differing.any() else settings
st.dataframe(shown.rename_axis("setting").reset_index(), hide_index=True)

st.subheader("Loss")
histories = {names[job.run_id]: job.snapshot().history for job in runs}
st.plotly_chart(figures.compare_loss_curves(histories), width="stretch")

st.subheader("Figures")
rows, readable = [], []
for job in runs:
    summary = job.summary or {}
    row = {
        "run": names[job.run_id],
        "state": job.state,
        "dataset": job.config.dataset,
        "steps": summary.get("steps"),
        "seconds": summary.get("seconds"),
        "test MSE": summary.get("test_mse"),
        "training objective": summary.get("train_loss"),
        "mean code activation": (summary.get("mean_activation") or [math.nan])[-1],
        "dead code units": (summary.get("dead_units") or [None])[-1],
        "code values below 0.1": math.nan,
        "probe accuracy": math.nan,
    }
    extra = ui.readable_view(job, "comparison_figures") if summary.get("model") else None
    if extra is not None:
        row["code values below 0.1"] = extra["code_near_zero"]
        row["probe accuracy"] = extra["probe_accuracy"]
        readable.append(job)
    rows.append(row)
st.dataframe(pd.DataFrame(rows), hide_index=True)
st.caption(
    "Code values below 0.1: the share of code activations under 0.1 on 1,000 test digits (a "
    "sparse code has most). Probe accuracy: a logistic regression from the code to the digit's "
    "label, trained on up to 4,000 training digits and scored on the test digits."
)

st.subheader("Reconstructions of the same digits")
for dataset in dict.fromkeys(job.config.dataset for job in readable):
    group = [job for job in readable if job.config.dataset == dataset]
    if ui.dataset_info_of(group[0]).image_shape is None:
        continue
    parts = [ui.view(job, "same_digits") for job in group]
    images = np.concatenate([parts[0]["inputs"], *(part["reconstructions"] for part in parts)])
    st.plotly_chart(
        figures.image_grid(
            images,
            len(parts[0]["inputs"]),
            f"{dataset}: inputs, then each run",
            row_labels=["input", *(names[job.run_id] for job in group)],
        ),
        width="stretch",
    )
