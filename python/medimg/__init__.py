"""medimg: medical image geometry on any hardware, from Python.

    import medimg
    image = medimg.read("ct.nii.gz")
    rotated = medimg.rotate(image, axis="z", degrees=10, interp="linear")
    medimg.write(rotated, "rotated.nii.gz")
    voxels = rotated.array          # numpy view, indexed [i, j, k], no copy

docs/PYTHON.md describes the API, the axis order and the threads.
"""
import atexit as _atexit
import inspect as _inspect
import json as _json
import os as _os
import re as _re

import numpy as _np

# The ITK and HDF5 IO modules are loaded on first use from this folder when
# the package carries them (an installed wheel).
_modules = _os.path.join(_os.path.dirname(__file__), "lib", "medimg")
if _os.path.isdir(_modules) and not _os.environ.get("MEDIMG_MODULE_DIR"):
    _os.environ["MEDIMG_MODULE_DIR"] = _modules

# Kokkos' OpenMP threads are not pinned unless asked for: a Python process
# often shares its cores (data loaders, torch's own threads).
_os.environ.setdefault("OMP_PROC_BIND", "false")

from . import _medimg  # noqa: E402  (Kokkos starts here)
from ._medimg import Error  # noqa: E402

__all__ = ["Error", "Grid", "Image", "Pipeline", "Transform", "read", "write", "backend",
           "resample_to_image", "affine", "from_array", "from_dlpack", "ops", "register", "read_transform",
           "batch", "has_gpu"]

Image = _medimg.Image
# True when this build's kernels run on a GPU (CUDA or HIP): images there may
# hold device memory (Image.to_device, from_dlpack of a GPU tensor).
has_gpu = _medimg.dlpack_device()[0] != 1

_atexit.register(_medimg.finalize)

_STEP_PREFIX = _re.compile(r"^pipeline 'python': step 1 \(([a-z_]+)\): ")


def _call(function, *args, **kwargs):
    """Runs a core call; a one-step pipeline's error loses its "step 1" prefix."""
    try:
        return function(*args, **kwargs)
    except Error as e:
        message = str(e)
        if _STEP_PREFIX.match(message):
            raise Error(_STEP_PREFIX.sub(r"\1: ", message)) from None
        raise


# ------------------------------------------------------------------ Image
def _direction(self):
    """3x3 direction matrix (columns: the i, j, k axes in LPS millimetres)."""
    return _np.array(self.direction_rows, dtype=float)


def _metadata(self):
    return _json.loads(self.metadata_json)


def _affine(self):
    """nibabel's 4x4 voxel -> RAS+ affine of this grid (medimg's geometry is LPS)."""
    lps = _np.eye(4)
    lps[:3, :3] = _direction(self) * _np.array(self.spacing)[None, :]
    lps[:3, 3] = self.origin
    return _np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps


def _repr(self):
    size = "x".join(str(n) for n in self.size)
    spacing = ", ".join(f"{s:g}" for s in self.spacing)
    where = "" if self.device == "cpu" else f" on {self.device}"
    return (f"<medimg.Image {size} {self.pixel_type} {self.orientation} spacing ({spacing}) mm "
            f"origin {tuple(round(o, 4) for o in self.origin)}{where}>")


def from_array(array, origin=(0.0, 0.0, 0.0), spacing=(1.0, 1.0, 1.0), direction=None):
    """An Image of `array`, indexed [i, j, k] (i fastest in memory).

    No copy when the array is Fortran-ordered (i fastest) and its dtype is a
    medimg pixel type (uint8, int16, uint16, int32, float32, float64): the
    image then uses the array's memory and keeps the array alive. Any other
    layout, and a read-only array, is copied once into Fortran order. A
    SimpleITK-ordered (z, y, x)
    C-contiguous array `a` is `a.T` here, without a copy.
    """
    array = _np.asanyarray(array)
    if array.ndim != 3:
        raise Error(f"from_array needs a 3-D array, not {array.ndim}-D")
    if not array.flags.f_contiguous or not array.dtype.isnative or not array.flags.writeable:
        array = _np.array(array, dtype=array.dtype.newbyteorder("="), order="F", copy=True)
    if direction is None:
        direction = _np.eye(3)
    direction = [list(map(float, row)) for row in _np.asarray(direction, dtype=float)]
    return _call(_medimg.Image._from_array, array, [float(v) for v in origin],
                 [float(v) for v in spacing], direction, array)


def _copy_geometry(self, origin=None, spacing=None, direction=None):
    """The same voxels (shared) on another placement."""
    return self.with_geometry(
        list(self.origin if origin is None else origin),
        list(self.spacing if spacing is None else spacing),
        [list(r) for r in (_direction(self) if direction is None else _np.asarray(direction))])


def _dlpack(self, **kwargs):
    """DLPack export of the voxels, indexed [i, j, k], without a copy: host
    memory through numpy, device memory (a GPU image) as it is; a GPU
    image's voxels are finished before it is returned, so any consumer
    stream may read them."""
    if self.device == "cpu":
        return self.array.__dlpack__(**kwargs)
    return self._dlpack_view().__dlpack__(**kwargs)


def _dlpack_device(self):
    return (1, 0) if self.device == "cpu" else tuple(_medimg.dlpack_device())


def from_dlpack(tensor, origin=(0.0, 0.0, 0.0), spacing=(1.0, 1.0, 1.0), direction=None):
    """An Image over a DLPack tensor (torch, cupy, numpy), indexed [i, j, k].

    Host memory: no copy under from_array's conditions (numpy marks what it
    imports through DLPack read-only, so a tensor that numpy can view
    directly, as torch's CPU tensors, is viewed that way; a read-only
    import is copied). Device memory (a CUDA or ROCm tensor on a GPU build of
    medimg): used in place, never copied, so it must be Fortran-ordered (i
    fastest; for torch `t.permute(2, 1, 0).contiguous().permute(2, 1, 0)`);
    the producer is asked to make the tensor ready on medimg's stream, and
    the image keeps the tensor alive. Ops on that image run on the GPU and
    return GPU images; `torch.from_dlpack(result)` takes them without a copy.
    """
    device_type = tensor.__dlpack_device__()[0] if hasattr(tensor, "__dlpack_device__") else 1
    if device_type == 1:
        try:
            array = _np.asarray(tensor)
        except (TypeError, ValueError, RuntimeError):
            array = _np.from_dlpack(tensor)
        return from_array(array, origin, spacing, direction)
    if len(getattr(tensor, "shape", ())) != 3:
        raise Error(f"from_dlpack needs a 3-D tensor, not shape {tuple(tensor.shape)}")
    stream = _medimg.dlpack_stream()
    capsule = tensor.__dlpack__() if stream is None else tensor.__dlpack__(stream=stream)
    if direction is None:
        direction = _np.eye(3)
    direction = [list(map(float, row)) for row in _np.asarray(direction, dtype=float)]
    return _call(_medimg.Image._from_device_array, capsule, [float(v) for v in origin],
                 [float(v) for v in spacing], direction, tensor)


Image.__dlpack__ = _dlpack
Image.__dlpack_device__ = _dlpack_device
Image.direction = property(_direction)
Image.metadata = property(_metadata)
Image.affine = property(_affine)
Image.__repr__ = _repr
Image.from_array = staticmethod(from_array)
Image.with_placement = _copy_geometry


class Grid:
    """A grid without voxels: size (i, j, k), origin, spacing (mm) and
    direction (3x3, columns: the i, j, k axes), in LPS like SimpleITK."""

    def __init__(self, size, origin=(0.0, 0.0, 0.0), spacing=(1.0, 1.0, 1.0), direction=None):
        self.size = tuple(int(n) for n in size)
        self.origin = tuple(float(v) for v in origin)
        self.spacing = tuple(float(v) for v in spacing)
        self.direction = _np.eye(3) if direction is None else _np.array(direction, dtype=float)

    @property
    def direction_rows(self):
        return [list(map(float, row)) for row in self.direction]

    def index_to_point(self, index):
        """The physical point (mm) of a continuous index (i, j, k)."""
        return _np.asarray(self.origin) + self.direction @ (_np.asarray(self.spacing) *
                                                            _np.asarray(index, dtype=float))

    def __repr__(self):
        return f"<medimg.Grid size {self.size} spacing {self.spacing} origin {self.origin}>"


def _grid(self):
    return Grid(self.size, self.origin, self.spacing, _direction(self))


def _grid_of(value):
    return value if isinstance(value, Grid) else _grid(value)


Image.grid = property(_grid)


# ------------------------------------------------------------------ IO
def read(path, xform="auto", series_uid=""):
    """Reads a NIfTI (.nii, .nii.gz), NRRD, MetaImage, DICOM folder or HDF5
    (file.h5:/dataset) image. xform: NIfTI placement, "auto" (nibabel's
    rule), "sform" or "qform"."""
    return _call(_medimg.read, _os.fspath(path), xform, series_uid)


def write(image, path, compression_level=None, nifti2=False, compress=False):
    """Writes `image`; the format follows the extension. The file appears
    complete or not at all."""
    _call(_medimg.write, image, _os.fspath(path), compression_level or 0, nifti2, compress)


def backend():
    """The Kokkos execution space in use, e.g. "Kokkos::OpenMP (concurrency 2), Kokkos 3.4.1"."""
    return _medimg.backend()


def resample_to_image(image, reference, interp="linear", fill=0.0):
    """`image` resampled onto `reference`'s grid (physical space, identity
    transform). `reference` is an Image or the path of an image file."""
    if isinstance(reference, (str, _os.PathLike)):
        reference = read(reference)
    return _call(_medimg.resample_to_image, image, reference, interp, float(fill))


# ------------------------------------------------------------------ registration
Transform = _medimg.Transform


def _transform_matrix(self):
    """4x4 [A t; 0 0 0 1]: fixed point -> moving point (LPS mm), as ITK's."""
    matrix = _np.eye(4)
    matrix[:3, :] = _np.array(self.matrix_rows)
    return matrix


def _read_transform(path):
    """A transform from an ITK .tfm file medimg writes (rigid, similarity,
    affine, translation, scale)."""
    return _call(_medimg.Transform.read, _os.fspath(path))


def _transform_from_matrix(matrix):
    """An affine Transform from a 4x4 (or 3x4) matrix [A t]: y = A x + t,
    fixed/output point -> moving/input point (LPS mm), ITK's convention."""
    matrix = _np.asarray(matrix, dtype=float)
    if matrix.shape not in ((4, 4), (3, 4)):
        raise Error(f"a transform matrix is 4x4 or 3x4, not {matrix.shape}")
    parameters = list(matrix[:3, :3].ravel()) + list(matrix[:3, 3])
    return _call(_medimg.Transform._from_parameters, "affine", parameters, [0.0, 0.0, 0.0])


Transform.from_matrix = staticmethod(_transform_from_matrix)
Transform.matrix = property(_transform_matrix)
Transform.__repr__ = lambda self: (f"<medimg.Transform {self.kind} parameters "
                                   f"{[round(p, 6) for p in self.parameters]}>")
_write_transform = Transform.write
Transform.write = lambda self, path: _call(_write_transform, self, _os.fspath(path))
read_transform = _read_transform


def register(fixed, moving, transform="rigid", metric="mse", levels=3, optimizer="rsgd",
             iterations=200, learning_rate=2.0, min_step=1e-3, bins=50, interp="linear",
             report=None):
    """The transform (fixed point -> moving point) that aligns `moving` to
    `fixed`, as `medimg register` finds it: a multi-resolution pyramid,
    rigid/similarity/affine/translation, mse/ncc/mattes. Images are used as
    float32 (cast when they are not). `report`, a list, receives one line per
    pyramid level. Transform.write(path) writes an ITK .tfm file."""
    def as_float(image):
        # `cast` is one of the op functions made at the end of this module.
        return image if image.pixel_type == "float32" else cast(image, type="float32")  # noqa: F821
    result, levels_run = _call(_medimg.register_images, as_float(fixed), as_float(moving),
                               transform, metric, int(levels), optimizer, int(iterations),
                               float(learning_rate), float(min_step), int(bins), interp)
    if report is not None:
        report.extend(levels_run)
    return result


def batch(manifest, steps, out_dir, resume=False, jobs=2, extension=".nii.gz", previews=False,
          memory_limit=0, seed=0, repeat=1):
    """`medimg batch`: runs a pipeline over every image a manifest (CSV)
    lists, into out_dir, with its report.json, resumable. `steps` is a
    pipeline file, or anything Pipeline takes. Augmentation steps draw from
    `seed` and each item's index; `repeat` K writes K augmented copies per
    input (docs/AUGMENTATION.md). Returns the counts
    {total, done, failed, skipped, seconds, report}."""
    import tempfile
    if isinstance(steps, Pipeline) or not (isinstance(steps, (str, _os.PathLike))
                                           and _os.path.isfile(steps)):
        text = steps._text if isinstance(steps, Pipeline) else Pipeline(steps)._text
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write(text)
            steps_path = f.name
        try:
            return _call(_medimg.batch, _os.fspath(manifest), steps_path, _os.fspath(out_dir),
                         resume, int(jobs), extension, previews, int(memory_limit), int(seed),
                         int(repeat))
        finally:
            _os.unlink(steps_path)
    return _call(_medimg.batch, _os.fspath(manifest), _os.fspath(steps), _os.fspath(out_dir),
                 resume, int(jobs), extension, previews, int(memory_limit), int(seed),
                 int(repeat))


def affine(image, transform, interp=None, fill=None):
    """`image` resampled on its own grid through `transform` (output point ->
    input point, LPS mm): a medimg.Transform, a 4x4 or 3x4 matrix, or the
    path of an ITK .tfm file (interp "linear" and fill 0 unless given)."""
    if isinstance(transform, (str, _os.PathLike)):
        return _affine_op(image, transform=_os.fspath(transform), interp=interp,  # noqa: F821
                          fill=fill)
    if isinstance(transform, Transform):
        rows = transform.matrix_rows
    else:
        matrix = _np.asarray(transform, dtype=float)
        if matrix.shape not in ((4, 4), (3, 4)):
            raise Error(f"a transform matrix is 4x4 or 3x4, not {matrix.shape}")
        rows = matrix[:3].tolist()
    return _call(_medimg.resample, image, list(image.size), list(image.origin),
                 list(image.spacing), image.direction_rows, rows, interp or "linear",
                 float(fill or 0.0))


# ------------------------------------------------------------------ pipelines
class Pipeline:
    """Steps run in order on one image: a dict {"steps": [...]}, a list of
    steps, JSON text, or the path of a JSON file (docs/PIPELINES.md)."""

    def __init__(self, steps):
        source = "python"
        if isinstance(steps, (list, tuple)):
            steps = {"medimg_pipeline": 1, "steps": list(steps)}
        if isinstance(steps, dict):
            text = _json.dumps(steps, default=_jsonable)
        elif isinstance(steps, (str, _os.PathLike)) and _os.path.isfile(steps):
            source = _os.fspath(steps)
            with open(steps) as f:
                text = f.read()
        else:
            text = str(steps)
        self._text = text
        self._source = source
        self.ops = _call(_medimg.pipeline_ops, text, source)  # validates now

    def run(self, image):
        return _medimg.run_steps(image, self._text, self._source)

    def __repr__(self):
        return f"<medimg.Pipeline {' -> '.join(self.ops)}>"


def _jsonable(value):
    if isinstance(value, _np.ndarray):
        return value.tolist()
    if isinstance(value, _np.generic):
        return value.item()
    if isinstance(value, _os.PathLike):
        return _os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not a pipeline parameter")


# ------------------------------------------------------------------ ops
def _make_op(name, info):
    parameters = info["parameters"]

    def op(image, **params):
        unknown = sorted(set(params) - set(parameters))
        if unknown:
            raise TypeError(f"{name}() got unknown parameter(s) {', '.join(unknown)}; "
                            f"it takes {', '.join(sorted(parameters)) or 'none'}")
        missing = sorted(p for p, spec in parameters.items()
                         if spec["required"] and params.get(p) is None)
        if missing:
            raise TypeError(f"{name}() missing required parameter(s) {', '.join(missing)}")
        step = {"op": name}
        step.update({k: v for k, v in params.items() if v is not None})
        text = _json.dumps({"medimg_pipeline": 1, "steps": [step]}, default=_jsonable)
        return _call(_medimg.run_steps, image, text, "python")

    signature = [_inspect.Parameter("image", _inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for pname in sorted(parameters, key=lambda p: (not parameters[p]["required"], p)):
        default = _inspect.Parameter.empty if parameters[pname]["required"] else None
        signature.append(_inspect.Parameter(pname, _inspect.Parameter.KEYWORD_ONLY,
                                            default=default))
    op.__signature__ = _inspect.Signature(signature)
    op.__name__ = op.__qualname__ = name
    described = ", ".join(f"{p} ({parameters[p]['type']}"
                          f"{'' if parameters[p]['required'] else ', optional'})"
                          for p in sorted(parameters))
    op.__doc__ = (f"{info['description']}.\n\nParameters (keyword only): {described or 'none'}. "
                  "An optional parameter left at None takes the op's default (docs/PIPELINES.md).")
    return op


# Every pipeline op is a function of the same name; those written above
# (an Image where the pipeline takes a file) stay as they are.
_written_in_python = {"resample_to_image", "affine"}
ops = []
for _name, _info in sorted(_json.loads(_medimg.ops_description()).items()):
    ops.append(_name)
    if _name in _written_in_python:
        if _name == "affine":
            _affine_op = _make_op(_name, _info)
        continue
    globals()[_name] = _make_op(_name, _info)
    __all__.append(_name)
change_orientation = globals()["reorient"]  # SimpleITK/MedImages.jl's name
__all__.append("change_orientation")
