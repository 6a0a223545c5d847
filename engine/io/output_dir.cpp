// output_dir.cpp — output folders owned through a marker file (see output_dir.h).
#include "engine/io/output_dir.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/json.h"

namespace wsdol::io {

namespace fs = std::filesystem;

namespace {

fs::path resolved(const std::string& p) {
    std::error_code ec;
    fs::path r = fs::weakly_canonical(fs::absolute(p), ec);
    return ec ? fs::absolute(p).lexically_normal() : r;
}

// The entries (key "created") or the folders path() made for them (key "folders") a marker lists (empty when the
// folder has no readable marker).
std::vector<std::string> marker_list(const fs::path& dir, const char* key) {
    std::vector<std::string> out;
    std::ifstream in(dir / OutputDir::kMarker);
    if (!in) return out;
    std::stringstream ss;
    ss << in.rdbuf();
    const json::Value v = json::parse(ss.str());
    if (const json::Value* files = v.find(key))
        for (const auto& f : files->items()) {
            // A marker names paths inside its folder only: anything else (an edited or hostile marker) is refused
            // before anything is removed.
            const std::string e = f.as_string();
            const fs::path norm = fs::path(e).lexically_normal();
            WSDOL_CHECK(!e.empty() && fs::path(e).is_relative() && norm.string() != "." && *norm.begin() != "..",
                        (dir / OutputDir::kMarker).string(), " is damaged: it lists '", e,
                        "', which is not a path inside its folder; choose another folder");
            out.push_back(e);
        }
    return out;
}
std::vector<std::string> marker_entries(const fs::path& dir) { return marker_list(dir, "created"); }

// Removes the folders path() created under `dir` for its entries, deepest first, each only when empty (a folder
// holding a file a user added stays, with the file).
void remove_empty_folders(const fs::path& dir, const std::set<std::string>& folders) {
    std::vector<std::string> order(folders.begin(), folders.end());
    std::sort(order.begin(), order.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (const std::string& f : order) {
        std::error_code ec;
        if (fs::is_directory(fs::symlink_status(dir / f)) && fs::is_empty(dir / f, ec)) fs::remove(dir / f, ec);
    }
}

void write_marker(const fs::path& dir, const std::string& command, const std::set<std::string>& entries,
                  const std::set<std::string>& folders) {
    json::Value v = json::Value::object();
    v.set("command", command);
    json::Value files = json::Value::array();
    for (const auto& e : entries) files.push_back(e);
    v.set("created", files);
    if (!folders.empty()) {
        json::Value list = json::Value::array();
        for (const auto& f : folders) list.push_back(f);
        v.set("folders", list);
    }
    write_file_atomic((dir / OutputDir::kMarker).string(), json::dump(v) + "\n");
}

// Removes what a command created at `p` (see output_dir.h).
void remove_created(const fs::path& p) {
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(p))) return;
    if (fs::is_directory(fs::symlink_status(p)) && fs::exists(p / OutputDir::kMarker)) {
        for (const std::string& e : marker_entries(p)) remove_created(p / e);
        const std::vector<std::string> listed = marker_list(p, "folders");
        std::set<std::string> folders(listed.begin(), listed.end());
        remove_empty_folders(p, folders);
        if (fs::is_empty(p) || (std::distance(fs::directory_iterator(p), fs::directory_iterator()) == 1)) {
            fs::remove(p / OutputDir::kMarker, ec);
            fs::remove(p, ec);
            return;
        }
        // Files a user added stay, and so does the folder's owner: the marker, now listing nothing created, lets
        // the same command take the folder again (with --force) instead of refusing it as someone else's.
        for (auto it = folders.begin(); it != folders.end();) it = fs::exists(p / *it) ? std::next(it) : folders.erase(it);
        std::ifstream in(p / OutputDir::kMarker);
        std::stringstream ss;
        ss << in.rdbuf();
        const json::Value v = json::parse(ss.str());
        const json::Value* owner = v.find("command");
        write_marker(p, owner && owner->is_string() ? owner->as_string() : "?", {}, folders);
        return;
    }
    fs::remove_all(p, ec);
    WSDOL_CHECK(!ec, "cannot remove ", p.string(), ": ", ec.message());
}

}  // namespace

bool path_within(const std::string& path, const std::string& root) {
    const fs::path a = resolved(path), b = resolved(root);
    auto ai = a.begin(), bi = b.begin();
    for (; bi != b.end(); ++ai, ++bi) {
        if (bi->empty()) continue;  // trailing separator
        if (ai == a.end() || *ai != *bi) return false;
    }
    return true;
}

OutputDir::OutputDir(const std::string& dir, const std::string& command, Reuse reuse,
                     const std::vector<std::string>& inputs, bool resumable)
    : dir_(dir), command_(command) {
    WSDOL_CHECK(!dir.empty(), command, ": --out is empty");
    for (const std::string& in : inputs) {
        if (in.empty()) continue;
        WSDOL_CHECK(!path_within(dir, in) && !path_within(in, dir), command, ": --out ", dir,
                    path_within(dir, in) ? " lies inside the input " : " contains the input ", in,
                    "; writing there could overwrite it: choose another folder");
    }
    const fs::path marker = fs::path(dir) / kMarker;
    if (fs::exists(dir)) {
        WSDOL_CHECK(fs::is_directory(dir), command, ": --out ", dir, " exists and is not a folder");
        if (fs::exists(marker)) {
            std::ifstream in(marker);
            std::stringstream ss;
            ss << in.rdbuf();
            json::Value v;
            try {
                v = json::parse(ss.str());
            } catch (const Error& e) {
                fail(str(command, ": ", marker.string(), " is damaged (", e.what(), "): choose another folder"));
            }
            const std::string owner = v.find("command") ? v.at("command").as_string() : std::string("?");
            WSDOL_CHECK(owner == command, command, ": --out ", dir, " holds the output of `wsdol ", owner,
                        "`: choose another folder");
            for (const std::string& e : marker_entries(dir)) entries_.insert(e);
            for (const std::string& f : marker_list(dir, "folders")) folders_.insert(f);
            reused_ = true;
            WSDOL_CHECK(reuse != Reuse::refuse, command, ": --out ", dir, " holds an earlier `wsdol ", command,
                        "` output: ", resumable ? "--resume continues it, " : "",
                        "--force starts over (removing only what it created), or choose another folder");
            if (reuse == Reuse::force) {
                // Everything the marker lists, then the marker once (not per entry: a synth lists every image).
                for (const std::string& e : entries_) remove_created(fs::path(dir) / e);
                entries_.clear();
                remove_empty_folders(dir, folders_);
                // A folder still there holds a user's file: it stays recorded as made by this command.
                for (auto it = folders_.begin(); it != folders_.end();)
                    it = fs::exists(fs::path(dir) / *it) ? std::next(it) : folders_.erase(it);
            }
        } else {
            WSDOL_CHECK(fs::is_empty(dir), command, ": --out ", dir,
                        " is not empty and was not written by wsdol: choose another (new or empty) folder");
        }
    }
    std::error_code ec;
    fs::create_directories(dir, ec);
    WSDOL_CHECK(!ec, command, ": cannot create the output folder ", dir, ": ", ec.message());
    save_marker();
}

std::string OutputDir::path(const std::string& relative) {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    WSDOL_CHECK(!relative.empty() && fs::path(relative).is_relative() &&
                    fs::path(relative).lexically_normal().string().rfind("..", 0) != 0,
                command_, ": output name '", relative, "' leaves the output folder");
    const std::string key = fs::path(relative).lexically_normal().string();
    const fs::path full = fs::path(dir_) / key;
    if (!entries_.count(key)) {
        WSDOL_CHECK(!fs::exists(full) || reused_, command_, ": ", full.string(),
                    " exists and was not written by this command");
        entries_.insert(key);
        // The first entries at once, then in batches (flush() and the destructor write the rest).
        if (entries_.size() <= 32 || entries_.size() >= 2 * saved_entries_) save_marker();
    }
    // Folders made for the entry are recorded too, so that --force can take them back once they are empty.
    for (fs::path parent = fs::path(key).parent_path(); !parent.empty(); parent = parent.parent_path()) {
        if (folders_.count(parent.string()) || fs::exists(fs::path(dir_) / parent)) break;
        folders_.insert(parent.string());
    }
    if (full.has_parent_path()) fs::create_directories(full.parent_path());
    return full.string();
}

void OutputDir::remove(const std::string& relative) {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    WSDOL_CHECK(entries_.count(relative), command_, ": will not remove ", (fs::path(dir_) / relative).string(),
                ": it was not created by this command");
    remove_created(fs::path(dir_) / relative);
    entries_.erase(relative);
    save_marker();
}

OutputDir::~OutputDir() {
    try {
        if (saved_entries_ != entries_.size()) save_marker();
    } catch (...) {
    }
}

void OutputDir::flush() const {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    save_marker();
}

void OutputDir::save_marker() const {
    write_marker(dir_, command_, entries_, folders_);
    saved_entries_ = entries_.size();
}

OutputFile::OutputFile(const std::string& path, const std::string& command, Reuse reuse,
                       const std::vector<std::pair<std::string, std::string>>& inputs, const std::string& what)
    : path_(path), command_(command) {
    WSDOL_CHECK(!path.empty(), command, ": ", what, " is empty");
    WSDOL_CHECK(reuse != Reuse::resume, command, ": an output file cannot be resumed");
    for (const auto& [name, in] : inputs) {
        if (in.empty()) continue;
        std::error_code ec;
        const bool same = fs::equivalent(path, in, ec) || resolved(path) == resolved(in);  // hard and soft links too
        const std::string input = name.empty() ? std::string("input") : name + " input";
        WSDOL_CHECK(!same, command, ": ", what, " ", path, " is the ", input, "; choose another output file");
        WSDOL_CHECK(!path_within(path, in), command, ": ", what, " ", path, " lies inside the ", input, " ", in,
                    "; writing there could overwrite it: choose another output file");
        WSDOL_CHECK(!path_within(in, path), command, ": ", what, " ", path, " contains the ", input, " ", in,
                    "; choose another output file");
    }
    const fs::file_status st = fs::status(path);
    WSDOL_CHECK(!fs::is_directory(st), command, ": ", what, " ", path, " is a folder; give a file name");
    WSDOL_CHECK(!fs::exists(st) || reuse == Reuse::force, command, ": ", what, " ", path,
                " exists; give --force to replace it, or choose another file");
    // The folder must be writable now, not after the work: create it and probe it.
    const fs::path parent = fs::absolute(path).parent_path();
    std::error_code ec;
    fs::create_directories(parent, ec);
    WSDOL_CHECK(!ec, command, ": cannot create the folder of ", what, " ", path, ": ", ec.message());
    WSDOL_CHECK(::access(parent.c_str(), W_OK) == 0, command, ": the folder of ", what, " ", path,
                " is not writable");
}

void OutputFile::write(const std::string& bytes) const { write_file_atomic(path_, bytes); }

}  // namespace wsdol::io
