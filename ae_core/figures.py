"""Pure functions from data to plotly figures: what the app's pages draw.

Inputs are plain data (history points as ``Progress.to_dict()`` gives them, NumPy arrays from
``ae_core.analysis``); nothing here imports TensorFlow or Streamlit, so a figure can be drawn from
stored metrics alone, and every builder can be tested by reading the figure's numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

# Whole, before plotly: plotly can pick up a half-imported pandas from another page's thread.
import pandas  # noqa: F401
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from ae_core import palette
from ae_core.latent_clicks import PLANE

# The white template as the default: named on each figure, plotly would validate it each time.
pio.templates.default = "plotly_white"


def _layout(figure: go.Figure, title: str, x_title: str, y_title: str) -> go.Figure:
    figure.update_layout(
        title=title,
        xaxis_title=x_title,
        yaxis_title=y_title,
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 60, "r": 20, "t": 50, "b": 60},
    )
    return figure


# A log axis's tick mantissas, sparsest first: the powers of ten, then 1-2-5 in each decade, then
# every digit. An axis takes the sparsest that puts at least three ticks on its data.
_LOG_MANTISSAS = ((1,), (1, 2, 5), tuple(range(1, 10)))
# Most powers of ten labelled on one axis; over more decades every second (third, ...) one.
_MOST_DECADES = 8


def _tick_label(value: float) -> str:
    """A tick's whole value, grouped like the app's other numbers: "0.05", "2", "1,000"."""
    return f"{value:,.12g}"


def log_ticks(values) -> tuple[list[float], list[str]]:
    """Where a log axis over the positive ``values`` puts its ticks, and their labels.

    Every tick is labelled with its whole value (plotly's own minor ticks read "2" and "5" for
    0.02 and 0.05), at 1-2-5 steps in each decade or fewer: the powers of ten alone over two
    decades or more (only every second, third, ... one over more than eight), every digit over a
    range too narrow for three 1-2-5 ticks. A range too narrow even for that gets evenly spaced
    ticks. Non-positive and missing values are left out (a log axis has no place for them); no
    values, no ticks.
    """
    data = np.asarray(values, dtype=float).ravel()
    data = data[np.isfinite(data) & (data > 0)]
    if not len(data):
        return [], []
    low, high = float(data.min()), float(data.max())
    decades = range(math.floor(math.log10(low)), math.floor(math.log10(high)) + 1)
    ticks: list[float] = []
    for mantissas in _LOG_MANTISSAS:
        ticks = [m * 10.0**e for e in decades for m in mantissas if low <= m * 10.0**e <= high]
        if len(ticks) >= 3:
            break
    if len(ticks) > _MOST_DECADES:  # powers of ten only, over many decades
        ticks = ticks[:: math.ceil(len(ticks) / _MOST_DECADES)]
    if len(ticks) < 2:
        ticks = _even_ticks(low, high)
    return ticks, [_tick_label(tick) for tick in ticks]


def _even_ticks(low: float, high: float) -> list[float]:
    """Ticks at a round step (1, 2 or 5 times a power of ten) between ``low`` and ``high``."""
    if high <= low:
        return [low]
    rough = (high - low) / 3
    power = 10.0 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    first = math.ceil(low / step - 1e-9)
    return [k * step for k in range(first, math.floor(high / step + 1e-9) + 1)]


def _log_axis(values) -> dict:
    """A log axis's settings for ``values``: ``log_ticks`` as its ticks."""
    ticks, labels = log_ticks(values)
    if not ticks:
        return {"type": "log"}
    return {"type": "log", "tickmode": "array", "tickvals": ticks, "ticktext": labels}


def _log_y(figure: go.Figure) -> None:
    """Put the figure's y axis on a log scale, ticked by the values of all its lines."""
    values = [np.asarray(trace.y, dtype=float) for trace in figure.data if trace.y is not None]
    figure.update_yaxes(**_log_axis(np.concatenate(values) if values else []))


def _phase_starts(history: Sequence[Mapping]) -> list[tuple[int, str]]:
    """(step, phase name) where a new training phase begins, after the first."""
    if not history:
        return []
    starts, previous = [], None
    for before, point in zip([None, *history[:-1]], history, strict=True):
        if previous is not None and point["phase_index"] != previous:
            starts.append((before["step"] if before else 0, point["phase"]))
        previous = point["phase_index"]
    return starts


def _mark_phases(figure: go.Figure, history: Sequence[Mapping]) -> None:
    for step, phase in _phase_starts(history):
        figure.add_vline(x=step, line_dash="dot", line_color=palette.PHASE_COLOUR)
        figure.add_annotation(
            x=step, y=1, yref="paper", text=phase, showarrow=False, xanchor="left", yanchor="top"
        )


def _series(history: Sequence[Mapping], value) -> np.ndarray:
    """One number per history point (NaN where there is none, drawn as a gap). Arrays, not
    lists: plotly checks a list element by element, which the live charts pay every second."""
    return np.array([value(point) for point in history], dtype=float)


def _awaiting_points(
    figure: go.Figure,
    history: Sequence[Mapping],
    total_steps: int | None,
    y_range: tuple[float, float] | None = None,
) -> None:
    """The axes of a run with no point yet: its whole length of steps, and a note saying so."""
    if history or total_steps is None:
        return
    figure.update_xaxes(range=[0, total_steps])
    if y_range is None:
        figure.update_yaxes(showticklabels=False)
    else:
        figure.update_yaxes(range=list(y_range))
    figure.add_annotation(
        text="No points yet", xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False
    )


def loss_curves(
    history: Sequence[Mapping],
    title: str = "Loss",
    log_y: bool = False,
    examples_name: str = "test digits",
    total_steps: int | None = None,
) -> go.Figure:
    """The total objective and each of its terms against the step, one line each, and the
    reconstruction term on the held-out examples where the history has it (a dashed line beside
    the training one: a gap growing between them is over-fitting). With no history and the
    run's ``total_steps``, the empty axes a run starts from."""
    figure = go.Figure()
    steps = _series(history, lambda point: point["step"])
    terms = list(dict.fromkeys(name for point in history for name in point["loss_terms"]))
    if len(terms) > 1 or not terms:
        figure.add_trace(
            go.Scatter(
                x=steps,
                y=_series(history, lambda point: point["loss"]),
                name="total",
                mode="lines",
                line={"color": palette.term_colour("total"), "width": 3},
            )
        )
    for name in terms:
        figure.add_trace(
            go.Scatter(
                x=steps,
                y=_series(history, lambda point, name=name: point["loss_terms"].get(name)),
                name=name,
                mode="lines",
                line={"color": palette.term_colour(name)},
            )
        )
    measured = [point for point in history if point.get("held_out_loss") is not None]
    if measured:
        examples = measured[-1]["held_out_examples"]
        figure.add_trace(
            go.Scatter(
                x=_series(measured, lambda point: point["step"]),
                y=_series(measured, lambda point: point["held_out_loss"]),
                name=f"held-out ({examples:,} {examples_name})",
                mode="lines",
                line={"color": palette.term_colour("held-out"), "dash": "dash", "width": 2},
            )
        )
    _mark_phases(figure, history)
    _layout(figure, title, "step", "loss (mean over each window of steps)")
    if log_y:
        _log_y(figure)
    _awaiting_points(figure, history, total_steps)
    return figure


def mean_activation_curves(
    history: Sequence[Mapping],
    sparsity_target: float | None = None,
    total_steps: int | None = None,
) -> go.Figure:
    """The mean activation of each encoder layer against the step; the target as a dashed line.
    With no history and the run's ``total_steps``, the empty axes a run starts from."""
    figure = go.Figure()
    steps = _series(history, lambda point: point["step"])
    depth = max((len(point["mean_activation"]) for point in history), default=0)
    for layer in range(depth):
        name = "code" if layer == depth - 1 else f"encoder {layer + 1}"
        figure.add_trace(
            go.Scatter(
                x=steps,
                y=_series(history, lambda point, layer=layer: point["mean_activation"][layer]),
                name=name,
                mode="lines",
                connectgaps=False,  # a layer a phase does not run has no value there
                line={"color": palette.layer_colour(name)},
            )
        )
    if sparsity_target is not None:
        figure.add_hline(
            y=sparsity_target,
            line_dash="dash",
            line_color=palette.TARGET_COLOUR,
            annotation_text=f"sparsity target {sparsity_target:g}",
        )
    _mark_phases(figure, history)
    _awaiting_points(figure, history, total_steps, y_range=(0.0, 1.0))
    return _layout(figure, "Mean activation per layer", "step", "mean activation")


def compare_loss_curves(
    histories: Mapping[str, Sequence[Mapping]], log_y: bool = True, total: bool = False
):
    """The reconstruction term of several runs, overlaid (the same measure whatever their
    penalties), or with ``total`` their whole objective; keys are the runs' labels."""
    loss = "total loss" if total else "reconstruction loss"

    def value(point: Mapping) -> float | None:
        return point["loss"] if total else point["loss_terms"].get("reconstruction")

    figure = go.Figure()
    for index, (label, history) in enumerate(histories.items()):
        figure.add_trace(
            go.Scatter(
                x=_series(history, lambda point: point["step"]),
                y=_series(history, value),
                name=label,
                mode="lines",
                line={"color": palette.series_colour(index)},
            )
        )
    _layout(figure, f"{loss.capitalize()} of each run", "step", loss)
    if log_y:
        _log_y(figure)
    return figure


def activation_histograms(layers: Mapping[str, Mapping]) -> go.Figure:
    """One histogram per layer, from ``analysis.activation_summary`` of each, in the layer's
    colour; its title counts the dead units, and for the output layer the pixels that never
    change in the data (giving them one value is right, so they are not dead)."""
    names = list(layers)
    columns = min(3, max(1, len(names)))
    rows = -(-len(names) // columns) if names else 1
    figure = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[_histogram_title(name, layers[name]) for name in names] or None,
        horizontal_spacing=0.1,  # room for each histogram's own axis title
    )
    for index, name in enumerate(names):
        edges = np.asarray(layers[name]["histogram_edges"], dtype=float)
        figure.add_trace(
            go.Bar(
                x=(edges[:-1] + edges[1:]) / 2,
                y=np.asarray(layers[name]["histogram_counts"]),
                width=np.diff(edges),
                name=name,
                marker_color=palette.layer_colour(name),
                showlegend=False,
            ),
            row=index // columns + 1,
            col=index % columns + 1,
        )
    figure.update_xaxes(title_text="activation")
    figure.update_yaxes(title_text="count")
    figure.update_layout(
        title="Activations over a test batch",
        height=300 * rows + 60,
        bargap=0,
    )
    return figure


def _histogram_title(name: str, layer: Mapping) -> str:
    title = f"{name}: mean {layer['mean']:.3g}, {layer['dead_units']}/{layer['units']} dead"
    constant = layer.get("constant_targets", 0)
    if constant:
        title += f"<br>{constant} pixels never change: not counted"
    return title


def unit_means(
    means: np.ndarray,
    sparsity_target: float | None = None,
    dead: np.ndarray | None = None,
    layer: str = "code",
) -> go.Figure:
    """Each unit's average activation, as bars in the layer's colour (dead units in grey); the
    target as a line."""
    means = np.asarray(means, dtype=float)
    dead = np.zeros(len(means), dtype=bool) if dead is None else np.asarray(dead, dtype=bool)
    colours = np.where(dead, palette.DEAD_COLOUR, palette.layer_colour(layer))
    figure = go.Figure(
        go.Bar(x=np.arange(1, len(means) + 1), y=means, marker_color=colours, name="unit mean")
    )
    if sparsity_target is not None:
        figure.add_hline(
            y=sparsity_target,
            line_dash="dash",
            line_color=palette.TARGET_COLOUR,
            annotation_text=f"target {sparsity_target:g}",
        )
    title = f"Average activation per unit of {layer} ({int(dead.sum())} of {len(means)} dead)"
    return _layout(figure, title, "unit", "average activation")


def kl_divergence(target: float, x: np.ndarray) -> np.ndarray:
    """KL(target || x) between Bernoulli distributions, the sparsity penalty of one unit."""
    x = np.asarray(x, dtype=float)
    return target * np.log(target / x) + (1 - target) * np.log((1 - target) / (1 - x))


def kl_divergence_curve(target: float, points: int = 400) -> go.Figure:
    """The penalty KL(target || x) for x in (0, 1): zero at the target, steep towards 0 and 1."""
    if not 0 < target < 1:
        raise ValueError(f"the sparsity target must be in (0, 1), not {target}")
    x = np.linspace(0.001, 0.999, points)
    figure = go.Figure(
        go.Scatter(
            x=x,
            y=kl_divergence(target, x),
            mode="lines",
            name=f"KL({target:g} || x)",
            line={"color": palette.term_colour("sparsity")},
        )
    )
    figure.add_vline(x=target, line_dash="dash", line_color=palette.TARGET_COLOUR)
    return _layout(
        figure,
        f"Sparsity penalty per unit: KL({target:g} || average activation)",
        "average activation of the unit",
        "KL divergence",
    )


def tile_images(
    images: np.ndarray, columns: int, gap: int = 1, normalise_each: bool = False
) -> np.ndarray:
    """Images (n, height, width) laid out in a grid, with NaN gaps between them.

    With ``normalise_each``, every image is divided by its own largest absolute value, so weight
    images of different scales all show their pattern (values in [-1, 1]).
    """
    images = np.asarray(images, dtype=float)
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"expected images of shape (n, height, width), not {images.shape}")
    if normalise_each:
        scale = np.abs(images).reshape(len(images), -1).max(axis=1)
        images = images / np.where(scale > 0, scale, 1.0)[:, None, None]
    count, height, width = images.shape
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    canvas = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap), np.nan)
    for index, image in enumerate(images):
        top, left = (index // columns) * (height + gap), (index % columns) * (width + gap)
        canvas[top : top + height, left : left + width] = image
    return canvas


def image_grid(
    images: np.ndarray,
    columns: int,
    title: str,
    row_labels: Sequence[str] = (),
    diverging: bool = False,
) -> go.Figure:
    """A grid of grey images (pixels in [0, 1]), or of signed weights on a diverging scale."""
    canvas = tile_images(images, columns, normalise_each=diverging)
    if diverging:
        colours = {"colorscale": "RdBu", "zmin": -1.0, "zmax": 1.0, "zmid": 0.0}
    else:
        colours = {"colorscale": "gray", "zmin": 0.0, "zmax": 1.0}
    figure = go.Figure(go.Heatmap(z=canvas, showscale=False, hoverinfo="skip", **colours))
    height = np.asarray(images).shape[1]
    for row, label in enumerate(row_labels):
        figure.add_annotation(
            x=-0.5,
            y=row * (height + 1) + height / 2,
            text=label,
            showarrow=False,
            xanchor="right",
        )
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    rows = -(-len(images) // max(1, min(columns, len(images))))
    figure.update_layout(
        title=title,
        height=max(200, 60 * rows + 80),
        margin={"l": 90 if row_labels else 10, "r": 10, "t": 50, "b": 10},
    )
    return figure


def codes_scatter(
    points: np.ndarray,
    labels: np.ndarray,
    method: str,
    clickable_plane: bool = False,
    marked: tuple[Sequence[float], str] | None = None,
) -> go.Figure:
    """Codes of test examples in 2-D, one colour per label, each point tagged (customdata)
    with its test example's index. With ``clickable_plane``, a faint grid of points over the
    plot, tagged ``latent_clicks.PLANE``, so a click on an empty place is a point to decode;
    ``marked``, a point and its name, is drawn as a star (a clicked place, a drawn digit)."""
    points, labels = np.asarray(points), np.asarray(labels)
    figure = go.Figure()
    if clickable_plane and len(points):
        figure.add_trace(_clickable_plane(points))
    for index, label in enumerate(np.unique(labels)):
        chosen = labels == label
        figure.add_trace(
            go.Scattergl(
                x=points[chosen, 0],
                y=points[chosen, 1],
                mode="markers",
                name=str(label),
                customdata=np.flatnonzero(chosen),
                hovertemplate=f"test digit %{{customdata}} (a {label})<extra></extra>",
                marker={
                    "size": 4,
                    "color": palette.LABEL_COLOURS[index % len(palette.LABEL_COLOURS)],
                },
            )
        )
    if marked is not None:
        (x, y), name = marked
        figure.add_trace(
            go.Scatter(
                x=[x],
                y=[y],
                mode="markers",
                name=name,
                hoverinfo="name",
                marker={
                    "symbol": "star",
                    "size": 18,
                    "color": palette.TOTAL_COLOUR,
                    "line": {"color": "white", "width": 1},
                },
            )
        )
    axis = {"code": "code unit", "PCA": "principal component", "t-SNE": "t-SNE axis"}
    word = axis.get(method, method)
    return _layout(figure, f"Codes of test digits ({method})", f"{word} 1", f"{word} 2")


# Points per side of the clickable plane: closer than plotly's 20-pixel reach for a click on a
# plot of the usual size, so every place of it is a click on one of them.
PLANE_POINTS = 41


def _clickable_plane(points: np.ndarray) -> go.Scattergl:
    """A faint grid over the points' range and a margin, each point tagged to be decoded."""
    low, high = points.min(axis=0), points.max(axis=0)
    margin = 0.05 * np.maximum(high - low, 1e-6)
    xs = np.linspace(low[0] - margin[0], high[0] + margin[0], PLANE_POINTS)
    ys = np.linspace(low[1] - margin[1], high[1] + margin[1], PLANE_POINTS)
    x, y = (grid.ravel() for grid in np.meshgrid(xs, ys))
    return go.Scattergl(
        x=x,
        y=y,
        mode="markers",
        name="decode here",
        customdata=[PLANE] * len(x),
        hovertemplate="decode (%{x:.2f}, %{y:.2f})<extra></extra>",
        marker={"size": 3, "color": palette.DEAD_COLOUR, "opacity": 0.25},
        showlegend=False,
    )


def _plane(center: np.ndarray, basis: np.ndarray, extent: float, name: str, colour: str):
    grid = np.linspace(-extent, extent, 2)
    a, b = np.meshgrid(grid, grid)
    surface = center[:, None, None] + basis[0][:, None, None] * a + basis[1][:, None, None] * b
    return go.Surface(
        x=surface[0],
        y=surface[1],
        z=surface[2],
        name=name,
        showscale=False,
        opacity=0.45,
        colorscale=[[0, colour], [1, colour]],
        showlegend=True,
    )


def planes_3d(
    points: np.ndarray,
    center: np.ndarray,
    autoencoder_basis: np.ndarray,
    pca_basis: np.ndarray,
    autoencoder_center: np.ndarray | None = None,
) -> go.Figure:
    """A 3-D point cloud with the plane the linear autoencoder found and PCA's plane.

    PCA's plane passes through ``center`` (the data mean); the autoencoder's affine plane passes
    through ``autoencoder_center`` (its decoding of the zero code) when given, else ``center``.
    """
    points = np.asarray(points, dtype=float)
    center = np.asarray(center, dtype=float)
    extent = float(np.abs(points - center).max())
    pca = _orthonormal(pca_basis)
    autoencoder = _orthonormal(autoencoder_basis)
    own_center = center if autoencoder_center is None else np.asarray(autoencoder_center, float)
    # A plane has many bases: draw the autoencoder's along PCA's directions projected onto it,
    # about the point nearest PCA's centre, so equal planes draw as the same patch and only a
    # real tilt or shift shows.
    aligned = (pca @ autoencoder.T) @ autoencoder
    if np.linalg.matrix_rank(aligned, tol=1e-6) == len(autoencoder):
        autoencoder = _orthonormal(aligned)
    own_center = own_center + ((center - own_center) @ autoencoder.T) @ autoencoder
    figure = go.Figure(
        [
            go.Scatter3d(
                x=points[:, 0],
                y=points[:, 1],
                z=points[:, 2],
                mode="markers",
                marker={"size": 2, "color": "#555555"},
                name="data",
            ),
            _plane(own_center, autoencoder, extent, "autoencoder", palette.SERIES[0]),
            _plane(center, pca, extent, "PCA", palette.SERIES[1]),
        ]
    )
    figure.update_layout(title="The plane each method found", height=520)
    return figure


def _orthonormal(rows: np.ndarray) -> np.ndarray:
    """An orthonormal basis (as rows) of the span of ``rows``: Gram-Schmidt, so the first row
    keeps the first input's direction (QR alone may flip signs)."""
    q, r = np.linalg.qr(np.asarray(rows, dtype=float).T)
    signs = np.where(np.diag(r) < 0, -1.0, 1.0)
    return (q * signs).T


# -- a sweep: the runs of several values of one setting, side by side ------------------------------
def sweep_colour(index: int) -> str:
    """The colour of a sweep's ``index``-th value: the same in each of the sweep's charts and
    around each of its pictures."""
    return palette.series_colour(index)


def sweep_value_label(value) -> str:
    """A swept value as the legend and the columns name it (``0.05``, ``1e-05``, ``32``)."""
    return f"{value:.12g}" if isinstance(value, float) else str(value)


def sweep_loss_curves(
    field: str, values: Sequence, histories: Sequence[Sequence[Mapping]], log_y: bool = True
) -> go.Figure:
    """The total objective of each of a sweep's runs against the step, one line per value in
    the value's colour (a run with no points yet keeps its place and its colour)."""
    lines = _sweep_lines(values, histories, lambda point: point["loss"])
    layout = _sweep_layout(f"Loss for each value of {field}", field, "total loss")
    if log_y:
        layout["yaxis"].update(_log_axis(np.concatenate([[], *(line["y"] for line in lines)])))
    return go.Figure(data=lines, layout=layout)


def sweep_code_activation(
    field: str,
    values: Sequence,
    histories: Sequence[Sequence[Mapping]],
    targets: Sequence[float | None] = (),
) -> go.Figure:
    """The mean activation of the code (the last encoder layer) of each of a sweep's runs
    against the step, one line per value in its colour; each run's sparsity target (None: it
    has none) as a dashed line: one black line when the runs share their target, else one in
    each run's colour."""
    lines = _sweep_lines(values, histories, _code_activation)
    targets = list(targets) or [None] * len(values)
    distinct = {target for target in targets if target is not None}
    if len(distinct) == 1 and None not in targets:
        levels = [(distinct.pop(), palette.TARGET_COLOUR, "sparsity target")]
    else:
        levels = [
            (target, sweep_colour(index), "target")
            for index, target in enumerate(targets)
            if target is not None
        ]
    layout = _sweep_layout(
        f"Mean code activation for each value of {field}", field, "mean activation"
    )
    layout["shapes"] = [_level_line(target, colour) for target, colour, _ in levels]
    layout["annotations"] = [
        _level_note(target, colour, f"{word} {target:g}") for target, colour, word in levels
    ]
    return go.Figure(data=lines, layout=layout)


# Redrawn every second while a sweep trains: built in one go (dict traces), so plotly checks once.
def _sweep_lines(values: Sequence, histories: Sequence[Sequence[Mapping]], value) -> list[dict]:
    return [
        {
            "type": "scatter",
            "x": _series(history, lambda point: point["step"]),
            "y": _series(history, value),
            "name": sweep_value_label(swept),
            "mode": "lines",
            "connectgaps": False,
            "line": {"color": sweep_colour(index)},
        }
        for index, (swept, history) in enumerate(zip(values, histories, strict=True))
    ]


def _sweep_layout(title: str, field: str, y_title: str) -> dict:
    """The layout ``_layout`` gives, with the legend titled by the swept setting."""
    return {
        "title": {"text": title},
        "xaxis": {"title": {"text": "step"}},
        "yaxis": {"title": {"text": y_title}},
        "legend": {"orientation": "h", "y": -0.2, "title": {"text": field}},
        "margin": {"l": 60, "r": 20, "t": 50, "b": 60},
    }


def _code_activation(point: Mapping) -> float | None:
    means = point["mean_activation"]
    return means[-1] if means else None


def _level_line(y: float, colour: str) -> dict:
    """A dashed line across the plot at height ``y``, as ``add_hline`` draws it."""
    return {
        "type": "line",
        "xref": "x domain",
        "x0": 0,
        "x1": 1,
        "yref": "y",
        "y0": y,
        "y1": y,
        "line": {"dash": "dash", "color": colour},
    }


def _level_note(y: float, colour: str, text: str) -> dict:
    return {
        "xref": "x domain",
        "x": 1,
        "yref": "y",
        "y": y,
        "text": text,
        "showarrow": False,
        "xanchor": "right",
        "yanchor": "bottom",
        "font": {"color": colour},
    }


def _rgb(colour: str) -> tuple[int, int, int]:
    """A "#rrggbb" colour as three 0-255 numbers."""
    text = colour.lstrip("#")
    if len(text) != 6:
        raise ValueError(f"expected a colour such as #1f77b4, not {colour!r}")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def image_tiles(
    images: np.ndarray,
    columns: int,
    frame_colour: str | None = None,
    frame: int = 4,
    min_width: int = 0,
) -> np.ndarray:
    """Grey images (n, height, width; pixels in [0, 1]) in a grid, as an RGB picture (uint8,
    height x width x 3): white between the images, each pixel repeated to at least
    ``min_width`` pixels across (sharp, not blurred, when shown large), and a ``frame`` pixels
    wide border in ``frame_colour``.

    For pictures redrawn while a page polls: shown with ``st.image``, a picture is a PNG the
    browser fetches once and keeps, where ``image_grid``'s heatmap sends every pixel again as
    JSON each time (measured: 0.02 s and 230 kB for 20 MNIST digits).
    """
    canvas = tile_images(images, columns)
    grey = np.where(np.isnan(canvas), 1.0, np.clip(canvas, 0.0, 1.0))
    pixels = np.round(grey * 255).astype(np.uint8)
    scale = max(1, -(-int(min_width) // pixels.shape[1]))
    if scale > 1:
        pixels = pixels.repeat(scale, axis=0).repeat(scale, axis=1)
    picture = np.repeat(pixels[:, :, None], 3, axis=2)
    if frame_colour is not None and frame > 0:
        border = np.array(_rgb(frame_colour), dtype=np.uint8)
        height, width, _ = picture.shape
        framed = np.empty((height + 2 * frame, width + 2 * frame, 3), dtype=np.uint8)
        framed[:] = border
        framed[frame : frame + height, frame : frame + width] = picture
        picture = framed
    return picture
