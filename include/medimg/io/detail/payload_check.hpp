// Header and payload checks that ITK's readers skip (see payload_check.cpp):
// throws medimg::Error when a NIfTI header has a zero/negative/NaN spatial
// pixdim, or when a NIfTI or MetaImage file holds fewer voxel bytes than its
// header describes (truncated, or a corrupt gzip/zlib stream).
#pragma once

#include <cstdint>
#include <string>

namespace medimg::detail {

// io_class is ITK's ImageIO class name; formats other than NIfTI and
// MetaImage are left to their readers, which check themselves.

// Before ITK parses the header: NIfTI's raw pixdim and payload size.
void check_before_read(const std::string& path, const std::string& io_class);

// After ITK parsed the header: MetaImage's payload holds `data_bytes`.
void check_after_header(const std::string& path, const std::string& io_class,
                        std::uint64_t data_bytes);

// True when `path` (plain or gzip) starts with a NIfTI-2 header.
bool is_nifti2(const std::string& path);

}  // namespace medimg::detail
