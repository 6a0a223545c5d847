// output_dir.h — the one rule every command that writes follows (../shared/docs/architecture.md "Writing
// outputs"): nothing a user wrote is ever lost.
//
// A command writes into an output folder it owns. Ownership is recorded in a marker file, OUT/.wsdol-output
// (JSON: the command, and every file and folder it created there, relative to OUT). So:
//   - a new or empty folder is taken (and created);
//   - a folder that holds files and no marker is not ours: refused, naming it ("choose another folder");
//   - a folder of another command is refused, naming the command that made it;
//   - a folder of the same command: `Reuse::resume` keeps everything (a resumed run, or an inference that
//     rewrites its own outputs); `Reuse::force` first removes what the marker lists (and only that: files a user
//     added stay); `Reuse::refuse` is an error that names --resume and --force;
//   - the folder must not be, contain or lie inside any of the command's inputs (a dataset folder, an input file):
//     writing there could overwrite them (`wsdol infer --out DATA/SegmentationClass`);
//   - the caller validates all its options and inputs BEFORE opening the folder, so a bad option never touches it.
// Files are then written through path(), which records each in the marker before the caller writes it, with the
// folders it had to create for it (key "folders": taken back, when empty, with the entries) (the
// marker is rewritten atomically for the first entries and then in batches, and by flush() / the destructor).
// Removing an entry (remove(), Reuse::force) takes back exactly what was created: a file; a folder with its own
// marker (the output of a command this one ran, e.g. the demo's data/ or runs/cam) through that marker, leaving
// files a user added (the folder then keeps its marker, listing nothing, so the same command can take it again
// with --force); a folder without a marker that this command created as a whole.
// path() may be called from several threads at once (synth writes its images in parallel).
//
// A command whose output is ONE file (convert OUT, report --out FILE.html, report --overlay --out FILE.png) uses
// OutputFile: the same rules for a file, which has no folder of its own to hold a marker — never an input (nor
// inside or around one), an existing file replaced only with Reuse::force, the folder created, the bytes written
// atomically (a temporary file renamed over the path; a dead writer's temporaries are removed first).
#pragma once
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace wsdol::io {

enum class Reuse { refuse, resume, force };

class OutputDir {
public:
    // Opens (creating when needed) `dir` for `command`. `inputs`: files and folders the command reads.
    // `resumable`: whether the command has --resume (the refusal names the flags the command has).
    OutputDir(const std::string& dir, const std::string& command, Reuse reuse,
              const std::vector<std::string>& inputs = {}, bool resumable = true);
    ~OutputDir();
    OutputDir(const OutputDir&) = delete;
    OutputDir& operator=(const OutputDir&) = delete;
    // The path of `relative` inside the folder, recorded as created by this command (parent folders created).
    std::string path(const std::string& relative);
    void flush() const;  // writes the marker now
    // Removes `relative` (a file or folder this command created earlier, per the marker) and forgets it; a path
    // the marker does not list is an error (the command never deletes what it did not create).
    void remove(const std::string& relative);
    bool created(const std::string& relative) const { return entries_.count(relative) != 0; }
    const std::string& dir() const { return dir_; }
    bool reused() const { return reused_; }  // the folder held an earlier output of this command

    static constexpr const char* kMarker = ".wsdol-output";

private:
    void save_marker() const;
    std::string dir_, command_;
    std::set<std::string> entries_;
    std::set<std::string> folders_;  // folders path() created for the entries (removed by force once empty)
    bool reused_ = false;
    mutable size_t saved_entries_ = 0;
    mutable std::recursive_mutex mutex_;
};

class OutputFile {
public:
    // Checks `path` as `command`'s output (call it after validating the options, before the work): `inputs` are
    // (name, path) pairs named in the errors ("--out X is the --image input"); `what` names the argument ("--out",
    // "OUT"). An existing file is an error unless `reuse` is Reuse::force (Reuse::resume is not meaningful for a
    // file and is an error here); an existing folder is always an error.
    OutputFile(const std::string& path, const std::string& command, Reuse reuse,
               const std::vector<std::pair<std::string, std::string>>& inputs = {}, const std::string& what = "--out");
    const std::string& path() const { return path_; }
    void write(const std::string& bytes) const;  // atomically, creating the folder

private:
    std::string path_, command_;
};

// Whether `path` is `root` or lies inside it (after resolving . / .. and symlinks of the existing part).
bool path_within(const std::string& path, const std::string& root);

}  // namespace wsdol::io
