"""Compare: several runs side by side."""

import math

import numpy as np
import pandas as pd
import streamlit as st

import ui
from ae_core import figures, naming

# The curves overlaid: the reconstruction term measures the same in every variant, while the
# total adds each variant's own penalties (a sparse run's KL term, a VAE's latent loss).
LOSSES = ("reconstruction", "total")

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


def linked_loss(text: str) -> str:
    if text not in LOSSES:
        raise ValueError(f"allowed values are {', '.join(LOSSES)}")
    return text


def number(value, form: str) -> str:
    """A number as the table shows it; a dash where a run has none (yet)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return format(value, form)


def diagnostics_text(job) -> str:
    """What went wrong in a run, by name; "none" for a healthy finished run."""
    if not job.snapshot().finished or not (job.summary or {}).get("model"):
        return "—"
    found = ui.run_diagnostics(job)
    return ", ".join(finding.code.replace("_", " ") for finding in found) or "none"


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
if not chosen:
    ui.share_link(view={"compare": chosen})
    st.stop()
runs = [jobs[run_id] for run_id in chosen]
names = naming.run_names(
    {job.run_id: job.config for job in runs}, {job.run_id: job.name for job in runs}
)

st.subheader("Settings")
settings = pd.DataFrame(
    {names[job.run_id]: {k: str(v) for k, v in job.config.to_dict().items()} for job in runs}
)
differing = settings.nunique(axis=1) > 1
only_differences = st.toggle("Only the settings that differ", value=len(runs) > 1)
shown = settings[differing] if only_differences and differing.any() else settings
st.dataframe(shown.rename_axis("setting").reset_index(), hide_index=True, width="stretch")

st.subheader("Loss")
loss = st.radio(
    "Curves",
    LOSSES,
    key=ui.linked_widget_key("view:compare_loss", "loss", LOSSES[0], linked_loss),
    horizontal=True,
    format_func=lambda name: f"{name} loss",
    help="The reconstruction loss is the same measure for every variant, so its curves "
    "compare; the total adds each run's own penalties (sparsity, weight decay, a VAE's KL term).",
)
histories = {names[job.run_id]: job.snapshot().history for job in runs}
ui.chart(figures.compare_loss_curves(histories, total=loss == "total"), width="stretch")
ui.share_link(view={"compare": chosen, "loss": loss})

st.subheader("Figures")
# A column per run, as in the settings above: the table is as wide as the runs compared.
columns, readable = {}, []
for job in runs:
    summary = job.summary or {}
    extra = ui.readable_view(job, "comparison_numbers") if summary.get("model") else None
    if extra is not None:
        readable.append(job)
    extra = extra or {}
    dead, units = summary.get("dead_units") or [], summary.get("units") or []
    columns[names[job.run_id]] = {
        "state": job.state,
        "dataset": job.config.dataset,
        "steps": number(summary.get("steps"), ","),
        "seconds": number(summary.get("seconds"), ".1f"),
        "test MSE": number(summary.get("test_mse"), ".5f"),
        "training objective": number(summary.get("train_loss"), ".4g"),
        "mean code activation": number((summary.get("mean_activation") or [None])[-1], ".3f"),
        "dead code units": f"{dead[-1]} of {units[-1]}" if dead and units else "—",
        "code values below 0.1": number(extra.get("code_near_zero"), ".1%"),
        "probe accuracy": number(extra.get("probe_accuracy"), ".1%"),
        "diagnostics": diagnostics_text(job),
    }
st.dataframe(
    pd.DataFrame(columns).rename_axis("figure").reset_index(), hide_index=True, width="stretch"
)
st.caption(
    "Code values below 0.1: the share of code activations under 0.1 on 1,000 test digits (a "
    "sparse code has most). Probe accuracy: a logistic regression from the code to the digit's "
    "label, trained on up to 4,000 training digits and scored on the test digits."
)
for job in runs:
    ui.diagnostic_warnings(job, prefix=f"**{names[job.run_id]}**: ")

st.subheader("Reconstructions of the same digits")
for dataset in dict.fromkeys(job.config.dataset for job in readable):
    group = [job for job in readable if job.config.dataset == dataset]
    if ui.dataset_info_of(group[0]).image_shape is None:
        continue
    parts = [ui.view(job, "same_digits") for job in group]
    images = np.concatenate([parts[0]["inputs"], *(part["reconstructions"] for part in parts)])
    ui.chart(
        figures.image_grid(
            images,
            len(parts[0]["inputs"]),
            f"{dataset}: inputs, then each run",
            row_labels=["input", *(names[job.run_id] for job in group)],
        ),
        width="stretch",
    )
