"""README's Python example, as a file (ctest runs it: python.readme)."""
import numpy as np

import medimg

image = medimg.read("/usr/share/mricron/templates/ch2better.nii.gz")
print(image)                        # size, pixel type, orientation, spacing, origin
voxels = image.array                # numpy view of the voxels, [i, j, k], no copy
rotated = medimg.rotate(image, axis="z", degrees=10, interp="linear")
small = medimg.resample_to_spacing(rotated, spacing=[2, 2, 2], interp="bspline")
medimg.write(small, "/tmp/ch2_small.nii.gz")

volume = np.asfortranarray(np.random.rand(64, 64, 64).astype(np.float32))
wrapped = medimg.from_array(volume, spacing=(1, 1, 2))   # the same memory, no copy
print(medimg.z_score(wrapped).array.std())                # 1.0

pipeline = medimg.Pipeline([{"op": "reorient", "orientation": "RAS"},
                            {"op": "resample_to_spacing", "spacing": [1, 1, 1]},
                            {"op": "z_score"}])
print(pipeline.run(image))
