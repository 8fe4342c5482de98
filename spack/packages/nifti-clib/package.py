# nifti_clib 3.x (NIfTI-1 and NIfTI-2 headers: libnifti2), which medimg's
# NIfTI reader needs. Spack's builtin `nifticlib` is the 2.0 line, NIfTI-1
# only, without nifti2_io.h. Pinned by commit: no tarball hash is needed.
from spack.package import *


class NiftiClib(CMakePackage):
    """Reference C libraries for the NIfTI-1 and NIfTI-2 file formats."""

    homepage = "https://github.com/NIFTI-Imaging/nifti_clib"
    git = "https://github.com/NIFTI-Imaging/nifti_clib.git"
    license("Public-Domain")

    version("3.0.1", tag="v3.0.1", commit="96b9954fafcf3bd69a4ee2091b0d707ed2077697")

    depends_on("cmake@3.10.2:", type="build")
    depends_on("zlib-api")

    def cmake_args(self):
        return [
            self.define("BUILD_SHARED_LIBS", True),
            self.define("USE_NIFTI2_CODE", True),
            self.define("NIFTI_BUILD_APPLICATIONS", False),
            self.define("USE_CIFTI_CODE", False),
        ]
