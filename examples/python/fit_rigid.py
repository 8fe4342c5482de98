"""Fit a rigid transform by gradient descent in torch, through medimg's
resample and its exact adjoint (docs/PYTHON.md, "Autograd").

A smooth phantom is moved by a known rotation and translation; starting from
the identity, Adam on the mean squared difference recovers them.

    python examples/python/fit_rigid.py        # prints the recovered parameters
    python examples/python/fit_rigid.py cuda   # the volumes on the GPU (a GPU build)
"""
import math
import sys

import numpy as np
import torch

import medimg
import medimg.torch as mt


def phantom(grid):
    """Three Gaussian blobs of different sizes (no symmetry to confuse the fit)."""
    i, j, k = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in grid.size], indexing="ij")
    points = np.stack([i, j, k], axis=-1) * np.asarray(grid.spacing)
    volume = np.zeros(grid.size)
    for center, width, weight in (((14, 16, 15), 5.0, 1.0), ((22, 12, 18), 3.0, 0.8),
                                  ((12, 22, 10), 4.0, 0.6)):
        volume += weight * np.exp(-np.sum((points - center) ** 2, axis=-1) / (2 * width**2))
    return torch.from_numpy(volume)


def fit(steps=300, learning_rate=0.02, verbose=True, device="cpu"):
    grid = medimg.Grid((32, 32, 30), spacing=(1.0, 1.0, 1.0))
    moving = phantom(grid).to(device)
    true_angles = torch.tensor([0.0, 0.0, math.radians(6.0)], dtype=torch.float64)
    true_shift = torch.tensor([1.5, -1.0, 0.5], dtype=torch.float64)
    with torch.no_grad():
        target = mt.rotate(moving, grid, true_angles, true_shift)

    angles = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    shift = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.Adam([angles, shift], lr=learning_rate)
    for step in range(steps):
        optimiser.zero_grad()
        loss = torch.mean((mt.rotate(moving, grid, angles, shift) - target) ** 2)
        loss.backward()
        optimiser.step()
        if verbose and step % 50 == 0:
            print(f"step {step:3d}  loss {loss.item():.3e}  angles (deg) "
                  f"{[round(math.degrees(a), 3) for a in angles.tolist()]}  shift (mm) "
                  f"{[round(s, 3) for s in shift.tolist()]}")
    return angles.detach(), shift.detach(), true_angles, true_shift


if __name__ == "__main__":
    angles, shift, true_angles, true_shift = fit(device=sys.argv[1] if len(sys.argv) > 1 else "cpu")
    print("recovered angles (deg):", [round(math.degrees(a), 3) for a in angles.tolist()],
          " true:", [round(math.degrees(a), 3) for a in true_angles.tolist()])
    print("recovered shift (mm):  ", [round(s, 3) for s in shift.tolist()],
          " true:", true_shift.tolist())
