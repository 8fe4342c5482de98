// A check made before GDCM parses a DICOM file (the ITK module's header
// screen): GDCM sizes a buffer to an element's declared length and fills it
// with zeros before it finds that the file is shorter, so a damaged length
// costs up to 4 GiB of memory and seconds per read (a 2,735-byte mutated
// RT plan that declares 0x46464646 bytes for one element: 1.1 GiB, 0.7 s,
// in each of the screen's and the load's children; docs/RELIABILITY.md).
//
// This walks the data elements of the whole file, past the pixel data as
// GDCM's full read (the load's) goes: the File Meta group in explicit VR
// little endian, then the data set in the encoding of its transfer syntax.
// Two printable characters that are not a VR read as UN (4-byte length),
// as GDCM reads them, in the File Meta group too. An element whose VR bytes
// are not printable in an explicit-VR data set is read as
// implicit VR (its four bytes are then the length GDCM allocates), and the
// elements after it each by its own two bytes, explicit where they are a
// VR, implicit where not: GDCM's re-read of such a data set
// (ExplicitImplicitDataElement). A file without the "DICM" preamble is walked only when it
// starts with group 0002 or 0008, in the encoding its first element shows.
// The walk enters sequences and items of undefined length, in explicit
// VR those of defined length too, and in implicit VR an element of defined
// length whose value starts with an item tag (GDCM opens such bytes as a
// sequence when asked for one; pydicom reads them as one), so no data
// dictionary is needed. A
// defined length that runs past the end of its container (the file, a
// sequence, an item) is reported. What the walk cannot follow (a bad VR in
// the File Meta group, a tag out of place, a deflated data set, nesting
// deeper than 64) ends it without a finding, and GDCM decides as before;
// GDCM's recovery modes (a data set re-read in another encoding when the
// declared one fails) are bounded by the screen's memory limit instead
// (io/detail/child_memory.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace medimg::detail {

// Empty when nothing is wrong as far as the walk sees, else one line such
// as "element (4646,4646) declares 1179010630 bytes, 2077 are left in the
// file".
std::string dicom_length_problem(const std::uint8_t* data, std::size_t size);

// The same for a file (mapped read-only); empty when it cannot be opened
// (the parser that follows says why).
std::string dicom_length_problem(const std::string& path);

}  // namespace medimg::detail
