"""Checks spack/packages/medimg/package.py without Spack: the file compiles,
and, run against a minimal stand-in for the `spack.package` API, its variants
and cmake_args match the options CMakeLists.txt declares, and its Kokkos and
Kokkos Kernels bounds are CMake's (MEDIMG_KOKKOS_VERSIONS) and cover exactly
the versions in README's "Tested with" table.

Usage: check_package.py SOURCE_DIR
"""
import os
import py_compile
import re
import sys
import types
import unittest

SOURCE = sys.argv[1] if len(sys.argv) > 1 else "."
PACKAGE = os.path.join(SOURCE, "spack", "packages", "medimg", "package.py")

calls = {"variant": {}, "depends_on": [], "conflicts": [], "version": []}


class FakeSpec:
    """Default variants; every '+x' satisfies when variant x is on."""

    def __init__(self, variants):
        self.variants = variants

    def satisfies(self, constraint):
        match = re.fullmatch(r"([+~])(\w+)", constraint)
        if not match:
            return False
        on = self.variants.get(match.group(2), False)
        return on if match.group(1) == "+" else not on


class CMakePackage:
    run_tests = True

    def define(self, name, value):
        if isinstance(value, bool):
            value = "ON" if value else "OFF"
        return f"-D{name}={value}"

    def define_from_variant(self, name, variant):
        assert variant in calls["variant"], f"cmake_args uses undeclared variant {variant}"
        return self.define(name, bool(self.spec.variants[variant]))


class CudaPackage:
    cuda_arch_values = ("70", "80", "90")


class ROCmPackage:
    amdgpu_targets = ("gfx90a", "gfx942")


def variant(name, default=None, description="", **kwargs):
    calls["variant"][name] = default


def depends_on(spec, when=None, type=None, **kwargs):
    calls["depends_on"].append((spec, when, type))


def conflicts(spec, when=None, msg=None):
    calls["conflicts"].append((spec, when))


def version(name, **kwargs):
    calls["version"].append(name)


def noop(*args, **kwargs):
    pass


def load_recipe():
    spack = types.ModuleType("spack")
    api = types.ModuleType("spack.package")
    for name, value in dict(CMakePackage=CMakePackage, CudaPackage=CudaPackage,
                            ROCmPackage=ROCmPackage, variant=variant, depends_on=depends_on,
                            conflicts=conflicts, version=version, maintainers=noop,
                            license=noop, extends=noop).items():
        setattr(api, name, value)
    api.__all__ = [n for n in dir(api) if not n.startswith("_")]
    spack.package = api
    sys.modules["spack"] = spack
    sys.modules["spack.package"] = api
    namespace = {}
    exec(compile(open(PACKAGE).read(), PACKAGE, "exec"), namespace)
    return namespace["Medimg"]


def cmake_options():
    text = open(os.path.join(SOURCE, "CMakeLists.txt")).read()
    return {name: default for name, default in
            re.findall(r'option\((MEDIMG_\w+)\s+"[^"]*"\s+(ON|OFF)\)', text)}


class SpackRecipe(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        py_compile.compile(PACKAGE, doraise=True)
        cls.recipe = load_recipe()
        cls.options = cmake_options()

    def test_cmake_declares_the_options(self):
        for name in ["MEDIMG_ENABLE_MPI", "MEDIMG_ENABLE_HDF5", "MEDIMG_ENABLE_ITK",
                     "MEDIMG_BUILD_TESTS", "MEDIMG_BUILD_BENCHMARKS"]:
            self.assertEqual(self.options.get(name), "ON", name)

    def test_variants_mirror_cmake_options(self):
        for option, variant_name in [("MEDIMG_ENABLE_MPI", "mpi"), ("MEDIMG_ENABLE_HDF5", "hdf5"),
                                     ("MEDIMG_ENABLE_ITK", "itk"),
                                     ("MEDIMG_WITH_ISAL", "isal"),
                                     ("MEDIMG_GPU_AWARE_MPI", "gpu_aware_mpi")]:
            self.assertIn(variant_name, calls["variant"])
            self.assertEqual(calls["variant"][variant_name], self.options[option] == "ON")
        self.assertIn("openmp", calls["variant"])

    def test_cmake_args_name_real_options_with_variant_values(self):
        package = self.recipe()
        package.spec = FakeSpec(dict(calls["variant"], cuda=False, rocm=False))
        args = package.cmake_args()
        seen = {}
        for arg in args:
            name, value = re.fullmatch(r"-D(\w+)=(.*)", arg).groups()
            self.assertIn(name, self.options, f"{name} is not an option of CMakeLists.txt")
            seen[name] = value
        for name in self.options:
            if name.startswith(("MEDIMG_ENABLE", "MEDIMG_BUILD", "MEDIMG_GPU", "MEDIMG_WITH")):
                self.assertIn(name, seen, f"package.py does not set {name}")
        self.assertEqual(seen["MEDIMG_ENABLE_MPI"], "ON")
        package.spec = FakeSpec(dict(calls["variant"], mpi=False, hdf5=False, cuda=False))
        args = package.cmake_args()
        self.assertIn("-DMEDIMG_ENABLE_MPI=OFF", args)
        self.assertIn("-DMEDIMG_ENABLE_HDF5=OFF", args)

    def test_every_recipe_in_the_repo_compiles(self):
        # spack/packages/nifti-clib: nifti_clib 3 (NIfTI-2), which Spack's
        # builtin nifticlib (2.0, NIfTI-1 only) is not.
        for name in os.listdir(os.path.join(SOURCE, "spack", "packages")):
            py_compile.compile(os.path.join(SOURCE, "spack", "packages", name, "package.py"),
                               doraise=True)
        self.assertTrue(os.path.exists(os.path.join(SOURCE, "spack", "packages", "nifti-clib")))

    def test_dependencies(self):
        specs = [spec for spec, _, _ in calls["depends_on"]]
        for needed in ["kokkos-kernels@3.4:4", "hdf5+mpi", "itk", "mpi", "cli11",
                       "nlohmann-json", "googletest", "benchmark", "nifti-clib@3:", "isa-l"]:
            self.assertIn(needed, specs)
        self.assertTrue(any(s.startswith("kokkos@:4+cuda") for s in specs))
        self.assertTrue(any(s.startswith("kokkos+rocm") for s in specs))
        self.assertIn(("+hdf5", "~mpi"), calls["conflicts"])


def cmake_kokkos_range():
    """(minimum, limit) of MEDIMG_KOKKOS_VERSIONS, a 'MIN...<LIMIT' range."""
    text = open(os.path.join(SOURCE, "cmake", "MedimgDependencies.cmake")).read()
    match = re.search(r"set\(MEDIMG_KOKKOS_VERSIONS\s+([0-9.]+)\.\.\.<([0-9.]+)\)", text)
    assert match, "MedimgDependencies.cmake sets no MEDIMG_KOKKOS_VERSIONS MIN...<LIMIT"
    return match.group(1), match.group(2)


def version_tuple(text):
    return tuple(int(part) for part in text.split("."))


def tested_versions():
    """(Kokkos, Kokkos Kernels) pairs of README's "Tested with" table."""
    text = open(os.path.join(SOURCE, "README.md")).read()
    section = text.split("## Tested with", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\|\s*([0-9][0-9.]*)\s*\|\s*([0-9][0-9.]*)\s*\|", section, re.M)


class KokkosBounds(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not calls["depends_on"]:
            load_recipe()

    def test_spack_bounds_are_cmakes(self):
        minimum, limit = cmake_kokkos_range()
        self.assertEqual(len(version_tuple(limit)), 1, "the limit is a major version")
        spack_range = f"@{minimum}:{int(limit) - 1}"
        specs = [spec for spec, _, _ in calls["depends_on"]]
        self.assertIn("kokkos" + spack_range, specs)
        self.assertIn("kokkos-kernels" + spack_range, specs)
        # cuda_lambda is a variant of kokkos@:4 only; every CUDA dependency says so.
        for spec in specs:
            if "cuda_lambda" in spec:
                self.assertTrue(spec.startswith(f"kokkos@:{int(limit) - 1}+"), spec)

    def test_installed_config_uses_the_same_range(self):
        text = open(os.path.join(SOURCE, "cmake", "medimgConfig.cmake.in")).read()
        self.assertIn("set(MEDIMG_KOKKOS_VERSIONS @MEDIMG_KOKKOS_VERSIONS@)", text)
        self.assertIn("medimg_find_kokkos_package(Kokkos)", text)
        self.assertIn("medimg_find_kokkos_package(KokkosKernels)", text)

    def test_range_is_what_was_tested(self):
        minimum, limit = cmake_kokkos_range()
        pairs = tested_versions()
        self.assertGreaterEqual(len(pairs), 2, "README's Tested with table lists no versions")
        lowest = version_tuple(minimum)
        for kokkos, kernels in pairs:
            for name, version in (("Kokkos", kokkos), ("Kokkos Kernels", kernels)):
                self.assertGreaterEqual(version_tuple(version)[:len(lowest)], lowest,
                                        f"{name} {version} is below the range")
                self.assertLess(version_tuple(version)[0], int(limit),
                                f"{name} {version} is outside the range")
        # Both ends were tested: the minimum's major.minor and the last major.
        kokkos = [version_tuple(k) for k, _ in pairs]
        self.assertTrue(any(v[:len(lowest)] == lowest for v in kokkos), "minimum untested")
        self.assertTrue(any(v[0] == int(limit) - 1 for v in kokkos), "last major untested")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=2)
