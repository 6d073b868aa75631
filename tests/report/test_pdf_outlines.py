"""Issue 22: the dose page draws a region's outline without a matplotlib contour set
(`report.pdf._outline`); the PDF must be the same file as the one `ax.contour` makes, byte for byte."""

import io

import numpy as np
import pytest
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from dosimetry.report.pdf import _outline


def _pdf(draw) -> bytes:
    fig = Figure(figsize=(3, 3))
    ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
    ax.imshow(np.arange(12.0).reshape(3, 4), extent=(-35, 35, 30, -30), cmap="gray")  # under the outline (z-order 0)
    ax.axhline(0, color="#00ff00", zorder=1.5)  # under the outline as well: a contour set's z-order is 2
    draw(ax)
    ax.plot([-30, 30], [20, -20], color="black")  # over it (z-order 2, added after)
    ax.set_xlim(-40, 40)
    ax.set_ylim(40, -40)
    buf = io.BytesIO()
    with PdfPages(buf, metadata={"CreationDate": None}) as pdf:
        pdf.savefig(fig)
    return buf.getvalue()


def _masks():
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[:24, :32]
    disc = (yy - 11) ** 2 + (xx - 15) ** 2 < 49
    yield "empty", np.zeros((24, 32), bool)
    yield "full", np.ones((24, 32), bool)
    yield "one voxel", (yy == 5) & (xx == 7)
    yield "disc", disc
    yield "ring (a hole)", disc & ((yy - 11) ** 2 + (xx - 15) ** 2 >= 9)
    yield "two islands and the edge", (xx < 3) | ((yy - 4) ** 2 + (xx - 25) ** 2 < 5) | disc
    yield "float32 fractions", (rng.random((24, 32)) * disc).astype(np.float32)
    for k in range(3):
        yield f"noise {k}", rng.random((24, 32)) > 0.6


@pytest.mark.parametrize(("name", "mask"), list(_masks()), ids=[n for n, _ in _masks()])
@pytest.mark.parametrize("descending", [False, True])
def test_an_outline_is_drawn_as_ax_contour_draws_it(name, mask, descending):
    ny, nx = mask.shape
    xs = -35 + (np.arange(nx) + 0.5) * 70 / nx
    ys = (30 - (np.arange(ny) + 0.5) * 60 / ny) if descending else (-30 + (np.arange(ny) + 0.5) * 60 / ny)  # the page's rows run either way

    def contour(ax):
        ax.contour(xs, ys, mask.astype(float), levels=[0.5], colors=["#ff00ff"], linewidths=1.1)

    def outline(ax):
        _outline(ax, xs, ys, mask, "#ff00ff")

    assert _pdf(outline) == _pdf(contour)


@pytest.mark.parametrize(("name", "mask"), list(_masks())[1:6], ids=[n for n, _ in list(_masks())[1:6]])
def test_an_outline_on_voxel_indices_is_drawn_as_ax_contour_without_coordinates(name, mask):
    # the verification's registration page: ax.contour(m, levels=[0.5], ...) on the voxel indices
    m = mask.astype(float)

    def contour(ax):
        ax.contour(m, levels=[0.5], colors=["#00e5ff"], linewidths=0.8)

    def outline(ax):
        _outline(ax, np.arange(m.shape[1]), np.arange(m.shape[0]), m, "#00e5ff", linewidth=0.8)

    assert _pdf(outline) == _pdf(contour)
