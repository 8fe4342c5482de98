"""medimg.torch: autograd through medimg's adjoints, checked by torch's
gradcheck (double), against medimg's forward ops and SimpleITK's resample,
and by a rigid fit that recovers a known transform."""
import math
import os
import sys

import numpy as np
import pytest
import SimpleITK as sitk
import torch

import medimg
import medimg.torch as mt

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "python")


@pytest.fixture
def problem():
    torch.manual_seed(0)
    grid_in = medimg.Grid((8, 9, 10), origin=(-3.0, 2.0, 1.0), spacing=(1.0, 1.5, 2.0))
    # Output grid inside the input, so that no sample crosses the border
    # (where the fill makes the map discontinuous), and off the input's
    # voxel centres (where linear interpolation has its kinks).
    grid_out = medimg.Grid((5, 6, 6), origin=(-1.37, 4.61, 5.23), spacing=(1.0, 1.5, 2.0))
    volume = torch.rand(grid_in.size, dtype=torch.float64, requires_grad=True)
    matrix = torch.tensor([[0.99, 0.05, 0.0, 0.3], [-0.05, 0.99, 0.01, 0.2],
                           [0.0, -0.01, 1.0, 0.1]], dtype=torch.float64, requires_grad=True)
    return volume, matrix, grid_in, grid_out


@pytest.mark.parametrize("interp", ["linear", "bspline"])
def test_gradcheck_volume_and_matrix(problem, interp):
    volume, matrix, grid_in, grid_out = problem
    assert torch.autograd.gradcheck(
        lambda v, m: mt.resample(v, grid_in, grid_out, m, interp=interp), (volume, matrix),
        eps=1e-6, atol=1e-6)


def test_gradcheck_rigid_parameters(problem):
    volume, _, grid_in, _ = problem
    angles = torch.tensor([0.02, -0.03, 0.05], dtype=torch.float64, requires_grad=True)
    shift = torch.tensor([0.2, -0.1, 0.3], dtype=torch.float64, requires_grad=True)
    small = medimg.Grid(grid_in.size, grid_in.origin, grid_in.spacing)
    # Only the voxels that stay inside: multiply by a fixed mask of the interior.
    mask = torch.zeros(small.size, dtype=torch.float64)
    mask[2:-2, 2:-2, 2:-2] = 1
    assert torch.autograd.gradcheck(
        lambda a, s: mt.rotate(volume.detach(), small, a, s, interp="bspline") * mask,
        (angles, shift), eps=1e-6, atol=1e-6)


def test_nearest_has_a_volume_gradient_and_no_parameter_gradient(problem):
    volume, matrix, grid_in, grid_out = problem
    y = mt.resample(volume, grid_in, grid_out, matrix, interp="nearest")
    y.sum().backward()
    assert volume.grad.sum().item() == pytest.approx(y.numel())  # every output voxel counted once
    assert torch.count_nonzero(matrix.grad).item() == 0


def test_forward_matches_simpleitk_resample():
    rng = np.random.default_rng(7)
    data = rng.random((20, 18, 16))
    grid = medimg.Grid(data.shape, origin=(1.0, -2.0, 3.0), spacing=(1.2, 0.8, 1.5))
    matrix = torch.tensor(mt.rigid_matrix([0.05, -0.02, 0.1], [0.5, 0.2, -0.3],
                                          grid.index_to_point([9.5, 8.5, 7.5])).tolist())
    ours = mt.affine(torch.from_numpy(data), grid, matrix).numpy()
    peer = sitk.GetImageFromArray(data.T.copy())
    peer.SetOrigin(grid.origin)
    peer.SetSpacing(grid.spacing)
    transform = sitk.AffineTransform(3)
    transform.SetMatrix(matrix[:, :3].reshape(-1).tolist())
    transform.SetTranslation(matrix[:, 3].tolist())
    expected = sitk.GetArrayFromImage(sitk.Resample(peer, peer, transform, sitk.sitkLinear, 0.0,
                                                    sitk.sitkFloat64)).T
    assert np.abs(ours - expected).max() < 1e-10


def test_float32_gradients_agree_with_float64(problem):
    volume, matrix, grid_in, grid_out = problem
    grads = []
    for dtype in (torch.float32, torch.float64):
        v = volume.detach().to(dtype).requires_grad_()
        m = matrix.detach().clone().requires_grad_()
        (mt.resample(v, grid_in, grid_out, m) ** 2).sum().backward()
        grads.append((v.grad.double(), m.grad.double()))
    assert torch.allclose(grads[0][0], grads[1][0], atol=1e-5)
    assert torch.allclose(grads[0][1], grads[1][1], rtol=1e-4, atol=1e-4)


def test_rigid_fit_example_recovers_the_transform():
    sys.path.insert(0, EXAMPLES)
    try:
        import fit_rigid
    finally:
        sys.path.pop(0)
    angles, shift, true_angles, true_shift = fit_rigid.fit(verbose=False)
    assert torch.max(torch.abs(angles - true_angles)).item() < math.radians(0.1)
    assert torch.max(torch.abs(shift - true_shift)).item() < 0.05


def test_bad_arguments_are_clear():
    grid = medimg.Grid((4, 4, 4))
    with pytest.raises(TypeError, match="float32 or float64"):
        mt.affine(torch.zeros(4, 4, 4, dtype=torch.int32), grid, torch.eye(4, dtype=torch.float64))
    with pytest.raises(ValueError, match="differs from the input grid"):
        mt.affine(torch.zeros(4, 4, 5), grid, torch.eye(4, dtype=torch.float64))
    with pytest.raises(ValueError, match="3x4 or 4x4"):
        mt.affine(torch.zeros(4, 4, 4), grid, torch.eye(3, dtype=torch.float64))
