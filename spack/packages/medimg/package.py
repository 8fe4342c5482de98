# Spack recipe for medimg. Use it with:
#   spack repo add <medimg>/spack && spack install medimg
# Backends follow Kokkos, as Cabana and ArborX do: +cuda cuda_arch=90 builds
# Kokkos and medimg for that GPU; +rocm amdgpu_target=gfx90a likewise.
from spack.package import *


class Medimg(CMakePackage, CudaPackage, ROCmPackage):
    """Medical image geometry on any hardware: Kokkos resampling kernels with
    ITK-exact semantics, adjoints, MPI slab distribution and parallel HDF5."""

    homepage = "https://github.com/medimg/medimg"
    git = "https://github.com/medimg/medimg.git"
    maintainers("medimg")
    license("Apache-2.0")

    version("main", branch="main")

    variant("mpi", default=True, description="MPI: slab-distributed images")
    variant("hdf5", default=True, description="Parallel HDF5 storage (needs +mpi)")
    variant("itk", default=True,
            description="Image IO: NIfTI (nifti_clib), NRRD, MetaImage, DICOM (ITK)")
    variant("isal", default=True, description="gzip through ISA-L igzip (else zlib)")
    variant("openmp", default=True, description="Kokkos OpenMP host backend")
    variant("benchmarks", default=False, description="Build the benchmarks (medimg beside ITK)")
    variant("python", default=False,
            description="The Python package (nanobind), installed into the prefix's site-packages")
    variant("gpu_aware_mpi", default=False,
            description="MPI takes device pointers (CUDA/ROCm-aware MPI); else host staging")

    conflicts("+hdf5", when="~mpi", msg="medimg's HDF5 is the parallel build")
    conflicts("+cuda", when="+rocm", msg="one GPU backend at a time")

    depends_on("cmake@3.19:", type="build")
    # The versions medimg is tested with (README's "Tested with" table), the
    # same range as CMake's MEDIMG_KOKKOS_VERSIONS (3.4...<5). Kokkos 5
    # (C++20, mdspan-based View) is not accepted: nothing was built against
    # it. cuda_lambda, below, is a variant of kokkos@:4 only.
    depends_on("kokkos@3.4:4")
    depends_on("kokkos-kernels@3.4:4")
    depends_on("kokkos+openmp", when="+openmp")
    for _arch in CudaPackage.cuda_arch_values:
        depends_on(f"kokkos@:4+cuda+cuda_lambda cuda_arch={_arch}", when=f"+cuda cuda_arch={_arch}")
    for _target in ROCmPackage.amdgpu_targets:
        depends_on(f"kokkos+rocm amdgpu_target={_target}", when=f"+rocm amdgpu_target={_target}")
    depends_on("mpi", when="+mpi")
    depends_on("hdf5+mpi", when="+hdf5")
    depends_on("itk", when="+itk")
    depends_on("zlib-api", when="+itk")
    depends_on("nifti-clib@3:", when="+itk")  # spack/packages/nifti-clib (NIfTI-2)
    depends_on("isa-l", when="+itk+isal")
    depends_on("cli11")
    depends_on("nlohmann-json")
    depends_on("googletest", type="test")
    depends_on("benchmark", type="test")
    depends_on("benchmark", when="+benchmarks")
    depends_on("python", type="test")
    extends("python", when="+python")
    depends_on("py-nanobind", type="build", when="+python")
    depends_on("py-numpy", type=("build", "run"), when="+python")
    depends_on("py-nibabel", type="test")
    depends_on("py-scipy", type="test")
    depends_on("py-pydicom", type="test")

    def cmake_args(self):
        args = [
            self.define_from_variant("MEDIMG_ENABLE_MPI", "mpi"),
            self.define_from_variant("MEDIMG_ENABLE_HDF5", "hdf5"),
            self.define_from_variant("MEDIMG_ENABLE_ITK", "itk"),
            self.define_from_variant("MEDIMG_WITH_ISAL", "isal"),
            self.define_from_variant("MEDIMG_BUILD_BENCHMARKS", "benchmarks"),
            self.define_from_variant("MEDIMG_BUILD_PYTHON", "python"),
            self.define_from_variant("MEDIMG_GPU_AWARE_MPI", "gpu_aware_mpi"),
            self.define("MEDIMG_BUILD_TESTS", self.run_tests),
            # The libFuzzer harnesses are a development build (scripts/fuzz.sh).
            self.define("MEDIMG_BUILD_FUZZ", False),
        ]
        if self.spec.satisfies("+cuda") or self.spec.satisfies("+rocm"):
            # Kokkos' compiler wrapper (nvcc_wrapper / hipcc) builds the same sources.
            args.append(self.define("CMAKE_CXX_COMPILER", self.spec["kokkos"].kokkos_cxx))
        return args
