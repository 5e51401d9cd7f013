"""The plot builders: pure functions whose figures carry the numbers they were given."""

from __future__ import annotations

import colorsys
import subprocess
import sys

import numpy as np
import pytest

from ae_core import figures, palette


def point(step, terms, activations, phase_index=0, phase="all layers"):
    return {
        "step": step,
        "total_steps": 100,
        "phase": phase,
        "phase_index": phase_index,
        "phase_count": 2,
        "loss": sum(terms.values()),
        "loss_terms": terms,
        "mean_activation": activations,
        "samples_per_s": 1000.0,
        "elapsed": step / 10,
    }


HISTORY = [
    point(10, {"reconstruction": 0.5, "sparsity": 0.2}, [0.4, 0.3]),
    point(20, {"reconstruction": 0.3, "sparsity": 0.1}, [0.3, 0.2]),
    point(30, {"reconstruction": 0.2}, [None, 0.1], phase_index=1, phase="layer 2 of 2"),
]


def test_figures_never_import_tensorflow_or_streamlit(repo_root):
    code = (
        "import sys, ae_core.figures; print(sorted({'tensorflow', 'streamlit'} & set(sys.modules)))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"


def test_loss_curves_draw_the_total_and_every_term_with_the_phase_boundary():
    figure = figures.loss_curves(HISTORY)
    lines = {trace.name: trace for trace in figure.data}
    assert list(lines) == ["total", "reconstruction", "sparsity"]
    assert list(lines["total"].x) == [10, 20, 30]
    assert list(lines["total"].y) == pytest.approx([0.7, 0.4, 0.2])
    # No value (NaN, drawn as a gap) where a phase has no such term.
    np.testing.assert_array_equal(lines["sparsity"].y, [0.2, 0.1, np.nan])
    assert figures._phase_starts(HISTORY) == [(20, "layer 2 of 2")]
    assert [shape.x0 for shape in figure.layout.shapes] == [20]
    assert figures.loss_curves(HISTORY, log_y=True).layout.yaxis.type == "log"


def hue(colour: str) -> float:
    red, green, blue = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hsv(red, green, blue)[0]


def test_loss_curves_draw_the_held_out_loss_dashed_beside_the_training_reconstruction():
    measured = {"held_out_loss": 0.25, "held_out_examples": 500}
    history = [
        point(10, {"reconstruction": 0.5, "sparsity": 0.2}, [0.4]),
        {**point(20, {"reconstruction": 0.3, "sparsity": 0.1}, [0.3]), **measured},
        point(30, {"reconstruction": 0.2, "sparsity": 0.1}, [0.2]),
        {
            **point(40, {"reconstruction": 0.1, "sparsity": 0.1}, [0.2]),
            "held_out_loss": 0.3,
            "held_out_examples": 500,
        },
    ]
    figure = figures.loss_curves(history, log_y=True)
    lines = {trace.name: trace for trace in figure.data}
    assert list(lines) == ["total", "reconstruction", "sparsity", "held-out (500 test digits)"]
    held_out, training = lines["held-out (500 test digits)"], lines["reconstruction"]
    # Only the measured points, at their steps: over-fitting shows as the gap growing.
    assert list(held_out.x) == [20, 40] and list(held_out.y) == [0.25, 0.3]
    assert list(held_out.y - training.y[[1, 3]]) == pytest.approx([-0.05, 0.2])
    assert held_out.line.dash == "dash" and training.line.dash is None
    assert held_out.line.color == palette.HELD_OUT_COLOUR != training.line.color
    assert abs(hue(held_out.line.color) - hue(training.line.color)) < 0.03, "the same family"
    points_figure = figures.loss_curves(history, examples_name="test points")
    assert points_figure.data[-1].name == "held-out (500 test points)"


def test_a_history_stored_before_the_held_out_loss_draws_as_before():
    assert "held_out_loss" not in HISTORY[0]
    names = [trace.name for trace in figures.loss_curves(HISTORY).data]
    assert names == ["total", "reconstruction", "sparsity"]


def test_a_single_term_is_not_drawn_twice():
    history = [point(5, {"reconstruction": 0.9}, [0.5])]
    assert [trace.name for trace in figures.loss_curves(history).data] == ["reconstruction"]


def test_the_live_charts_draw_empty_axes_over_the_runs_steps_before_its_first_point():
    loss = figures.loss_curves([], log_y=True, total_steps=3000)
    assert [len(trace.x) for trace in loss.data] == [0]
    assert loss.layout.yaxis.type == "log"
    assert list(loss.layout.xaxis.range) == [0, 3000]
    assert [note.text for note in loss.layout.annotations] == ["No points yet"]
    activation = figures.mean_activation_curves([], sparsity_target=0.05, total_steps=3000)
    assert not activation.data
    assert [s.y0 for s in activation.layout.shapes if s.xref == "x domain"] == [0.05]
    assert list(activation.layout.yaxis.range) == [0, 1]
    # With points, the axes follow them and the note is gone.
    drawn = figures.loss_curves(HISTORY, total_steps=3000)
    assert drawn.layout.xaxis.range is None
    assert "No points yet" not in [note.text for note in drawn.layout.annotations]


def test_mean_activation_curves_name_the_layers_and_show_the_target():
    figure = figures.mean_activation_curves(HISTORY, sparsity_target=0.05)
    assert [trace.name for trace in figure.data] == ["encoder 1", "code"]
    np.testing.assert_array_equal(figure.data[0].y, [0.4, 0.3, np.nan])
    assert list(figure.data[1].y) == [0.3, 0.2, 0.1]
    assert [s.y0 for s in figure.layout.shapes if s.xref == "x domain"] == [0.05]


def test_compare_overlays_one_line_per_run():
    figure = figures.compare_loss_curves({"run a": HISTORY, "run b": HISTORY[:2]})
    assert [(trace.name, len(trace.x)) for trace in figure.data] == [("run a", 3), ("run b", 2)]


# --- log axes: every tick labelled with its value -------------------------------------------------

# A loss falling from 0.7 to 0.012: plotly's own log ticks label 0.02 and 0.05 as "2" and "5".
FALLING = [
    point(step, {"reconstruction": loss, "sparsity": loss / 10}, [0.3])
    for step, loss in ((10, 0.7), (20, 0.3), (30, 0.1), (40, 0.04), (50, 0.012))
]


def log_loss_charts(history) -> dict:
    """Every chart that draws a loss on a log axis: the Train and Lessons pages' loss chart,
    Compare's and a sweep's."""
    return {
        "loss curves": figures.loss_curves(history, log_y=True),
        "compare": figures.compare_loss_curves({"run a": history, "run b": history[:2]}),
        "sweep": figures.sweep_loss_curves("learning_rate", [0.01, 0.1], [history, history[:3]]),
    }


def test_every_log_loss_axis_labels_each_tick_with_its_whole_value():
    for chart, figure in log_loss_charts(FALLING).items():
        axis = figure.layout.yaxis
        assert axis.type == "log" and axis.dtick is None, chart
        # The sparsity term reaches 0.0012 on the first chart; the others show the totals only.
        low = 0.0012 if chart == "loss curves" else 0.0132
        expected = [t for t in (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5) if t >= low]
        assert list(axis.tickvals) == pytest.approx(expected), chart
        assert list(axis.ticktext) == [f"{t:g}" for t in expected], chart
        assert "0.02" in axis.ticktext and "2" not in axis.ticktext, chart
        assert [float(text) for text in axis.ticktext] == pytest.approx(list(axis.tickvals))


def test_log_ticks_are_fewer_over_many_decades_and_finer_over_a_narrow_range():
    # Two decades or more: the powers of ten alone; over nine, every second one.
    vals, text = figures.log_ticks([0.0009, 5.0])
    assert text == ["0.001", "0.01", "0.1", "1"]
    vals, text = figures.log_ticks([2e-7, 300.0])
    assert text == ["1e-06", "0.0001", "0.01", "1", "100"]
    # Within a decade: 1-2-5 if that gives three ticks, else every digit.
    assert figures.log_ticks([0.015, 0.9])[1] == ["0.02", "0.05", "0.1", "0.2", "0.5"]
    assert figures.log_ticks([0.11, 0.45])[1] == ["0.2", "0.3", "0.4"]
    # Narrower still: evenly spaced round values, each labelled in full.
    vals, text = figures.log_ticks([0.0312, 0.0338])
    assert text == ["0.032", "0.033"] and vals == pytest.approx([0.032, 0.033])
    # Large values are grouped like the app's other numbers.
    assert figures.log_ticks([900, 120_000])[1] == ["1,000", "10,000", "100,000"]
    # Nothing a log axis can show: no ticks (plotly's own).
    assert figures.log_ticks([0.0, -1.0, np.nan]) == ([], [])
    nothing = [point(10, {"reconstruction": 0.0}, [0.3])]
    empty = figures.loss_curves(nothing, log_y=True).layout.yaxis
    assert empty.type == "log" and empty.tickvals is None


# --- one colour per meaning -----------------------------------------------------------------------


def line_colours(figure) -> dict[str, str]:
    return {trace.name: trace.line.color for trace in figure.data}


def test_a_loss_term_has_one_colour_in_every_chart():
    from ae_core.model import TERM_NAMES

    runs = {  # the terms each variant family reports
        "sparse_kl": {"reconstruction": 0.5, "sparsity": 0.2},
        "sparse_l1": {"reconstruction": 0.5, "l1": 0.2},
        "vae": {"reconstruction": 50.0, "latent": 5.0},
        "stacked with L2": {"reconstruction": 0.5, "l2": 0.01},
        "everything": {"reconstruction": 0.5, "sparsity": 0.2, "l2": 0.01, "l1": 0.1},
    }
    seen: dict[str, set[str]] = {}
    for terms in runs.values():
        history = [{**point(10, terms, [0.3]), "held_out_loss": 0.4, "held_out_examples": 500}]
        for name, colour in line_colours(figures.loss_curves(history)).items():
            seen.setdefault(name.split(" (")[0], set()).add(colour)
    assert all(len(colours) == 1 for colours in seen.values()), seen
    colours = {name: colours.pop() for name, colours in seen.items()}
    assert len(set(colours.values())) == len(colours), "each term its own colour"
    assert set(TERM_NAMES) <= set(colours) and {"total", "held-out"} <= set(colours)
    assert colours == {name: palette.term_colour(name) for name in colours}
    # The KL curve is the sparsity penalty: the sparsity term's colour.
    assert figures.kl_divergence_curve(0.1).data[0].line.color == colours["sparsity"]


def histogram_layer(units: int = 5) -> dict:
    values = np.random.default_rng(0).uniform(size=(200, units))
    counts, edges = np.histogram(values, bins=10)
    return {
        "mean": float(values.mean()),
        "histogram_counts": counts,
        "histogram_edges": edges,
        "dead_units": 0,
        "units": units,
    }


def test_a_layer_has_one_colour_in_every_chart_and_none_a_loss_term_has():
    deep = [point(10, {"reconstruction": 0.5}, [0.4, 0.3, 0.2])]
    shallow = [point(10, {"reconstruction": 0.5}, [0.2])]
    charts = [
        line_colours(figures.mean_activation_curves(deep)),  # encoder 1, encoder 2, code
        line_colours(figures.mean_activation_curves(HISTORY)),  # encoder 1, code
        line_colours(figures.mean_activation_curves(shallow)),  # code
    ]
    for names in (["encoder 1", "code", "decoder 1", "output"], ["code", "output"]):
        histograms = figures.activation_histograms({name: histogram_layer() for name in names})
        charts.append({bar.name: bar.marker.color for bar in histograms.data})
    for layer in ("encoder 1", "code", "output"):
        bars = figures.unit_means(np.array([0.1, 0.2]), layer=layer).data[0].marker.color
        charts.append({layer: bars[0]})
    seen: dict[str, set[str]] = {}
    for chart in charts:
        for name, colour in chart.items():
            seen.setdefault(name, set()).add(colour)
    assert seen.keys() == {"encoder 1", "encoder 2", "code", "decoder 1", "output"}
    assert all(len(colours) == 1 for colours in seen.values()), seen
    layer_colours = {colours.pop() for colours in seen.values()}
    assert len(layer_colours) == 5, "each layer its own colour"
    # The loss chart beside the activation chart: no colour means a term in one, a layer in the
    # other.
    assert not layer_colours & set(palette.TERM_COLOURS.values())
    assert palette.TARGET_COLOUR not in layer_colours | set(palette.TERM_COLOURS.values())


def test_activation_histograms_title_their_axes():
    figure = figures.activation_histograms(
        {name: histogram_layer() for name in ("encoder 1", "code", "decoder 1", "output")}
    )
    x_axes = [figure.layout[key] for key in figure.layout if key.startswith("xaxis")]
    y_axes = [figure.layout[key] for key in figure.layout if key.startswith("yaxis")]
    assert len(x_axes) == len(y_axes) == 6  # two rows of three
    assert {axis.title.text for axis in x_axes} == {"activation"}
    assert {axis.title.text for axis in y_axes} == {"count"}


def test_the_output_histogram_says_which_pixels_it_leaves_out_of_the_dead_units():
    output = {**histogram_layer(64), "dead_units": 1, "constant_targets": 7}
    figure = figures.activation_histograms({"code": histogram_layer(), "output": output})
    titles = [note.text for note in figure.layout.annotations]
    assert titles[0] == f"code: mean {histogram_layer()['mean']:.3g}, 0/5 dead"
    assert titles[1].endswith("1/64 dead<br>7 pixels never change: not counted")


def test_compare_overlays_the_reconstruction_term_and_the_total_on_request():
    # The reconstruction term is the measure every variant shares; the total adds its penalties.
    figure = figures.compare_loss_curves({"run a": HISTORY})
    assert list(figure.data[0].y) == pytest.approx([0.5, 0.3, 0.2])
    assert figure.layout.yaxis.title.text == "reconstruction loss"
    total = figures.compare_loss_curves({"run a": HISTORY}, total=True)
    assert list(total.data[0].y) == pytest.approx([0.7, 0.4, 0.2])
    assert total.layout.yaxis.title.text == "total loss"


def test_activation_histograms_keep_the_counts_and_report_dead_units():
    rng = np.random.default_rng(0)
    values = rng.uniform(size=(200, 5))
    counts, edges = np.histogram(values, bins=10)
    layer = {
        "mean": float(values.mean()),
        "histogram_counts": counts,
        "histogram_edges": edges,
        "dead_units": 2,
        "units": 5,
    }
    figure = figures.activation_histograms({"encoder 1": layer, "code": layer})
    assert len(figure.data) == 2
    np.testing.assert_array_equal(figure.data[0].y, counts)
    np.testing.assert_allclose(figure.data[0].x, (edges[:-1] + edges[1:]) / 2)
    assert "2/5 dead" in figure.layout.annotations[0].text


def test_unit_means_grey_out_dead_units():
    figure = figures.unit_means(np.array([0.1, 0.0, 0.3]), 0.05, dead=np.array([0, 1, 0]))
    code, dead = palette.layer_colour("code"), palette.DEAD_COLOUR
    assert list(figure.data[0].marker.color) == [code, dead, code]
    assert "1 of 3 dead" in figure.layout.title.text


def test_the_kl_curve_is_zero_at_the_target_and_grows_away_from_it():
    assert figures.kl_divergence(0.1, 0.1) == pytest.approx(0.0)
    # KL(0.1 || 0.5) = 0.1 ln 0.2 + 0.9 ln 1.8
    assert figures.kl_divergence(0.1, 0.5) == pytest.approx(0.1 * np.log(0.2) + 0.9 * np.log(1.8))
    trace = figures.kl_divergence_curve(0.1).data[0]
    x, y = np.asarray(trace.x), np.asarray(trace.y)
    assert abs(x[np.argmin(y)] - 0.1) < 0.005 and y.min() < 1e-4
    assert np.all(np.diff(y[x > 0.1]) > 0) and np.all(np.diff(y[x < 0.1]) < 0)
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        figures.kl_divergence_curve(1.0)


def test_tile_images_lays_out_rows_with_gaps_and_can_normalise_each_image():
    images = np.stack([np.full((2, 3), value) for value in (1.0, 2.0, -4.0)])
    canvas = figures.tile_images(images, columns=2)
    assert canvas.shape == (2 * 2 + 1, 2 * 3 + 1)
    assert np.all(canvas[:2, :3] == 1.0) and np.all(canvas[:2, 4:] == 2.0)
    assert np.all(canvas[3:, :3] == -4.0)
    assert np.all(np.isnan(canvas[2])) and np.all(np.isnan(canvas[:, 3]))
    assert np.all(np.isnan(canvas[3:, 4:])), "the missing fourth image stays blank"
    normalised = figures.tile_images(images, columns=3, normalise_each=True)
    assert np.nanmax(normalised) == 1.0 and np.nanmin(normalised) == -1.0
    with pytest.raises(ValueError, match="height, width"):
        figures.tile_images(np.zeros((4, 4)), columns=2)


def test_image_grid_labels_rows_and_picks_the_colour_scale():
    images = np.random.default_rng(1).uniform(size=(6, 8, 8))
    grid = figures.image_grid(images, 3, "Reconstructions", row_labels=["input", "output"])
    heatmap = grid.data[0]
    assert np.asarray(heatmap.z).shape == (17, 26)
    assert (heatmap.zmin, heatmap.zmax) == (0.0, 1.0)
    assert [a.text for a in grid.layout.annotations] == ["input", "output"]
    weights = figures.image_grid(images - 0.5, 3, "Features", diverging=True).data[0]
    assert (weights.zmin, weights.zmid, weights.zmax) == (-1.0, 0.0, 1.0)


def test_codes_scatter_draws_one_trace_per_label():
    points = np.arange(12, dtype=float).reshape(6, 2)
    labels = np.array([0, 1, 0, 2, 1, 0])
    figure = figures.codes_scatter(points, labels, "PCA")
    assert [trace.name for trace in figure.data] == ["0", "1", "2"]
    np.testing.assert_array_equal(figure.data[0].x, [0.0, 4.0, 10.0])
    assert figure.layout.xaxis.title.text == "principal component 1"


def test_codes_scatter_tags_each_point_with_its_test_digit_and_can_take_clicks_anywhere():
    from ae_core import latent_clicks

    points = np.array([[0.0, -1.0], [2.0, 1.0], [1.0, 3.0], [-1.0, 0.0]])
    labels = np.array([5, 7, 5, 7])
    plain = figures.codes_scatter(points, labels, "code")
    np.testing.assert_array_equal(plain.data[0].customdata, [0, 2])  # the test digits' numbers
    np.testing.assert_array_equal(plain.data[1].customdata, [1, 3])
    assert len(plain.data) == 2, "no plane and no mark unless asked"

    figure = figures.codes_scatter(
        points, labels, "code", clickable_plane=True, marked=((0.5, 0.25), "decoded here")
    )
    plane, *digits, mark = figure.data
    assert [trace.name for trace in digits] == ["5", "7"]
    assert set(plane.customdata) == {latent_clicks.PLANE}
    assert len(plane.x) == figures.PLANE_POINTS**2
    # The plane covers every point, with a margin, so every empty place is near one of its points.
    assert min(plane.x) < points[:, 0].min() and max(plane.x) > points[:, 0].max()
    assert min(plane.y) < points[:, 1].min() and max(plane.y) > points[:, 1].max()
    assert (tuple(mark.x), tuple(mark.y), mark.name) == ((0.5,), (0.25,), "decoded here")
    assert mark.marker.symbol == "star"


def test_planes_3d_draws_the_cloud_and_two_planes_through_the_centre():
    rng = np.random.default_rng(2)
    points = rng.normal(size=(50, 3)) * [3.0, 1.0, 0.1]
    center = points.mean(axis=0)
    basis = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])  # spans the x-y plane, not orthonormal
    figure = figures.planes_3d(points, center, basis, np.eye(3)[:2])
    assert [trace.name for trace in figure.data] == ["data", "autoencoder", "PCA"]
    plane = figure.data[1]
    assert np.allclose(np.asarray(plane.z), center[2]), "the x-y plane through the centre"
    assert np.allclose(np.mean(np.asarray(plane.x)), center[0])


def test_planes_3d_draws_equal_planes_as_the_same_patch_and_shows_a_tilt():
    rng = np.random.default_rng(3)
    points = rng.normal(size=(80, 3)) * [2.0, 1.0, 0.05]
    center = points.mean(axis=0)
    pca_basis = np.eye(3)[:2]
    # The same plane, spanned by a rotated basis, about another point of it.
    angle = 0.7
    rotated = np.array([[np.cos(angle), np.sin(angle), 0.0], [-np.sin(angle), np.cos(angle), 0.0]])
    shifted = center + np.array([0.4, -0.3, 0.0])
    figure = figures.planes_3d(points, center, rotated, pca_basis, autoencoder_center=shifted)
    autoencoder, pca = figure.data[1], figure.data[2]
    for axis in ("x", "y", "z"):
        assert np.allclose(np.asarray(getattr(autoencoder, axis)), np.asarray(getattr(pca, axis)))

    tilted = np.array([[1.0, 0.0, 0.2], [0.0, 1.0, 0.0]])
    figure = figures.planes_3d(points, center, tilted, pca_basis)
    assert not np.allclose(np.asarray(figure.data[1].z), np.asarray(figure.data[2].z))


# --- a sweep --------------------------------------------------------------------------------------


def test_sweep_loss_curves_draw_one_line_per_value_in_its_colour():
    histories = [HISTORY, HISTORY[:2], []]
    figure = figures.sweep_loss_curves("learning_rate", [1e-4, 0.001, 0.01], histories)
    assert [trace.name for trace in figure.data] == ["0.0001", "0.001", "0.01"]
    assert [trace.line.color for trace in figure.data] == list(palette.SERIES[:3])
    assert list(figure.data[0].x) == [10, 20, 30]
    assert list(figure.data[1].y) == pytest.approx([0.7, 0.4])
    assert len(figure.data[2].x) == 0, "a queued run keeps its place (and colour)"
    assert figure.layout.legend.title.text == "learning_rate"
    assert figure.layout.title.text == "Loss for each value of learning_rate"
    assert figure.layout.yaxis.type == "log"
    assert figures.sweep_colour(8) == figures.sweep_colour(0)


def test_sweep_code_activation_draws_the_code_layer_against_each_target():
    histories = [HISTORY, HISTORY[:1]]
    # The target swept: a dashed line per run, in the run's colour.
    figure = figures.sweep_code_activation("sparsity_target", [0.05, 0.2], histories, [0.05, 0.2])
    assert [trace.name for trace in figure.data] == ["0.05", "0.2"]
    assert list(figure.data[0].y) == [0.3, 0.2, 0.1], "the last encoder layer: the code"
    assert list(figure.data[1].y) == [0.3]
    lines = [(shape.y0, shape.line.color, shape.line.dash) for shape in figure.layout.shapes]
    assert lines == [(0.05, palette.SERIES[0], "dash"), (0.2, palette.SERIES[1], "dash")]
    assert [note.text for note in figure.layout.annotations] == ["target 0.05", "target 0.2"]
    # Another setting swept, one target for all: one line in the target's colour.
    shared = figures.sweep_code_activation("code_size", [8, 16], histories, [0.1, 0.1])
    assert [(s.y0, s.line.color) for s in shared.layout.shapes] == [(0.1, palette.TARGET_COLOUR)]
    assert [note.text for note in shared.layout.annotations] == ["sparsity target 0.1"]
    # No sparsity penalty: no line.
    assert not figures.sweep_code_activation("code_size", [8, 16], histories).layout.shapes


def test_image_tiles_frame_a_grid_in_the_colour_and_scale_it_up_sharply():
    images = np.stack([np.full((2, 3), value) for value in (0.0, 1.0, 0.5)])
    plain = figures.image_tiles(images, columns=2)
    assert plain.dtype == np.uint8 and plain.shape == (5, 7, 3)
    assert np.all(plain[:2, :3] == 0) and np.all(plain[:2, 4:] == 255)
    assert np.all(plain[3:, :3] == 128), "grey 0.5"
    assert np.all(plain[2] == 255) and np.all(plain[3:, 4:] == 255), "white gaps and blanks"

    framed = figures.image_tiles(images, columns=2, frame_colour="#1f77b4", frame=2, min_width=20)
    scale = 3  # 7 pixels across, repeated to at least 20
    assert framed.shape == (5 * scale + 4, 7 * scale + 4, 3)
    assert tuple(framed[0, 0]) == (0x1F, 0x77, 0xB4) and tuple(framed[-1, -1]) == (0x1F, 0x77, 0xB4)
    inside = framed[2:-2, 2:-2]
    np.testing.assert_array_equal(inside[::scale, ::scale], plain)
    np.testing.assert_array_equal(inside[1::scale, 2::scale], plain)  # each pixel a block
    with pytest.raises(ValueError, match="#1f77b4"):
        figures.image_tiles(images, 2, frame_colour="blue")
