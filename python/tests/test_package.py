"""The medimg Python package against nibabel (what a file means) and
SimpleITK (the math), on real files from Debian's mricron-data.

Run by ctest (python.package, python.installed): pytest python/tests.
"""
import gc
import math
import os
import threading
import time

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

import medimg

TEMPLATES = "/usr/share/mricron/templates"
CH2 = os.path.join(TEMPLATES, "ch2better.nii.gz")
AAL = os.path.join(TEMPLATES, "aal.nii.gz")


@pytest.fixture(scope="module")
def oblique(tmp_path_factory):
    """ch2better as float32 on an oblique anisotropic grid (turned 12 deg
    about x and 8 deg about z, 0.9 x 1.1 x 1.3 mm), as a .nii."""
    source = nib.load(CH2)
    data = np.asanyarray(source.dataobj).astype(np.float32)
    a, b = math.radians(12), math.radians(8)
    rx = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    rz = np.array([[math.cos(b), -math.sin(b), 0], [math.sin(b), math.cos(b), 0], [0, 0, 1]])
    affine = np.eye(4)
    affine[:3, :3] = rz @ rx @ np.diag([0.9, 1.1, 1.3])
    affine[:3, 3] = [-80.0, -110.0, -60.0]
    image = nib.Nifti1Image(data, affine)
    image.header.set_qform(affine, 1)
    image.header.set_sform(affine, 1)
    path = tmp_path_factory.mktemp("oblique") / "ch2_oblique.nii"
    nib.save(image, path)
    return str(path)


def sitk_array(image):
    """A SimpleITK image's voxels indexed [i, j, k]."""
    return sitk.GetArrayFromImage(image).T


def assert_same_grid(image, reference):
    assert tuple(image.size) == reference.GetSize()
    np.testing.assert_allclose(image.spacing, reference.GetSpacing(), atol=1e-6)
    np.testing.assert_allclose(image.origin, reference.GetOrigin(), atol=1e-4)
    np.testing.assert_allclose(image.direction.ravel(), reference.GetDirection(), atol=1e-6)


# ---------------------------------------------------------------- files
def test_read_matches_nibabel_geometry_and_voxels(oblique):
    for path in (CH2, AAL, oblique):
        image = medimg.read(path)
        reference = nib.load(path)
        np.testing.assert_allclose(image.affine, reference.affine, atol=1e-4)
        assert tuple(image.size) == reference.shape
        assert np.array_equal(image.array, np.asanyarray(reference.dataobj))
        assert image.array.dtype == reference.get_data_dtype().newbyteorder("=")


def test_geometry_and_pixel_type_match_simpleitk(oblique):
    image = medimg.read(oblique)
    assert_same_grid(image, sitk.ReadImage(oblique))
    assert image.pixel_type == "float32"
    assert medimg.read(AAL).pixel_type == "uint8"
    assert medimg.read(CH2).orientation == "RAS"


def test_write_then_nibabel_reads_the_same(oblique, tmp_path):
    image = medimg.read(oblique)
    out = tmp_path / "copy.nii.gz"
    medimg.write(image, out)
    back = nib.load(out)
    np.testing.assert_allclose(back.affine, nib.load(oblique).affine, atol=1e-4)
    assert np.array_equal(np.asanyarray(back.dataobj), image.array)


def test_bad_input_is_one_line_error_and_no_file(tmp_path):
    with pytest.raises(medimg.Error) as missing:
        medimg.read(tmp_path / "absent.nii")
    assert "absent.nii" in str(missing.value) and "\n" not in str(missing.value)
    (tmp_path / "junk.nii").write_bytes(b"not a nifti" * 10)
    with pytest.raises(medimg.Error):
        medimg.read(tmp_path / "junk.nii")
    image = medimg.from_array(np.zeros((4, 4, 4), np.float32, order="F"))
    with pytest.raises(medimg.Error):
        medimg.write(image, tmp_path / "no_such_folder" / "out.nii")
    with pytest.raises(medimg.Error):
        medimg.write(image, tmp_path / "out.unknown")
    assert sorted(os.listdir(tmp_path)) == ["junk.nii"]


# ---------------------------------------------------------------- zero copy
def test_array_is_a_writable_view_that_keeps_the_image_alive():
    image = medimg.read(CH2)
    array = image.array
    assert array.ctypes.data == image.data_pointer
    assert array.flags.f_contiguous and array.flags.writeable
    assert array.shape == tuple(image.size)
    array[1, 2, 3] = 77
    assert image.array[1, 2, 3] == 77
    again = image.array
    assert again.ctypes.data == array.ctypes.data
    del image, again
    gc.collect()
    assert array[1, 2, 3] == 77  # the array holds the image


def test_from_array_uses_the_arrays_memory():
    data = np.asfortranarray(np.random.default_rng(1).random((20, 30, 40), dtype=np.float32))
    image = medimg.from_array(data, origin=(1, 2, 3), spacing=(0.5, 1, 2))
    assert image.shares_array and image.data_pointer == data.ctypes.data
    assert image.array.ctypes.data == data.ctypes.data
    assert tuple(image.size) == (20, 30, 40)
    assert image.spacing == [0.5, 1.0, 2.0] or tuple(image.spacing) == (0.5, 1.0, 2.0)
    data[3, 4, 5] = 9.0
    assert image.array[3, 4, 5] == 9.0
    del data
    gc.collect()
    assert image.array[3, 4, 5] == 9.0  # the image holds the array


def test_from_array_copies_other_layouts_and_refuses_other_types():
    c_order = np.random.default_rng(2).random((5, 6, 7))
    image = medimg.from_array(c_order)
    assert image.data_pointer != c_order.ctypes.data
    assert np.array_equal(image.array, c_order)
    assert image.pixel_type == "float64"
    # SimpleITK's (z, y, x) C-ordered array, transposed: no copy.
    zyx = np.zeros((7, 6, 5), np.int16)
    assert medimg.from_array(zyx.T).data_pointer == zyx.ctypes.data
    with pytest.raises(medimg.Error, match="pixel type"):
        medimg.from_array(np.zeros((3, 3, 3), np.int64, order="F"))
    with pytest.raises(medimg.Error, match="3-D"):
        medimg.from_array(np.zeros((3, 3), np.float32))


# ---------------------------------------------------------------- ops
def test_resample_to_spacing_matches_simpleitk(oblique):
    image = medimg.read(oblique)
    out = medimg.resample_to_spacing(image, spacing=[1.5, 1.5, 1.5], interp="linear")
    peer = sitk.ReadImage(oblique)
    size = [max(1, int(math.floor(n * s / 1.5 + 0.5))) for n, s in
            zip(peer.GetSize(), peer.GetSpacing())]
    expected = sitk.Resample(peer, size, sitk.Transform(), sitk.sitkLinear, peer.GetOrigin(),
                             [1.5] * 3, peer.GetDirection(), 0, peer.GetPixelID())
    assert_same_grid(out, expected)
    difference = np.abs(out.array - sitk_array(expected))
    assert difference.max() < 1e-3 * float(np.ptp(image.array))


@pytest.mark.parametrize("interp,sitk_interp,tolerance", [
    ("nearest", sitk.sitkNearestNeighbor, 0.0),
    ("linear", sitk.sitkLinear, 1e-3),
    ("bspline", sitk.sitkBSpline, 2e-3),
])
def test_rotate_matches_simpleitk(oblique, interp, sitk_interp, tolerance):
    image = medimg.read(oblique)
    out = medimg.rotate(image, axis="z", degrees=10, interp=interp)
    peer = sitk.ReadImage(oblique)
    direction = peer.GetDirection()
    transform = sitk.VersorRigid3DTransform()
    transform.SetCenter(peer.TransformContinuousIndexToPhysicalPoint(
        [0.5 * (n - 1) for n in peer.GetSize()]))
    transform.SetRotation([direction[3 * r + 2] for r in range(3)], -math.radians(10))
    expected = sitk.Resample(peer, peer, transform, sitk_interp, 0, peer.GetPixelID())
    assert_same_grid(out, expected)
    difference = np.abs(out.array - sitk_array(expected))
    if tolerance == 0.0:
        # Nearest: a sample exactly half-way may round either way in float.
        assert np.mean(difference > 0) < 1e-4
    else:
        assert difference.max() <= tolerance * float(np.ptp(image.array))


def test_reorient_crop_and_flip_match_simpleitk(oblique):
    image = medimg.read(oblique)
    peer = sitk.ReadImage(oblique)
    ras = medimg.reorient(image, orientation="RAS")
    expected = sitk.DICOMOrient(peer, "RAS")
    assert_same_grid(ras, expected)
    assert np.array_equal(ras.array, sitk_array(expected))
    assert medimg.change_orientation is medimg.reorient

    cropped = medimg.crop(image, start=[10, 20, 30], size=[50, 60, 70])
    expected = sitk.RegionOfInterest(peer, [50, 60, 70], [10, 20, 30])
    assert_same_grid(cropped, expected)
    assert np.array_equal(cropped.array, sitk_array(expected))

    flipped = medimg.flip(image, axis="i")
    assert np.array_equal(flipped.array, image.array[::-1])


def test_resample_to_image_matches_simpleitk(oblique):
    moving = medimg.read(oblique)
    reference = medimg.read(CH2)
    out = medimg.resample_to_image(moving, reference, interp="linear")
    peer = sitk.Resample(sitk.ReadImage(oblique), sitk.ReadImage(CH2), sitk.Transform(),
                         sitk.sitkLinear, 0, sitk.sitkFloat32)
    assert_same_grid(out, peer)
    assert np.abs(out.array - sitk_array(peer)).max() <= 1e-3 * float(np.ptp(moving.array))


def test_intensity_ops_and_cast_match_numpy():
    data = np.asfortranarray(np.random.default_rng(3).normal(50, 10, (30, 20, 10)))
    image = medimg.from_array(data.astype(np.float32))
    z = medimg.z_score(image).array
    x = data.astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(z, (x - x.mean()) / x.std(), atol=1e-5)
    clipped = medimg.clip(image, min=40, max=60).array
    np.testing.assert_array_equal(clipped, np.clip(data.astype(np.float32), 40, 60))
    as_int = medimg.cast(image, type="int16")
    assert as_int.pixel_type == "int16"
    assert as_int.array.dtype == np.int16


def test_pipeline_equals_the_ops_one_by_one(oblique):
    image = medimg.read(oblique)
    steps = [{"op": "reorient", "orientation": "RAS"},
             {"op": "resample_to_spacing", "spacing": [2, 2, 2], "interp": "linear"},
             {"op": "z_score"}]
    pipeline = medimg.Pipeline({"steps": steps})
    assert pipeline.ops == ["reorient", "resample_to_spacing", "z_score"]
    by_pipeline = pipeline.run(image)
    by_ops = medimg.z_score(medimg.resample_to_spacing(
        medimg.reorient(image, orientation="RAS"), spacing=[2, 2, 2], interp="linear"))
    assert np.array_equal(by_pipeline.array, by_ops.array)
    np.testing.assert_allclose(by_pipeline.affine, by_ops.affine)
    assert np.array_equal(medimg.Pipeline(steps).run(image).array, by_ops.array)


def test_op_errors_name_the_op_and_parameter():
    image = medimg.from_array(np.zeros((8, 8, 8), np.float32, order="F"))
    with pytest.raises(medimg.Error, match=r"^rotate: parameter 'axis'"):
        medimg.rotate(image, axis="q", degrees=3)
    with pytest.raises(TypeError, match="unknown parameter"):
        medimg.rotate(image, axis="z", degrees=3, angle=4)
    with pytest.raises(TypeError):
        medimg.rotate(image, axis="z")  # degrees is required
    with pytest.raises(medimg.Error, match="step 2"):
        medimg.Pipeline([{"op": "z_score"}, {"op": "nope"}])


# ---------------------------------------------------------------- process
def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# Not under `scripts/test.sh --sanitize`: AddressSanitizer's quarantine
# keeps 256 MiB of freed blocks resident (the default build's suite runs it).
@pytest.mark.skipif(os.environ.get("MEDIMG_SANITIZED") == "1",
                    reason="memory footprint is not measurable under AddressSanitizer")
def test_ten_thousand_calls_do_not_grow_memory():
    data = np.asfortranarray(np.random.default_rng(4).random((16, 16, 16), dtype=np.float32))

    def work():
        image = medimg.from_array(data, spacing=(1, 1, 2))
        out = medimg.resample_to_spacing(image, spacing=[2, 2, 2], interp="linear")
        return float(out.array[0, 0, 0]) + float(medimg.z_score(image).array.sum())

    for _ in range(500):
        work()
    gc.collect()
    before = rss_mib()
    for _ in range(10_000):
        work()
    gc.collect()
    grown = rss_mib() - before
    assert grown < 4.0, f"resident memory grew by {grown:.1f} MiB over 10,000 calls"
    assert medimg._medimg.live_images() < 5


def test_the_gil_is_released_while_kernels_run():
    data = np.asfortranarray(np.random.default_rng(5).random((160, 160, 160), dtype=np.float32))
    image = medimg.from_array(data)
    finished = threading.Event()

    def rotate():
        for _ in range(3):
            medimg.rotate(image, axis="z", degrees=7, interp="bspline")
        finished.set()

    worker = threading.Thread(target=rotate)
    start = time.perf_counter()
    worker.start()
    ticks = 0
    while not finished.is_set():
        ticks += 1
    worker.join()
    elapsed = time.perf_counter() - start
    # With the GIL held for the whole call this thread could not count at
    # all while medimg runs; released, it counts millions per second.
    assert elapsed > 0.2
    assert ticks > 100_000 * elapsed


def test_backend_and_threads():
    assert medimg.backend().startswith("Kokkos::")
    assert not medimg._medimg.mpi_in_use()  # plain python: no MPI


def test_itk_module_formats_and_where_the_package_is(tmp_path):
    # NRRD goes through the ITK IO module, which the package carries in
    # medimg/lib/medimg (a wheel) or links to (a build tree).
    data = np.asfortranarray(np.arange(24, dtype=np.int16).reshape(2, 3, 4, order="F"))
    image = medimg.from_array(data, origin=(1, 2, 3), spacing=(0.5, 0.75, 2))
    medimg.write(image, tmp_path / "small.nrrd")
    back = medimg.read(tmp_path / "small.nrrd")
    assert np.array_equal(back.array, data)
    np.testing.assert_allclose(back.spacing, (0.5, 0.75, 2))
    np.testing.assert_allclose(back.origin, (1, 2, 3))
    where = os.path.dirname(medimg.__file__)
    if os.environ.get("MEDIMG_EXPECT_INSTALLED"):
        assert "site-packages" in where, where  # `pip install .`'s, not the build tree's


def test_dlpack_both_ways_without_copies():
    image = medimg.read(CH2)
    assert image.__dlpack_device__() == (1, 0)  # kDLCPU
    array = np.from_dlpack(image)
    assert array.ctypes.data == image.data_pointer
    data = np.asfortranarray(np.ones((4, 5, 6), np.float32))
    again = medimg.from_dlpack(data, spacing=(2, 2, 2))
    assert again.data_pointer == data.ctypes.data


def test_placement_on_a_cpu_build():
    # GPU builds: python/tests/test_gpu.py (run on a GPU machine by the bundle).
    assert medimg.has_gpu is False
    data = np.asfortranarray(np.ones((4, 5, 6), np.float32))
    image = medimg.from_array(data)
    assert image.device == "cpu" and "cuda" not in repr(image)
    assert image.to_device() is image and image.cpu() is image
    assert image.data_pointer == data.ctypes.data

    class DeviceTensor:  # what a CUDA tensor shows DLPack consumers
        shape = (4, 5, 6)

        def __dlpack_device__(self):
            return (2, 0)

        def __dlpack__(self, **kwargs):
            return data.__dlpack__()

    with pytest.raises(medimg.Error, match="runs on the CPU .*tensor.cpu\\(\\) copies it$"):
        medimg.from_dlpack(DeviceTensor())


# ---------------------------------------------------------------- register, batch
def test_register_recovers_a_known_rotation_and_writes_a_tfm(tmp_path):
    fixed = medimg.resample_to_spacing(medimg.read(CH2), spacing=[2, 2, 2], interp="linear")
    fixed = medimg.cast(fixed, type="float32")
    moving = medimg.rotate(fixed, axis="z", degrees=4, interp="linear")
    report = []
    found = medimg.register(fixed, moving, transform="rigid", levels=2, report=report)
    assert found.kind == "rigid" and len(report) == 2
    # rigid parameters: ITK Euler3D (angle x, y, z in radians, then translation).
    angles = np.degrees(found.parameters[:3])
    assert abs(abs(angles[2]) - 4.0) < 0.3, angles
    assert np.max(np.abs(angles[:2])) < 0.3, angles
    # Resampled through the found transform, moving lands back on fixed.
    matrix = found.matrix
    assert matrix.shape == (4, 4) and np.allclose(matrix[3], [0, 0, 0, 1])
    found.write(tmp_path / "found.tfm")
    again = medimg.read_transform(tmp_path / "found.tfm")
    np.testing.assert_allclose(again.matrix, matrix, atol=1e-9)
    sitk_transform = sitk.ReadTransform(str(tmp_path / "found.tfm"))
    point = (10.0, -20.0, 30.0)
    np.testing.assert_allclose(sitk_transform.TransformPoint(point),
                               matrix[:3, :3] @ point + matrix[:3, 3], atol=1e-6)


def test_batch_runs_a_manifest_like_the_pipeline(tmp_path):
    rng = np.random.default_rng(8)
    rows = ["input,output"]
    for n in range(3):
        data = np.asfortranarray(rng.normal(100, 20, (20 + n, 24, 16)).astype(np.float32))
        medimg.write(medimg.from_array(data, spacing=(1, 1, 2)), tmp_path / f"in{n}.nii.gz")
        rows.append(f"{tmp_path / f'in{n}.nii.gz'},out{n}.nii.gz")
    rows.append(f"{tmp_path / 'missing.nii.gz'},bad.nii.gz")
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n")
    steps = [{"op": "resample_to_spacing", "spacing": [2, 2, 2], "interp": "linear"},
             {"op": "z_score"}]
    result = medimg.batch(tmp_path / "manifest.csv", steps, tmp_path / "out")
    assert (result["total"], result["done"], result["failed"]) == (4, 3, 1)
    assert os.path.isfile(result["report"])
    for n in range(3):
        expected = medimg.Pipeline(steps).run(medimg.read(tmp_path / f"in{n}.nii.gz"))
        got = medimg.read(tmp_path / "out" / f"out{n}.nii.gz")
        assert np.array_equal(got.array, expected.array)
    assert not os.path.exists(tmp_path / "out" / "bad.nii.gz")


def test_augmentations_are_seeded_and_batch_repeats_them(tmp_path):
    rng = np.random.default_rng(4)
    data = rng.normal(100, 20, (18, 22, 14)).astype(np.float32)
    image = medimg.from_array(data, spacing=(1.1, 0.9, 2.0))
    for op, params in (("random_affine", {"degrees": [-20, 20], "shear": [-0.1, 0.1]}),
                       ("random_flip", {"axes": ["i", "j", "k"]}),
                       ("random_elastic", {"max_displacement": [4, 4, 4]}),
                       ("random_intensity", {"noise_std": [1, 2]})):
        f = getattr(medimg, op)
        a = f(image, seed=5, item=2, **params)
        assert np.array_equal(a.array, f(image, seed=5, item=2, **params).array), op
        others = [f(image, seed=5, item=i, **params).array for i in range(3, 8)]
        assert any(not np.array_equal(a.array, o) for o in others), op
        assert a.size == image.size and np.allclose(a.spacing, image.spacing)
    medimg.write(image, tmp_path / "in.nii")
    (tmp_path / "m.csv").write_text(f"input,output\n{tmp_path / 'in.nii'},x.nii\n")
    steps = [{"op": "random_affine"}, {"op": "random_intensity", "noise_std": [1, 1]}]
    result = medimg.batch(tmp_path / "m.csv", steps, tmp_path / "out", seed=9, repeat=2)
    assert (result["total"], result["done"]) == (2, 2)
    read_back = medimg.read(tmp_path / "in.nii")  # the grid as NIfTI's float32 fields hold it
    for c in range(2):
        got = medimg.read(tmp_path / "out" / f"x_aug{c}.nii").array
        want = medimg.Pipeline([dict(s, seed=9, item=c) for s in steps]).run(read_back).array
        assert np.array_equal(got, want)


def test_mpi_only_under_a_launcher():
    # A plain python does not start MPI (test_backend_and_threads); under
    # mpiexec every rank does, and runs ops.
    import shutil
    import subprocess
    import sys
    launcher = [shutil.which("mpiexec"), "-n", "2", "--oversubscribe"]
    if os.geteuid() == 0:
        launcher.append("--allow-run-as-root")
    code = ("import numpy as np, medimg; "
            "a = np.asfortranarray(np.arange(8.0).reshape(2, 2, 2)); "
            "import sys; sys.stdout.write(f'{medimg._medimg.mpi_in_use()} "
            "{float(medimg.z_score(medimg.from_array(a)).array.std())}\\n'); sys.stdout.flush()")
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.path.dirname(os.path.dirname(medimg.__file__)))
    result = subprocess.run(launcher + [sys.executable, "-c", code], capture_output=True,
                            text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    # One write() per rank (a line under PIPE_BUF is not split by the other's).
    assert result.stdout.splitlines() == ["True 1.0", "True 1.0"], result.stdout


def test_affine_takes_a_matrix_a_transform_or_a_file_like_simpleitk(oblique, tmp_path):
    image = medimg.read(oblique)
    peer = sitk.ReadImage(oblique)
    a = math.radians(7)
    centre = np.asarray(peer.TransformContinuousIndexToPhysicalPoint(
        [0.5 * (n - 1) for n in peer.GetSize()]))
    rotation = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0],
                         [0, 0, 1]]) @ np.diag([1.0, 1.05, 0.95])
    matrix = np.eye(4)
    matrix[:3, :3] = rotation
    matrix[:3, 3] = centre - rotation @ centre + [2.0, -1.0, 0.5]
    transform = sitk.AffineTransform(3)
    transform.SetMatrix(rotation.ravel().tolist())
    transform.SetTranslation(matrix[:3, 3].tolist())
    expected = sitk_array(sitk.Resample(peer, peer, transform, sitk.sitkLinear, 0.0,
                                        sitk.sitkFloat32))
    by_matrix = medimg.affine(image, matrix, interp="linear")
    assert np.abs(by_matrix.array - expected).max() <= 1e-3 * float(np.ptp(image.array))
    as_transform = medimg.Transform.from_matrix(matrix)
    np.testing.assert_allclose(as_transform.matrix, matrix)
    as_transform.write(tmp_path / "m.tfm")
    by_file = medimg.affine(image, tmp_path / "m.tfm", interp="linear")
    by_object = medimg.affine(image, as_transform, interp="linear")
    assert np.array_equal(by_file.array, by_matrix.array)
    assert np.array_equal(by_object.array, by_matrix.array)
    with pytest.raises(medimg.Error, match="4x4 or 3x4"):
        medimg.affine(image, np.eye(3))
