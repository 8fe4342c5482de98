# The ITK modules the medimg library links: image IO, and transform IO
# (ITK's text .tfm format for registration results). Shared by the
# build and by the installed medimgConfig.cmake so both ask for the same list.
# ITKIOHDF5 is deliberately absent: ITK's HDF5 is the serial build, medimg
# links the parallel one. ITKIONIFTI too: medimg reads NIfTI itself with
# nifti_clib, whose nifti_* symbols ITK's bundled niftiio also exports with
# other struct layouts; the two must never be in one process.
set(MEDIMG_ITK_COMPONENTS
  ITKCommon ITKIOImageBase ITKIONRRD ITKIOMeta ITKIOGDCM ITKIOPNG
  ITKTransform ITKIOTransformBase ITKIOTransformInsightLegacy)
