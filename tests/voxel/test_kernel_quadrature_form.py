"""The kernel quadrature's loop (voxel/kernel.py ``_integrate``) gives the floats of its plain n x 3 form (issue 22).

``_integrate`` computes, per radial node, the Fibonacci directions one coordinate at a time, the flat
voxel index in integers and each trilinear corner's weight as ``(a * b) * c`` with shared products.
The plain form below is the quadrature as the module docstring states it (directions as an n x 3
array scaled by r / spacing, corner weights multiplied onto ones, bincount per corner); both must
give the same array bit for bit, so the kernel's values (tests/voxel/test_kernel.py) are unchanged.
"""

import math

import numpy as np
import pytest

from dosimetry.voxel import kernel


def _plain(spacing, edges, frac, cutoff, radial_nodes, direction_step):
    half = kernel.kernel_half_width(spacing, cutoff)
    shape = tuple(2 * h + 1 for h in half)
    gx, gw = np.polynomial.legendre.leggauss(radial_nodes)
    mids, hw = 0.5 * (edges[1:] + edges[:-1]), 0.5 * (edges[1:] - edges[:-1])
    r_nodes = (mids[:, None] + hw[:, None] * gx[None, :]).ravel()
    w_nodes = (frac[:, None] * (gw[None, :] / 2.0)).ravel()
    delta = float(spacing.min()) * direction_step
    acc = np.zeros(int(np.prod(shape)))
    strides = np.array([shape[1] * shape[2], shape[2], 1])
    golden = math.pi * (3.0 - math.sqrt(5.0))
    for n_idx, (r, w) in enumerate(zip(r_nodes, w_nodes)):
        if w == 0.0:
            continue
        n_dir = max(26, int(math.ceil(4.0 * math.pi * r * r / (delta * delta))))
        i = np.arange(n_dir, dtype=float)
        z = 1.0 - (2.0 * i + 1.0) / n_dir
        rho = np.sqrt(np.maximum(0.0, 1.0 - z * z))
        phi = i * golden + n_idx * golden
        t = np.stack([z, rho * np.sin(phi), rho * np.cos(phi)], axis=1) * (r / spacing)[None, :]
        base = np.floor(t)
        f = t - base
        flat0 = (base.astype(np.int64) + np.asarray(half)[None, :]) @ strides
        for corner in range(8):
            bits = ((corner >> 2) & 1, (corner >> 1) & 1, corner & 1)
            wt = np.ones(n_dir)
            for a, b in enumerate(bits):
                wt *= f[:, a] if b else (1.0 - f[:, a])
            acc += np.bincount(flat0 + int(np.dot(bits, strides)), weights=wt, minlength=acc.size) * (w / n_dir)
    phi = acc.reshape(shape)
    phi = (phi + phi[::-1]) / 2.0
    phi = (phi + phi[:, ::-1]) / 2.0
    return (phi + phi[:, :, ::-1]) / 2.0


@pytest.mark.parametrize(
    ("spacing", "density", "point_kernel", "radial_nodes"),
    [((4.42, 4.42, 4.42), 1.03, "monte_carlo", 1), ((5.0, 3.5, 2.7), 1.03, "monte_carlo", 1), ((6.0, 6.0, 6.0), 0.5, "monte_carlo", 2),
     ((4.42, 4.42, 4.42), 1.03, "loevinger", 1), ((7.0, 5.0, 6.0), 1.5, "monte_carlo", 3)],
)
def test_the_loop_gives_the_plain_forms_floats(spacing, density, point_kernel, radial_nodes):
    edges, frac, cutoff = kernel._shells(point_kernel, density)
    sp = np.asarray(spacing, float)
    got = kernel._fractions(spacing, density, point_kernel, radial_nodes=radial_nodes)
    assert got.tobytes() == _plain(sp, edges, frac, cutoff, radial_nodes, 0.15).tobytes()
