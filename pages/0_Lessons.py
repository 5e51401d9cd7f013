"""Lessons: the classic autoencoder experiments, one click each, published figures beside ours."""

import pandas as pd
import streamlit as st

import ui
from ae_core import figures, lessons
from ae_core.data import trained_on
from ae_core.lessons import MAIN

ui.page_header(
    "Lessons",
    "The well-known experiments from the classic autoencoder tutorials, set up as published. "
    "Pick one, read what to look for, press Run, and compare our figures with the published "
    "ones.",
)
manager = ui.manager()

LESSON = "lesson"
names = lessons.names()


def linked_lesson(text: str) -> str:
    if text not in names:
        raise ValueError(f"the lessons are: {', '.join(names)}")
    return text


name = st.selectbox(
    "Lesson",
    names,
    key=ui.linked_widget_key(LESSON, LESSON, names[0], linked_lesson),
    format_func=lambda n: f"{lessons.get(n).title} ({n})",
    help="Each lesson is a preset: python -m ae_core train --preset NAME runs the same.",
)
ui.share_link(view={LESSON: name})
lesson = lessons.get(name)
configs = lesson.configs()
jobs = ui.lesson_jobs(configs)

st.markdown(lesson.explanation)
st.caption(f"Source: {lesson.source}. The published figures are quoted; the text is ours.")

run_column, train_column, _ = st.columns([1, 2, 3])
all_final = all(job is not None and job.is_final_result for job in jobs.values())
run_column.button(
    "Run",
    type="primary",
    disabled=all_final,
    on_click=ui.start_lesson,
    args=(LESSON,),
    help="Already trained on this server: the results are below."
    if all_final
    else "Trains this lesson's runs in the background; runs trained before are shown at once.",
)
# On a projector the lesson's Run only: its settings are what it is about, not to be changed.
if not ui.presenting.on() and train_column.button(
    "Open its settings on Train", help="Change the lesson's settings and train your own."
):
    ui.load_settings(configs[MAIN])
    st.switch_page(ui.pages.TRAIN.path)
if st.session_state.get(ui.SUBMIT_ERROR):
    st.error(st.session_state[ui.SUBMIT_ERROR])

with st.expander("Settings", expanded=not any(jobs.values())):
    table = pd.DataFrame(
        {
            ("this lesson" if role == MAIN else role): {
                key: str(value) for key, value in config.to_dict().items()
            }
            for role, config in configs.items()
        }
    )
    st.dataframe(table, width="stretch")

main_job = jobs[MAIN]
main_summary = (main_job.summary if main_job is not None else None) or {}
notes = [lesson.samples_note(main_summary.get("train_examples")), *lesson.notes]
for note in filter(None, notes):
    st.markdown(f"- {note}")

if not any(jobs.values()):
    st.info("Not trained on this server yet: press **Run**.")
    st.stop()


def show_results(jobs) -> None:
    """The published figures beside ours, then our pictures of the lesson's models: of the
    latest checkpoint while the lesson's run trains, of the final model once it has finished."""
    # A stopped run's figures are of the model it stopped with; the progress above says so.
    summaries = {
        role: job.summary
        for role, job in jobs.items()
        if job is not None and job.state in ("done", "stopped") and job.summary
    }
    st.subheader("Published and ours")
    rows = lesson.results(summaries)
    # A static table: the long labels and published texts wrap instead of being cut off.
    st.table(
        pd.DataFrame(rows)
        .assign(
            difference=lambda frame: frame["difference"].map(
                lambda value: "" if value is None or pd.isna(value) else f"{value:+.1%}"
            )
        )
        .set_index("figure")
    )
    main_job = jobs[MAIN]
    main_summary = (main_job.summary if main_job is not None else None) or {}
    data = trained_on(main_summary)
    if data:
        st.caption(f"Ours trained on {data}.")

    # Until the lesson's run has a model to show, the progress above says where it is.
    if main_job is None or not ui.has_model(main_job) or not ui.trained_model_ready(main_job):
        return
    shown = {role: job for role, job in jobs.items() if job is not None and ui.has_model(job)}
    images = ui.dataset_info_of(main_job).image_shape is not None
    if "generated" in lesson.show and images:
        made = ui.view(main_job, "generated", count=60)
        ui.chart(
            figures.image_grid(made["samples"], 12, "60 digits decoded from random codes"),
            width="stretch",
        )
    if "reconstructions" in lesson.show and images:
        for role, job in shown.items():
            result = ui.view(job, "reconstructions", count=10)
            title = "This lesson" if role == MAIN else role.capitalize()
            ui.chart(
                figures.image_grid(
                    result["images"], result["columns"], title, row_labels=result["row_labels"]
                ),
                width="stretch",
            )
    if "activations" in lesson.show:
        layers = ui.view(main_job, "activations")
        ui.chart(figures.activation_histograms(layers), width="stretch")
    if "latent" in lesson.show:
        codes = ui.view(main_job, "latent_codes", method="auto")
        ui.chart(
            figures.codes_scatter(codes["points"], codes["labels"], codes["method"]),
            width="stretch",
        )
    if "linear-pca" in lesson.show:
        result = ui.view(main_job, "linear_vs_pca")
        if result["cloud"] is not None:
            ui.chart(ui.planes_figure(result["cloud"]), width="stretch")


st.divider()
ui.lesson_runs_live(configs, jobs, show_results)

if main_job is None:
    st.stop()
st.caption("Look closer at this lesson's run:")
if ui.dataset_info_of(main_job).image_shape is None:
    closer = [ui.pages.LINEAR_VS_PCA]
else:
    closer = [
        ui.pages.RECONSTRUCTIONS,
        ui.pages.ACTIVATIONS,
        ui.pages.FEATURES,
        ui.pages.LATENT_SPACE,
    ]
for column, page in zip(st.columns(4), closer, strict=False):
    if column.button(page.label, key=f"closer:{page.path}"):
        ui.select_run(main_job.run_id)
        st.switch_page(page.path)
