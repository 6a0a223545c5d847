// atomic_file.cpp — temp file + fsync + rename + directory fsync (see atomic_file.h).
#include "engine/io/atomic_file.h"

#include <dirent.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "engine/core/error.h"

namespace wsdol::io {
namespace {

constexpr size_t kBufferBytes = size_t(1) << 20;  // writes smaller than 1 MiB are gathered before write()

std::string errno_text() { return std::strerror(errno); }

// "a/b/c.bin" -> "a/b", "c.bin" -> "."
std::string parent_dir(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

std::string base_name(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

void fsync_directory(const std::string& dir, const std::string& target) {
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    WSDOL_CHECK(dfd >= 0, target, ": cannot open directory ", dir, " to fsync it: ", errno_text());
    const int rc = ::fsync(dfd);
    const int saved = errno;
    ::close(dfd);
    // Some file systems do not support fsync on directories (EINVAL); the rename has happened either way.
    WSDOL_CHECK(rc == 0 || saved == EINVAL, target, ": fsync of directory ", dir, " failed: ", std::strerror(saved));
}

std::atomic<uint64_t> temp_counter{0};

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string target_path) : target_(std::move(target_path)) {
    WSDOL_CHECK(!target_.empty(), "atomic write: empty path");
    remove_stale_temporaries(target_);  // leftovers of writers of this file that were killed
    for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
        temp_ = target_ + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(temp_counter++);
        fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd_ < 0 && errno != EEXIST) break;
    }
    WSDOL_CHECK(fd_ >= 0, target_, ": cannot create temporary file ", temp_, ": ", errno_text());
    buffer_.reserve(kBufferBytes);
}

AtomicFileWriter::~AtomicFileWriter() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temp_.c_str());
}

void AtomicFileWriter::write_fully(const void* data, size_t nbytes) {
    const char* p = static_cast<const char*>(data);
    while (nbytes > 0) {
        const ssize_t n = ::write(fd_, p, nbytes);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail(str(target_, ": write to ", temp_, " failed: ", errno_text()));
        }
        p += n;
        nbytes -= static_cast<size_t>(n);
    }
}

void AtomicFileWriter::flush_buffer() {
    if (!buffer_.empty()) write_fully(buffer_.data(), buffer_.size());
    buffer_.clear();
}

void AtomicFileWriter::write(const void* data, size_t nbytes) {
    WSDOL_CHECK(fd_ >= 0 && !committed_, target_, ": write after commit");
    written_ += nbytes;
    if (buffer_.size() + nbytes <= kBufferBytes) {
        buffer_.append(static_cast<const char*>(data), nbytes);
        return;
    }
    flush_buffer();
    if (nbytes >= kBufferBytes) write_fully(data, nbytes);
    else buffer_.append(static_cast<const char*>(data), nbytes);
}

void AtomicFileWriter::commit() {
    WSDOL_CHECK(fd_ >= 0 && !committed_, target_, ": commit called twice");
    flush_buffer();
    WSDOL_CHECK(::fsync(fd_) == 0, target_, ": fsync of ", temp_, " failed: ", errno_text());
    const int rc = ::close(fd_);
    fd_ = -1;
    WSDOL_CHECK(rc == 0, target_, ": close of ", temp_, " failed: ", errno_text());
    WSDOL_CHECK(::rename(temp_.c_str(), target_.c_str()) == 0, target_, ": rename from ", temp_, " failed: ",
                errno_text());
    committed_ = true;
    fsync_directory(parent_dir(target_), target_);
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
    AtomicFileWriter w(path);
    w.write(bytes);
    w.commit();
}

int remove_stale_temporaries(const std::string& path) {
    const std::string dir = parent_dir(path);
    const std::string prefix = base_name(path) + ".tmp.";
    DIR* d = ::opendir(dir.c_str());
    if (!d) return 0;
    int removed = 0;
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name.compare(0, prefix.size(), prefix) != 0) continue;
        // "<target>.tmp.<pid>.<n>": keep the files of a writer that is still running.
        const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
        if (pid > 0 && (::kill(pid_t(pid), 0) == 0 || errno == EPERM)) continue;
        if (::unlink((dir + "/" + name).c_str()) == 0) ++removed;
    }
    ::closedir(d);
    return removed;
}

}  // namespace wsdol::io
