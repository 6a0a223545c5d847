// eval_data.cpp — parsers for the evaluation layouts of eval_data.h.
#include "engine/eval/eval_data.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "engine/core/error.h"

namespace wsdol::eval {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == sep) {
            out.push_back(cur);
            cur.clear();
        } else {
            cur.push_back(c);
        }
    }
    out.push_back(cur);
    return out;
}

std::string trim(const std::string& s) {
    size_t a = 0, b = s.size();
    while (a < b && (s[a] == ' ' || s[a] == '\t')) ++a;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t')) --b;
    return s.substr(a, b - a);
}

int64_t parse_int(const std::string& s, const std::string& path, size_t line_no) {
    try {
        size_t used = 0;
        const long long v = std::stoll(trim(s), &used);
        if (used == trim(s).size()) return v;
    } catch (...) {
    }
    fail(str(path, ":", line_no, ": expected an integer, got '", s, "'"));
}

bool exists(const std::string& p) { return std::filesystem::exists(p); }

}  // namespace

std::vector<std::string> read_text_lines(const std::string& path) {
    std::ifstream f(path);
    WSDOL_CHECK(f.good(), path, ": cannot open file");
    std::vector<std::string> out;
    std::string line;
    while (std::getline(f, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (trim(line).empty()) continue;
        out.push_back(line);
    }
    return out;
}

std::vector<std::string> read_id_list(const std::string& path) {
    std::vector<std::string> ids;
    for (const std::string& l : read_text_lines(path)) ids.push_back(trim(l));
    WSDOL_CHECK(!ids.empty(), path, ": the id list is empty");
    return ids;
}

namespace {

// "id v1 v2 ..." lines (blank lines and '#' comments skipped): fn(id, integer values, line number).
template <typename Fn>
void for_each_id_row(const std::string& path, Fn&& fn) {
    std::ifstream f(path);
    WSDOL_CHECK(f.good(), path, ": cannot open file");
    std::string line, id, tok;
    for (size_t line_no = 1; std::getline(f, line); ++line_no) {
        std::istringstream s(line);
        if (!(s >> id) || id[0] == '#') continue;
        std::vector<int64_t> values;
        while (s >> tok) values.push_back(parse_int(tok, path, line_no));
        fn(id, values, line_no);
    }
}

}  // namespace

std::map<std::string, std::vector<int>> read_image_labels(const std::string& path, int max_class) {
    std::map<std::string, std::vector<int>> out;
    for_each_id_row(path, [&](const std::string& id, const std::vector<int64_t>& values, size_t line_no) {
        std::vector<int> classes;
        for (int64_t c : values) {
            WSDOL_CHECK(c >= 1 && c <= max_class, path, ":", line_no, ": class ", c, " outside 1..", max_class);
            classes.push_back(static_cast<int>(c));
        }
        WSDOL_CHECK(!out.count(id), path, ":", line_no, ": id ", id, " listed twice");
        out[id] = classes;
    });
    return out;
}

std::map<std::string, std::vector<int64_t>> read_topk(const std::string& path) {
    std::map<std::string, std::vector<int64_t>> out;
    for_each_id_row(path, [&](const std::string& id, const std::vector<int64_t>& values, size_t line_no) {
        WSDOL_CHECK(!values.empty(), path, ":", line_no, ": no predicted classes for ", id);
        out[id] = values;
    });
    return out;
}

WsolMetadata read_wsol_metadata(const std::string& dir) {
    WsolMetadata m;
    m.dir = dir;
    const std::string loc = dir + "/localization.txt";
    WSDOL_CHECK(exists(loc), loc, ": missing (a wsolevaluation metadata folder needs localization.txt)");
    std::vector<std::string> order;
    std::set<std::string> seen;
    const auto loc_lines = read_text_lines(loc);
    WSDOL_CHECK(!loc_lines.empty(), loc, ": empty");
    const size_t fields = split(loc_lines[0], ',').size();
    WSDOL_CHECK(fields == 5 || fields == 3, loc, ":1: expected id,x0,y0,x1,y1 (boxes) or id,mask,ignore (masks), got ",
                fields, " fields");
    for (size_t i = 0; i < loc_lines.size(); ++i) {
        const auto f = split(loc_lines[i], ',');
        WSDOL_CHECK(f.size() == fields, loc, ":", i + 1, ": expected ", fields, " comma-separated fields, got ",
                    f.size());
        const std::string& id = f[0];
        if (seen.insert(id).second) order.push_back(id);
        if (fields == 5) {
            const Box b{parse_int(f[1], loc, i + 1), parse_int(f[2], loc, i + 1), parse_int(f[3], loc, i + 1),
                        parse_int(f[4], loc, i + 1)};
            WSDOL_CHECK(b.x0 >= 0 && b.y0 >= 0 && b.x1 >= b.x0 && b.y1 >= b.y0, loc, ":", i + 1, ": box ", b,
                        " does not follow the x0y0x1y1 convention");
            m.boxes[id].push_back(b);
        } else {
            WSDOL_CHECK(!f[1].empty(), loc, ":", i + 1, ": empty mask path");
            const bool first = !m.mask_paths.count(id);
            m.mask_paths[id].push_back(f[1]);
            if (first) {
                m.ignore_paths[id] = f[2];
            } else {
                WSDOL_CHECK(f[2].empty(), loc, ":", i + 1, ": a second ignore mask for ", id);
            }
        }
    }
    const std::string ids_file = dir + "/image_ids.txt";
    if (exists(ids_file)) {
        m.image_ids = read_id_list(ids_file);
        for (size_t i = 0; i < m.image_ids.size(); ++i)
            WSDOL_CHECK(seen.count(m.image_ids[i]), ids_file, ":", i + 1, ": image ", m.image_ids[i],
                        " has no line in localization.txt");
    } else {
        m.image_ids = order;
    }
    const std::string labels = dir + "/class_labels.txt";
    if (exists(labels)) {
        const auto lines = read_text_lines(labels);
        for (size_t i = 0; i < lines.size(); ++i) {
            const auto f = split(lines[i], ',');
            WSDOL_CHECK(f.size() == 2, labels, ":", i + 1, ": expected id,class");
            m.class_labels[f[0]] = parse_int(f[1], labels, i + 1);
        }
    }
    const std::string sizes = dir + "/image_sizes.txt";
    if (exists(sizes)) {
        const auto lines = read_text_lines(sizes);
        for (size_t i = 0; i < lines.size(); ++i) {
            const auto f = split(lines[i], ',');
            WSDOL_CHECK(f.size() == 3, sizes, ":", i + 1, ": expected id,w,h");
            const int64_t w = parse_int(f[1], sizes, i + 1), h = parse_int(f[2], sizes, i + 1);
            WSDOL_CHECK(w > 0 && h > 0, sizes, ":", i + 1, ": bad size ", w, "x", h);
            m.sizes[f[0]] = {w, h};
        }
    }
    return m;
}

}  // namespace wsdol::eval
