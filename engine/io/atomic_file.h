// atomic_file.h — all-or-nothing file replacement, so a crash (or SIGKILL) while saving never leaves a torn file.
//
// The protocol (POSIX): write everything to a new temporary file in the SAME directory as the target
// ("<target>.tmp.<pid>.<n>", created with O_EXCL), fsync it, rename() it over the target (atomic within one
// file system: readers see either the old complete file or the new complete one), then fsync the directory so
// the rename itself survives a power loss. If anything fails before the rename, the temporary file is removed
// and the target is untouched. A process killed mid-write leaves a stray "*.tmp.*" file behind, never a
// damaged target; remove_stale_temporaries() cleans those up.
//
// Readers that memory-map the old file keep a valid mapping: rename replaces the directory entry, the old inode
// lives on until its last mapping goes (never truncate-and-rewrite a file that may be mapped).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wsdol::io {

class AtomicFileWriter {
public:
    explicit AtomicFileWriter(std::string target_path);  // creates the temporary file; throws naming the path
    ~AtomicFileWriter();                                 // without commit(): removes the temporary file
    AtomicFileWriter(const AtomicFileWriter&) = delete;
    AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

    void write(const void* data, size_t nbytes);  // buffered; large blocks go straight to the file
    void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
    uint64_t bytes_written() const { return written_; }
    // Flushes, fsyncs, closes, renames over the target and fsyncs the directory. Throws on any failure
    // (then the target keeps its previous contents).
    void commit();

    const std::string& target_path() const { return target_; }
    const std::string& temp_path() const { return temp_; }

private:
    void flush_buffer();
    void write_fully(const void* data, size_t nbytes);
    std::string target_, temp_;
    int fd_ = -1;
    bool committed_ = false;
    std::string buffer_;
    uint64_t written_ = 0;
};

// Replaces `path` with `bytes` atomically.
void write_file_atomic(const std::string& path, std::string_view bytes);
// Removes "<path>.tmp.<pid>.*" leftovers of writers that died (e.g. killed) before committing — those whose
// process no longer runs — and returns how many. Every AtomicFileWriter calls it first, so a killed writer's
// temporary is cleaned up by the next write of the same file.
int remove_stale_temporaries(const std::string& path);

}  // namespace wsdol::io
