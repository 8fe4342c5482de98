"""Differentiable resampling for PyTorch, through medimg's exact adjoints.

    import medimg.torch as mt
    y = mt.resample(x, grid_in, grid_out, matrix)      # matrix: (3, 4) [A | t]
    y.sum().backward()                                 # x.grad and matrix.grad

`x` is a tensor of float32 or float64 voxels indexed [i, j, k] (medimg's and
nibabel's order; a SimpleITK-ordered (z, y, x) tensor is `t.permute(2, 1,
0)`). On a GPU build of medimg (`medimg.has_gpu`) a CUDA tensor is used in
place through DLPack (copied once into i-fastest order if it is not in it),
the kernels and their adjoints run on the GPU and the results are CUDA
tensors over medimg's memory; a CPU build copies a CUDA tensor to the host
and its results back to the tensor's device. Grids are medimg.Image objects or medimg.Grid. `matrix` maps an output
point to an input point in LPS millimetres, as ITK's and SimpleITK's
resample transforms do: y(o) = x(A p(o) + t). The backward runs medimg's
adjoint kernels: dL/dx = A^T dL/dy exactly (the transposed B-spline
prefilter included) and dL/d[A | t] by the interpolator's own spatial
derivative, so rigid, similarity or any parameters built from `matrix` in
torch get their gradients through torch's chain rule (`rigid_matrix`).
Nearest-neighbour resampling has no parameter gradient (it is 0).
"""
import numpy as np
import torch

from . import _grid_of, _medimg, from_array, from_dlpack, has_gpu

__all__ = ["resample", "affine", "rotate", "rigid_matrix"]


def _i_fastest(tensor):
    """The tensor itself when i is fastest in memory (medimg's order), else
    a copy that is (on the tensor's device)."""
    n = tensor.shape
    expected = (1, n[0], n[0] * n[1])
    if all(n[a] <= 1 or tensor.stride(a) == expected[a] for a in range(3)):
        return tensor
    return tensor.permute(2, 1, 0).contiguous().permute(2, 1, 0)


def _tensor_image(tensor, grid):
    tensor = tensor.detach()
    if tensor.device.type != "cpu" and has_gpu:
        return from_dlpack(_i_fastest(tensor), grid.origin, grid.spacing, grid.direction)
    return from_array(tensor.cpu().numpy(), grid.origin, grid.spacing, grid.direction)


def _tensor_of(image, device):
    """A tensor over the image's voxels (no copy), on `device`."""
    if image.device != "cpu":
        return torch.from_dlpack(image)
    return torch.from_numpy(np.asarray(image.array)).to(device)


class _Resample(torch.autograd.Function):
    @staticmethod
    def forward(ctx, volume, matrix, grid_in, grid_out, interp, fill):
        if volume.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"medimg.torch.resample takes float32 or float64 voxels, not {volume.dtype}")
        if tuple(volume.shape) != tuple(grid_in.size):
            raise ValueError(f"volume shape {tuple(volume.shape)} differs from the input grid's "
                             f"size {tuple(grid_in.size)}")
        image = _tensor_image(volume, grid_in)
        rows = matrix.detach().cpu().double().reshape(-1)[:12].reshape(3, 4).tolist()
        out = _medimg.resample(image, list(grid_out.size), list(grid_out.origin),
                               list(grid_out.spacing), grid_out.direction_rows, rows, interp,
                               float(fill))
        ctx.image, ctx.rows = image, rows
        ctx.grid_out, ctx.interp = grid_out, interp
        ctx.matrix_shape, ctx.matrix_dtype = matrix.shape, matrix.dtype
        ctx.matrix_device, ctx.device = matrix.device, volume.device
        return _tensor_of(out, volume.device)

    @staticmethod
    def backward(ctx, grad_output):
        want_image, want_params = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        if not (want_image or want_params):
            return None, None, None, None, None, None
        grid_out = ctx.grid_out
        dldy = _tensor_image(grad_output.to(_dtype_of(ctx.image)), grid_out)
        image_gradient, params_gradient = _medimg.resample_backward(
            ctx.image, list(grid_out.size), list(grid_out.origin), list(grid_out.spacing),
            grid_out.direction_rows, ctx.rows, ctx.interp, dldy, want_image, want_params)
        d_volume = _tensor_of(image_gradient, ctx.device) if want_image else None
        d_matrix = None
        if want_params:
            rows = torch.tensor(params_gradient, dtype=torch.float64)
            if ctx.matrix_shape == (4, 4):
                rows = torch.cat([rows, torch.zeros(1, 4, dtype=torch.float64)])
            d_matrix = rows.to(ctx.matrix_dtype).reshape(ctx.matrix_shape).to(ctx.matrix_device)
        return d_volume, d_matrix, None, None, None, None


def _dtype_of(image):
    return torch.float64 if image.pixel_type == "float64" else torch.float32


def resample(volume, grid_in, grid_out, matrix, interp="linear", fill=0.0):
    """y(o) = volume(A p(o) + t) on grid_out; differentiable in `volume` and
    in `matrix` ((3, 4) or (4, 4): output point -> input point, mm)."""
    matrix = torch.as_tensor(matrix, dtype=torch.float64) if not torch.is_tensor(matrix) else matrix
    if tuple(matrix.shape) not in ((3, 4), (4, 4)):
        raise ValueError(f"matrix must be 3x4 or 4x4, not {tuple(matrix.shape)}")
    return _Resample.apply(volume, matrix, _grid_of(grid_in), _grid_of(grid_out), interp, fill)


def affine(volume, grid, matrix, interp="linear", fill=0.0):
    """resample onto the input's own grid."""
    return resample(volume, grid, grid, matrix, interp, fill)


def rigid_matrix(angles, translation, center):
    """[R | t] of y = R (x - c) + c + translation, R = Rz Ry Rx of `angles`
    (radians, about the LPS x, y, z axes through `center`), built in torch so
    gradients reach `angles` and `translation`."""
    angles = torch.as_tensor(angles, dtype=torch.float64)
    translation = torch.as_tensor(translation, dtype=torch.float64)
    center = torch.as_tensor(center, dtype=torch.float64)
    cx, cy, cz = torch.cos(angles)
    sx, sy, sz = torch.sin(angles)
    one, zero = torch.ones((), dtype=torch.float64), torch.zeros((), dtype=torch.float64)
    rx = torch.stack([torch.stack([one, zero, zero]), torch.stack([zero, cx, -sx]),
                      torch.stack([zero, sx, cx])])
    ry = torch.stack([torch.stack([cy, zero, sy]), torch.stack([zero, one, zero]),
                      torch.stack([-sy, zero, cy])])
    rz = torch.stack([torch.stack([cz, -sz, zero]), torch.stack([sz, cz, zero]),
                      torch.stack([zero, zero, one])])
    r = rz @ ry @ rx
    t = center - r @ center + translation
    return torch.cat([r, t[:, None]], dim=1)


def rotate(volume, grid, angles, translation=(0.0, 0.0, 0.0), interp="linear", fill=0.0):
    """The volume moved rigidly about its grid's centre: the output at p is
    the input at R (p - c) + c + translation (`rigid_matrix`)."""
    grid = _grid_of(grid)
    middle = [0.5 * (n - 1) for n in grid.size]
    center = grid.index_to_point(middle)
    return affine(volume, grid, rigid_matrix(angles, translation, center), interp, fill)

