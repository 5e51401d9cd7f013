"""The plot builders: pure functions whose figures carry the numbers they were given."""

from __future__ import annotations

import colorsys
import subprocess
import sys

import numpy as np
import pytest

from ae_core import figures


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
    assert held_out.line.color == figures.HELD_OUT_COLOUR != training.line.color
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


def test_mean_activation_curves_name_the_layers_and_show_the_target():
    figure = figures.mean_activation_curves(HISTORY, sparsity_target=0.05)
    assert [trace.name for trace in figure.data] == ["encoder 1", "code"]
    np.testing.assert_array_equal(figure.data[0].y, [0.4, 0.3, np.nan])
    assert list(figure.data[1].y) == [0.3, 0.2, 0.1]
    assert [s.y0 for s in figure.layout.shapes if s.xref == "x domain"] == [0.05]


def test_compare_overlays_one_line_per_run():
    figure = figures.compare_loss_curves({"run a": HISTORY, "run b": HISTORY[:2]})
    assert [(trace.name, len(trace.x)) for trace in figure.data] == [("run a", 3), ("run b", 2)]


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
    assert list(figure.data[0].marker.color) == [figures.PALETTE[0], "#bbbbbb", figures.PALETTE[0]]
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
    assert [trace.line.color for trace in figure.data] == list(figures.PALETTE[:3])
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
    assert lines == [(0.05, figures.PALETTE[0], "dash"), (0.2, figures.PALETTE[1], "dash")]
    assert [note.text for note in figure.layout.annotations] == ["target 0.05", "target 0.2"]
    # Another setting swept, one target for all: one black line.
    shared = figures.sweep_code_activation("code_size", [8, 16], histories, [0.1, 0.1])
    assert [(s.y0, s.line.color) for s in shared.layout.shapes] == [(0.1, figures.TOTAL_COLOUR)]
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
