"""medimg on a GPU from Python: torch and cupy tensors in device memory used
in place through DLPack, ops on GPU images, autograd on CUDA tensors.

These need a GPU build of medimg (`medimg.has_gpu`) and a GPU that torch
sees; the CPU suite has neither, so there the module is skipped as a whole
(what a CPU build does with device tensors is tested in test_package.py).
scripts/gpu_bundle.sh carries this file to a GPU machine and
`.gpu-bundle/run.sh` runs it there (docs/PERFORMANCE.md, docs/PYTHON.md).
"""
import gc
import math
import os
import sys

import numpy as np
import pytest

import medimg

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not (medimg.has_gpu and torch.cuda.is_available()),
                                reason="a GPU build of medimg and a CUDA device")

import medimg.torch as mt  # noqa: E402

EXAMPLES = [os.path.join(os.path.dirname(__file__), "..", "..", "examples", "python"),
            os.path.join(os.path.dirname(__file__), "..", "..")]  # the bundle's layout


def i_fastest(shape, dtype=torch.float32, seed=0):
    """A CUDA tensor indexed [i, j, k] with i fastest in memory (medimg's order)."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(tuple(reversed(shape)), generator=g, dtype=dtype).cuda().permute(2, 1, 0)


def test_a_cuda_tensor_is_used_in_place():
    t = i_fastest((40, 30, 20))
    image = medimg.from_dlpack(t, spacing=(1.0, 1.5, 2.0))
    assert image.device == "cuda:0"
    assert image.__dlpack_device__() == (2, 0)
    assert image.data_pointer == t.data_ptr()
    assert tuple(image.size) == (40, 30, 20) and image.pixel_type == "float32"
    t[3, 4, 5] = 7.0  # torch's write is medimg's voxel
    host = image.cpu()
    assert host.device == "cpu" and host.array[3, 4, 5] == 7.0
    np.testing.assert_array_equal(host.array, t.cpu().numpy())
    with pytest.raises(medimg.Error, match="GPU memory"):
        image.array


def test_ops_on_a_gpu_image_run_there_and_export_without_a_copy():
    t = i_fastest((64, 48, 32))
    image = medimg.from_dlpack(t)
    out = medimg.rotate(image, axis="z", degrees=10, interp="linear")
    assert out.device == "cuda:0"
    r = torch.from_dlpack(out)
    assert r.is_cuda and r.data_ptr() == out.data_pointer
    assert tuple(r.shape) == (64, 48, 32) and r.stride() == (1, 64, 64 * 48)
    # The same op on the host copy (copied to the GPU and back) gives the same bits.
    on_host = medimg.rotate(image.cpu(), axis="z", degrees=10, interp="linear")
    assert on_host.device == "cpu"
    np.testing.assert_array_equal(r.cpu().numpy(), on_host.array)
    # A pipeline of several ops keeps the image on the GPU throughout.
    piped = medimg.Pipeline([{"op": "flip", "axis": "i"},
                             {"op": "resample_to_spacing", "spacing": [2, 2, 2]},
                             {"op": "z_score"}]).run(image)
    assert piped.device == "cuda:0" and tuple(piped.size) == (32, 24, 16)
    z = torch.from_dlpack(piped).double()
    assert abs(z.mean().item()) < 1e-5 and abs(z.std(unbiased=False).item() - 1) < 1e-4


def test_int16_and_uint8_tensors_too():
    for dtype in (torch.int16, torch.uint8):
        t = torch.randint(0, 100, (16, 12, 10), dtype=dtype).cuda().permute(2, 1, 0)
        image = medimg.from_dlpack(t)
        assert image.data_pointer == t.data_ptr()
        flipped = torch.from_dlpack(medimg.flip(image, axis="k"))
        assert torch.equal(flipped, torch.flip(t, dims=[2]))


def test_rotation_matches_torch_grid_sample_inside_the_volume():
    n = (48, 40, 36)
    volume = i_fastest(n)
    angle = math.radians(17.0)
    c, s = math.cos(angle), math.sin(angle)
    centre = torch.tensor([(m - 1) / 2 for m in n], dtype=torch.float64)
    rotation = torch.tensor([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    offset = centre - rotation @ centre
    matrix = torch.cat([rotation, offset[:, None]], dim=1)
    grid = medimg.Grid(n)
    ours = mt.resample(volume, grid, grid, matrix)
    assert ours.is_cuda
    # grid_sample: input (N, C, D=k, H=j, W=i); the sampling grid's last axis is (i, j, k)
    # normalised to [-1, 1] with align_corners=True.
    ii, jj, kk = torch.meshgrid(*[torch.arange(m, dtype=torch.float64) for m in n], indexing="ij")
    points = torch.stack([ii, jj, kk], dim=-1)
    source = points @ rotation.T + offset
    scale = torch.tensor([m - 1 for m in n], dtype=torch.float64)
    normalised = (2 * source / scale - 1).permute(2, 1, 0, 3)[None].float().cuda()
    theirs = torch.nn.functional.grid_sample(volume.permute(2, 1, 0)[None, None], normalised,
                                             mode="bilinear", align_corners=True)[0, 0]
    theirs = theirs.permute(2, 1, 0)
    inside = ((source >= 0) & (source <= scale - 1e-6)).all(dim=-1).cuda()
    assert inside.sum().item() > 0.5 * volume.numel()
    difference = (ours - theirs).abs()[inside].max().item()
    # grid_sample works in float32 normalised coordinates (about 3e-6 voxel here).
    assert difference < 1e-4, difference


@pytest.mark.parametrize("interp", ["linear", "bspline"])
def test_gradcheck_on_cuda(interp):
    torch.manual_seed(0)
    grid_in = medimg.Grid((8, 9, 10), origin=(-3.0, 2.0, 1.0), spacing=(1.0, 1.5, 2.0))
    grid_out = medimg.Grid((5, 6, 6), origin=(-1.37, 4.61, 5.23), spacing=(1.0, 1.5, 2.0))
    volume = torch.rand(grid_in.size, dtype=torch.float64, device="cuda", requires_grad=True)
    matrix = torch.tensor([[0.99, 0.05, 0.0, 0.3], [-0.05, 0.99, 0.01, 0.2],
                           [0.0, -0.01, 1.0, 0.1]], dtype=torch.float64, device="cuda",
                          requires_grad=True)
    assert mt.resample(volume, grid_in, grid_out, matrix, interp).is_cuda
    # nondet_tol: the image gradient's scatter adds with atomics on the GPU,
    # so two backward passes may round differently (in the last bits).
    assert torch.autograd.gradcheck(
        lambda v, m: mt.resample(v, grid_in, grid_out, m, interp), (volume, matrix),
        eps=1e-6, atol=1e-6, rtol=1e-5, nondet_tol=1e-12)


def test_cuda_gradients_equal_the_cpu_tensors_gradients():
    torch.manual_seed(1)
    grid = medimg.Grid((20, 18, 16), spacing=(1.0, 1.2, 1.5))
    base = torch.rand(grid.size, dtype=torch.float32)
    gradients = []
    for device in ("cpu", "cuda"):
        volume = base.to(device).clone().requires_grad_(True)
        angles = torch.tensor([0.05, -0.03, 0.1], dtype=torch.float64, requires_grad=True)
        y = mt.rotate(volume, grid, angles, (0.4, -0.2, 0.3))
        assert y.device.type == device
        (y * y).sum().backward()
        assert volume.grad.device.type == device
        gradients.append((volume.grad.cpu(), angles.grad.clone()))
    # Both run medimg's GPU kernels (a CPU tensor is copied there and back):
    # the scatter's atomics may add in another order.
    assert torch.allclose(gradients[0][0], gradients[1][0], rtol=1e-5, atol=1e-5)
    assert torch.allclose(gradients[0][1], gradients[1][1], rtol=1e-4)


def test_rigid_fit_example_recovers_the_transform_on_the_gpu():
    sys.path[:0] = EXAMPLES
    try:
        import fit_rigid
    finally:
        del sys.path[:len(EXAMPLES)]
    angles, shift, true_angles, true_shift = fit_rigid.fit(verbose=False, device="cuda")
    assert torch.max(torch.abs(angles - true_angles)).item() < math.radians(0.1)
    assert torch.max(torch.abs(shift - true_shift)).item() < 0.05


def test_cupy_arrays_are_used_in_place():
    cupy = pytest.importorskip("cupy")
    a = cupy.asfortranarray(cupy.random.default_rng(2).random((24, 20, 16), dtype=cupy.float32))
    image = medimg.from_dlpack(a, spacing=(2.0, 2.0, 2.0))
    assert image.device == "cuda:0" and image.data_pointer == a.data.ptr
    out = medimg.z_score(image)
    b = cupy.from_dlpack(out)
    assert b.data.ptr == out.data_pointer
    expected = (a - a.mean()) / a.std()
    assert float(cupy.abs(b - expected).max()) < 1e-5


def test_host_and_device_copies_and_files(tmp_path):
    data = np.asfortranarray(np.arange(6 * 5 * 4, dtype=np.int16).reshape(6, 5, 4))
    host = medimg.from_array(data, spacing=(1.0, 2.0, 3.0))
    device = host.to_device()
    assert device.device == "cuda:0" and device.data_pointer != host.data_pointer
    assert device.to_device() is device and host.cpu() is host
    assert tuple(device.spacing) == (1.0, 2.0, 3.0)
    moved = device.with_placement(origin=(5.0, 6.0, 7.0))
    assert moved.device == "cuda:0" and moved.data_pointer == device.data_pointer
    np.testing.assert_array_equal(device.cpu().array, data)

    # Writing a GPU image writes its host copy: the same bytes as the host
    # image's file, or the same error where this build writes no files (the
    # GPU bundle is built without ITK).
    def written(image, name):
        path = tmp_path / name
        try:
            medimg.write(image, path)
        except medimg.Error as error:
            return str(error).replace(str(path), "PATH")
        return path.read_bytes()

    assert written(device, "d.nii") == written(host, "h.nii")


def test_layouts_and_devices_medimg_cannot_use_are_one_line_errors():
    c_order = torch.rand((8, 7, 6), device="cuda")  # k fastest
    with pytest.raises(medimg.Error, match="Fortran-ordered") as error:
        medimg.from_dlpack(c_order)
    assert "\n" not in str(error.value)
    with pytest.raises(medimg.Error, match="pixel type"):
        medimg.from_dlpack(torch.zeros((4, 4, 4), dtype=torch.int64, device="cuda").permute(2, 1, 0))
    with pytest.raises(medimg.Error, match="3-D"):
        medimg.from_dlpack(torch.zeros((4, 4), device="cuda"))


def test_a_thousand_calls_do_not_grow_gpu_memory():
    t = i_fastest((32, 32, 32))

    def step():
        out = medimg.rotate(medimg.from_dlpack(t), axis="z", degrees=5, interp="linear")
        return torch.from_dlpack(out).sum()

    for _ in range(50):
        step()
    gc.collect()
    torch.cuda.synchronize()
    free_before = torch.cuda.mem_get_info()[0]
    live_before = medimg._medimg.live_images()
    for _ in range(1000):
        step()
    gc.collect()
    torch.cuda.synchronize()
    grown = free_before - torch.cuda.mem_get_info()[0]
    assert grown < 16 << 20, grown
    assert medimg._medimg.live_images() == live_before


def test_exit_with_gpu_images_alive_finalises_quietly():
    # Module globals (a GPU image, a tensor over another) outlive atexit; the
    # last one to go finalises Kokkos, so CUDA's "Failed to call
    # Kokkos::Cuda::finalize()" is not printed.
    import subprocess
    script = ("import torch, medimg\n"
              "t = torch.rand((16, 12, 10), device='cuda')\n"
              "t = t.permute(2, 1, 0).contiguous().permute(2, 1, 0)\n"
              "image = medimg.from_dlpack(t)\n"
              "kept = torch.from_dlpack(medimg.rotate(image, axis='z', degrees=5))\n"
              "print(medimg._medimg.live_images())\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"
    assert "finalize" not in done.stderr, done.stderr
