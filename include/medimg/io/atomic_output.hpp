// AtomicOutput: a file appears at its final path complete or not at all.
// Writers write to temporary_path() (a hidden file in the same folder, with
// the same extension so format detection still works), then commit() renames
// it into place; if commit() is never reached the temporary file is removed.
// An existing file at the final path keeps its contents until commit(), but
// its pages leave the page cache when the AtomicOutput is made, so that the
// new file reuses them (atomic_output.cpp says why).
#pragma once

#include <cstdint>
#include <string>

namespace medimg {

class AtomicOutput {
 public:
  explicit AtomicOutput(std::string path);
  ~AtomicOutput();
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  const std::string& temporary_path() const { return m_temporary; }
  const std::string& path() const { return m_path; }
  // Renames the temporary file to path() (an existing file there is swapped
  // out atomically with renameat2's RENAME_EXCHANGE, then removed); throws
  // medimg::Error on failure.
  void commit();

 private:
  std::string m_path;
  std::string m_temporary;
  bool m_committed = false;
};

// The extension of `path` that decides its format: ".nii.gz", ".nii", ...
// (lower-case; empty when there is none).
std::string format_extension(const std::string& path);

// Whether `filename` (no folder) has the form of an AtomicOutput's temporary
// file: ".STEM.medimg-tmp-PID-N[EXT]".
bool is_temporary_name(const std::string& filename);

// Removes from `folder` (not its subfolders) every file named like an
// AtomicOutput temporary: what a process killed before commit() (SIGKILL,
// a node lost, the machine's power) leaves behind. Only for a folder that
// no other running medimg is writing into (the batch runner calls it on its
// own output folders before its first item). Returns how many it removed.
std::size_t remove_stale_temporaries(const std::string& folder);

// Throws medimg::Error, before anything is written, when a file of at least
// `bytes` cannot be written at `path`: more than its folder's free space
// ("No space left on device", with both figures) or than the process'
// file-size limit (RLIMIT_FSIZE, "File too large"). Does nothing when the
// system cannot say. A writer still reports a disk that fills while it
// writes; this check keeps the common case from starting at all (and the
// HDF5 library from being left with a file it cannot close).
void check_output_space(const std::string& path, std::uint64_t bytes);

// Why writing `target` failed, when the system can tell, for writers whose
// library does not say (ITK's "fwrite wrote only N things", HDF5's failed
// flush): `saved_errno` when it is one of a full or limited disk (ENOSPC,
// EDQUOT, EFBIG, EROFS, EIO); else EFBIG's text when `target` has reached
// the file-size limit, ENOSPC's when its folder has no free space left;
// else empty.
std::string write_failure_cause(int saved_errno, const std::string& target);

// Throws medimg::Error unless `path`'s folder exists and is a folder.
void check_output_folder(const std::string& path);

}  // namespace medimg
