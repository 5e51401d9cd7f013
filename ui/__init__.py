"""The app's shared Streamlit helpers, beside ``Home.py`` rather than in ``pages/`` (where every
file becomes a page). Everything here lays out widgets and figures; the logic is in ``ae_core``.

- ``ui.session``: the session-state keys, widget values kept across pages (``persistent_key``),
  the server's job manager, the page header;
- ``ui.pages``: the app's pages, each file and name once;
- ``ui.links``: the URL as the state (settings, chosen run, view settings);
- ``ui.settings``: the settings form drawn from the config's metadata;
- ``ui.runs``: describe, pick, submit and follow a run live;
- ``ui.model_views``: the cached views of a trained model and a view page's live fragment;
- ``ui.lessons``: the Lessons page's runs;
- ``ui.sweep_panel``: the Train page's sweep of one setting, live;
- ``ui.latent_plot``: the Latent space page's plot, clicked (a digit, or a code to decode);
- ``ui.drawing``: the Reconstructions page's "Draw a digit".

Pages use the names below as ``ui.<name>``, and the pages as ``ui.pages.<PAGE>``.
"""

from ui import pages, presenting
from ui.drawing import draw_a_digit, show_drawing
from ui.latent_plot import clickable_codes
from ui.lessons import lesson_jobs, lesson_runs_live, start_lesson
from ui.links import (
    linked_view_value,
    linked_widget_key,
    share_link,
    show_view_value,
    view_slider,
)
from ui.model_views import (
    dataset_info_of,
    has_model,
    live_view,
    needs_images,
    planes_figure,
    readable_view,
    trained_model_ready,
    view,
    view_page,
)
from ui.presenting import chart
from ui.runs import (
    describe_run,
    diagnostic_warnings,
    live_run,
    pick_run,
    progress_charts,
    run_diagnostics,
    run_label,
    select_run,
    shown_result,
    sparsity_target,
    submit,
    submit_current,
    summary_metrics,
    trained_before,
)
from ui.session import (
    DEFAULT_VARIANT,
    LAST_STARTED,
    SELECTED_RUN,
    SUBMIT_ERROR,
    TRAINED_HERE,
    VARIANT,
    manager,
    page_header,
    persistent_key,
    persistent_value,
    sentence,
    set_persistent_value,
)
from ui.settings import (
    current_config,
    load_settings,
    reset_settings,
    setting_key,
    settings_form,
    trained_values,
)
from ui.sweep_panel import sweep_panel

__all__ = [
    "DEFAULT_VARIANT",
    "LAST_STARTED",
    "SELECTED_RUN",
    "SUBMIT_ERROR",
    "TRAINED_HERE",
    "VARIANT",
    "chart",
    "clickable_codes",
    "current_config",
    "dataset_info_of",
    "describe_run",
    "diagnostic_warnings",
    "draw_a_digit",
    "has_model",
    "lesson_jobs",
    "lesson_runs_live",
    "linked_view_value",
    "linked_widget_key",
    "live_run",
    "live_view",
    "load_settings",
    "manager",
    "needs_images",
    "page_header",
    "pages",
    "presenting",
    "persistent_key",
    "persistent_value",
    "pick_run",
    "progress_charts",
    "planes_figure",
    "readable_view",
    "reset_settings",
    "run_diagnostics",
    "run_label",
    "select_run",
    "sentence",
    "set_persistent_value",
    "share_link",
    "show_drawing",
    "show_view_value",
    "setting_key",
    "settings_form",
    "shown_result",
    "sparsity_target",
    "start_lesson",
    "submit",
    "submit_current",
    "summary_metrics",
    "sweep_panel",
    "trained_values",
    "trained_before",
    "trained_model_ready",
    "view",
    "view_page",
    "view_slider",
]
