// A payload check that ITK's MetaImage reader skips (the ITK module's
// src/itk_module/payload_check.cpp):
// throws medimg::Error when a MetaImage file holds fewer voxel bytes than
// its header describes (truncated, or a corrupt zlib stream).
#pragma once

#include <cstdint>
#include <string>

namespace medimg::detail {

// Before ITK parses a MetaImage header: NDims must be 1-4. MetaIO reads
// NDims^2 numbers for a TransformMatrix, so "NDims = 84731" has it read
// 7e9 values from an exhausted stream, which takes hours (fuzz/ found it).
void check_before_header(const std::string& path, const std::string& io_class);

// After ITK parsed the header: a MetaImage payload holds `data_bytes`.
// io_class is ITK's ImageIO class name; other formats are left to their readers.
void check_after_header(const std::string& path, const std::string& io_class,
                        std::uint64_t data_bytes);

}  // namespace medimg::detail
