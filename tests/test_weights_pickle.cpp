// test_weights_pickle.cpp — the restricted unpickler (opcodes, values, limits, refused globals: the malicious
// fixtures and hand-made pickles), the protocol-2 pickler, and the zip reader/writer on crafted archives.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "tests/weights_test_util.h"
#include "weights/pickle.h"
#include "weights/zip_archive.h"

namespace wsdol::test {
namespace {

using namespace weights::pickle;
using namespace std::string_literals;  // "...\x00..."s keeps embedded NULs

// ---- hand-made pickles

std::string u32le(uint32_t v) {
    std::string s(4, '\0');
    std::memcpy(s.data(), &v, 4);
    return s;
}
std::string uni(const std::string& s) {  // BINUNICODE
    std::string out = "X";
    out += u32le(static_cast<uint32_t>(s.size()));
    out += s;
    return out;
}
std::string glob(const std::string& module, const std::string& name) { return "c" + module + "\n" + name + "\n"; }
const std::string kProto2 = "\x80\x02";

const Value* load(Arena& arena, const std::string& bytes, Mode mode = Mode::state_dict, Limits limits = {}) {
    Options o;
    o.label = "test.pkl";
    o.mode = mode;
    o.limits = limits;
    return unpickle(arena, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), o);
}

void expect_pickle_error(const std::string& bytes, const std::vector<std::string>& pieces, Mode mode = Mode::state_dict,
                         Limits limits = {}) {
    expect_error([&] {
        Arena a;
        load(a, bytes, mode, limits);
    }, "pickle: test.pkl: ", pieces);
}

// ---------------------------------------------------------------- values

TEST(WeightsPickle, ScalarsAndContainers) {
    Arena a;
    // (None, True, False, -2, 255, 65535, -2^31, 2^40 (LONG1), 2^64 (big), 0.5, 'é', b'\x00\x01')
    std::string p = kProto2 + "(NK\x00"s + std::string("\x88\x89") + "J" + u32le(0xFFFFFFFEu) + "K\xff" + "M\xff\xff" +
                    "J" + u32le(0x80000000u) + std::string("\x8a\x06\x00\x00\x00\x00\x00\x01", 8) +
                    std::string("\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01", 11) +
                    std::string("G\x3f\xe0\x00\x00\x00\x00\x00\x00", 9) + uni("\xc3\xa9") + "C\x02" +
                    std::string("\x00\x01", 2) + "t.";
    const Value* v = load(a, p);
    ASSERT_TRUE(v->is_tuple());
    ASSERT_EQ(v->items.size(), 13u);
    EXPECT_EQ(v->items[0]->kind, Kind::none);
    EXPECT_EQ(v->items[1]->integer, 0);
    EXPECT_TRUE(v->items[2]->boolean);
    EXPECT_FALSE(v->items[3]->boolean);
    EXPECT_EQ(v->items[4]->integer, -2);
    EXPECT_EQ(v->items[5]->integer, 255);
    EXPECT_EQ(v->items[6]->integer, 65535);
    EXPECT_EQ(v->items[7]->integer, INT32_MIN);
    EXPECT_EQ(v->items[8]->integer, int64_t(1) << 40);
    EXPECT_EQ(v->items[9]->kind, Kind::big_integer);
    EXPECT_EQ(v->items[10]->floating, 0.5);
    EXPECT_EQ(v->items[11]->text, "\xc3\xa9");
    EXPECT_EQ(v->items[12]->kind, Kind::bytes);
    EXPECT_EQ(v->items[12]->text, std::string("\x00\x01", 2));
}

TEST(WeightsPickle, DictsListsSetsMemoAndProtocol4) {
    Arena a;
    // {'a': [1, 2, 3], 'b': {1, 2}, 'a' again replaces}; memo get of the list; protocol 4 framing + MEMOIZE.
    std::string p = std::string("\x80\x04\x95") + std::string(8, '\0') + "}\x94(" + "\x8c\x01" + "a" + "]\x94" +
                    "(K\x01K\x02K\x03" "e" + "\x8c\x01" + "b" + "\x8f(K\x01K\x02\x90" + "\x8c\x01" + "c" + "h\x01" +
                    "u" + "\x8c\x01" + "a" + "K\x09s.";
    const Value* d = load(a, p);
    ASSERT_TRUE(d->is_dict());
    ASSERT_EQ(d->entries.size(), 3u);
    EXPECT_EQ(dict_get(d, "a")->integer, 9);  // replaced in place, order kept
    EXPECT_EQ(d->entries[0].first->text, "a");
    EXPECT_EQ(dict_get(d, "b")->kind, Kind::set);
    EXPECT_EQ(dict_get(d, "c")->items.size(), 3u);  // the memoized list
}

TEST(WeightsPickle, OrderedDictReduceAndBuildIgnoresMetadata) {
    Arena a;
    std::string p = kProto2 + glob("collections", "OrderedDict") + ")R(" + uni("x") + "K\x01u}" + uni("_metadata") +
                    "}sb.";
    const Value* d = load(a, p);
    ASSERT_TRUE(d->is_dict());
    EXPECT_TRUE(d->boolean);  // ordered
    EXPECT_EQ(d->entries.size(), 1u);
}

TEST(WeightsPickle, TensorFromPersistentStorage) {
    Arena a;
    std::string tensor = glob("torch._utils", "_rebuild_tensor_v2") + "((" + uni("storage") +
                         glob("torch", "HalfStorage") + uni("7") + uni("cuda:0") + "K\x0c" + "tQK\x02(K\x02K\x03t(K\x01K\x02t" +
                         "\x88" + glob("collections", "OrderedDict") + ")RtR";
    const Value* t = load(a, kProto2 + tensor + ".");
    ASSERT_EQ(t->kind, Kind::tensor);
    EXPECT_EQ(t->tensor.dtype, TorchDType::f16);
    EXPECT_EQ(t->tensor.storage->storage.key, "7");
    EXPECT_EQ(t->tensor.storage->storage.numel, 12);
    EXPECT_EQ(t->tensor.storage_offset, 2);
    EXPECT_EQ(t->tensor.size, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(t->tensor.stride, (std::vector<int64_t>{1, 2}));
    EXPECT_TRUE(t->tensor.requires_grad);
    // _rebuild_parameter(tensor, requires_grad, hooks)
    Arena b;
    const Value* p = load(b, kProto2 + glob("torch._utils", "_rebuild_parameter") + tensor + "\x89" +
                                 glob("collections", "OrderedDict") + ")R\x87R.");
    ASSERT_EQ(p->kind, Kind::tensor);
    EXPECT_TRUE(p->tensor.is_parameter);
    EXPECT_FALSE(p->tensor.requires_grad);
    // Bad persistent ids and arguments are errors naming what is wrong.
    expect_pickle_error(kProto2 + "(" + uni("storage") + glob("argparse", "Namespace") + uni("0") + uni("cpu") + "K\x01tQ.",
                        {"persistent id", "'argparse.Namespace'", "not a torch storage type"});
    expect_pickle_error(kProto2 + uni("0") + "Q.", {"plain string", "legacy tar"});
    expect_pickle_error(kProto2 + glob("torch._utils", "_rebuild_tensor_v2") + "(K\x01K\x02tR.",
                        {"_rebuild_tensor_v2", "arguments"});
}

TEST(WeightsPickle, TorchScriptObjectsOnlyInTorchScriptMode) {
    const std::string p = kProto2 + glob("__torch__.m", "Net") + ")\x81}(" + uni("training") + "\x88ub.";
    Arena a;
    const Value* o = load(a, p, Mode::torchscript);
    ASSERT_EQ(o->kind, Kind::object);
    EXPECT_EQ(o->text, "__torch__.m.Net");
    EXPECT_TRUE(o->has_dict_state);
    Arena b;
    const Value* u = load(b, p, Mode::state_dict);  // an unknown class elsewhere: opaque, never instantiated
    EXPECT_EQ(u->kind, Kind::unsupported);
    EXPECT_EQ(describe(u), "__torch__.m.Net (unsupported global, not loaded)");
}

TEST(WeightsPickle, CyclesAreHarmless) {
    // l = []; l.append(l): a self-referential list (memo). Walkers terminate; the arena frees it.
    Arena a;
    const Value* l = load(a, kProto2 + "]q\x00h\x00" "a."s);
    ASSERT_EQ(l->kind, Kind::list);
    EXPECT_EQ(l->items[0], l);
    std::string name;
    EXPECT_FALSE(find_unsupported(l, &name));
    Arena b;
    const Value* c = load(b, kProto2 + "]q\x00h\x00" "a"s + glob("argparse", "Namespace") + ")\x81" "a.");
    EXPECT_TRUE(find_unsupported(c, &name));
    EXPECT_EQ(name, "argparse.Namespace");
}

// ---------------------------------------------------------------- malformed

TEST(WeightsPickle, MalformedStreamsAreErrorsWithOffsets) {
    expect_pickle_error("", {"truncated", "no STOP"});
    expect_pickle_error(kProto2 + "N", {"truncated", "no STOP"});
    expect_pickle_error(kProto2 + ".", {"STOP", "stack underflow"});
    expect_pickle_error(kProto2 + "X\x10\x00\x00\x00" "abc."s, {"truncated", "BINUNICODE", "needs 16 more bytes"});
    expect_pickle_error(kProto2 + uni("\xff\xfe") + ".", {"not valid UTF-8"});
    expect_pickle_error(kProto2 + "h\x05.", {"memo slot 5 was never set"});
    expect_pickle_error(kProto2 + "K\x01K\x02" "a.", {"APPEND to int 1"});
    expect_pickle_error(kProto2 + "t.", {"TUPLE without a MARK"});
    expect_pickle_error(kProto2 + "(K\x01u.", {"SETITEMS", "odd number"});
    expect_pickle_error(kProto2 + "\xff.", {"unknown opcode 0xff", "byte 2"});
    expect_pickle_error(kProto2 + "I1\n.", {"unsupported opcode INT (protocol 0 text)"});
    expect_pickle_error(kProto2 + "(c" + "os\nsystem\n" + "i.", {"'os.system'", "not allowed"});
    expect_pickle_error("\x80\x07.", {"unsupported pickle protocol 7"});
    expect_pickle_error(std::string("\x80\x04\x95\xff\x00\x00\x00\x00\x00\x00\x00N.", 13), {"FRAME", "past the end"});
    expect_pickle_error(kProto2 + "K\x01K\x02R.", {"REDUCE", "int 1", "not a global"});
    expect_pickle_error(kProto2 + "K\x01N" "b.", {"BUILD on int 1"});
    expect_pickle_error(kProto2 + "c" + std::string(5000, 'a') + "\n", {"GLOBAL", "longer than 4096"});
}

TEST(WeightsPickle, LimitsBoundStackMemoAndValues) {
    Limits small;
    small.max_stack = 100;
    expect_pickle_error(kProto2 + std::string(200, 'N') + ".", {"stack deeper than 100"}, Mode::state_dict, small);
    expect_pickle_error(kProto2 + std::string(200, '(') + ".", {"stack deeper than 100"}, Mode::state_dict, small);
    Limits memo;
    memo.max_memo = 3;
    expect_pickle_error(kProto2 + "Nq\x00q\x01q\x02q\x03."s, {"more than 3 memo entries"}, Mode::state_dict, memo);
    Limits values;
    values.max_values = 50;
    std::string many = kProto2 + "]";
    for (int i = 0; i < 60; ++i) many += "Na";
    expect_pickle_error(many + ".", {"more than 50 values"}, Mode::state_dict, values);
    // Deep nesting is iterative: 100000 nested lists cost no recursion.
    std::string deep = kProto2;
    for (int i = 0; i < 100000; ++i) deep += "]";
    for (int i = 0; i < 99999; ++i) deep += "a";
    Arena a;
    EXPECT_EQ(load(a, deep + ".")->kind, Kind::list);
}

// ---------------------------------------------------------------- refused globals

TEST(WeightsPickle, DangerousGlobalsAreRefusedByName) {
    const std::vector<std::pair<std::string, std::string>> dangerous = {
        {"os", "system"},         {"posix", "system"},       {"nt", "system"},         {"subprocess", "Popen"},
        {"subprocess", "run"},    {"sys", "exit"},           {"builtins", "eval"},     {"builtins", "exec"},
        {"builtins", "getattr"},  {"builtins", "__import__"}, {"builtins", "open"},    {"builtins", "compile"},
        {"__builtin__", "eval"},  {"functools", "partial"},  {"operator", "attrgetter"}, {"pickle", "loads"},
        {"importlib", "import_module"}, {"shutil", "rmtree"}, {"socket", "socket"},    {"ctypes", "CDLL"},
        {"torch", "load"},        {"numpy", "load"},         {"torch.hub", "load"},    {"os.path", "join"},
        {"runpy", "run_path"},    {"webbrowser", "open"},    {"torch._C", "_set_grad_enabled"},
    };
    for (const auto& [module, name] : dangerous) {
        SCOPED_TRACE(module + "." + name);
        const std::string qualified = "'" + module + "." + name + "'";
        // GLOBAL + REDUCE
        expect_pickle_error(kProto2 + glob(module, name) + uni("id") + "\x85R.",
                            {"global " + qualified + " is not allowed", "nothing was executed"});
        // STACK_GLOBAL (protocol 4)
        const std::string sg = std::string("\x80\x04\x8c") + char(module.size()) + module + "\x8c" + char(name.size()) +
                               name + "\x93)R.";
        expect_pickle_error(sg, {"global " + qualified + " is not allowed"});
    }
}

TEST(WeightsPickle, HarmlessGlobalsAreAllowed) {
    for (const auto& [module, name] : std::vector<std::pair<std::string, std::string>>{
             {"builtins", "set"}, {"builtins", "frozenset"}, {"torch", "Size"},
             {"torch.jit._pickle", "build_intlist"}}) {
        Arena a;
        const Value* v = load(a, kProto2 + glob(module, name) + "]K\x01" "a\x85R.");
        EXPECT_NE(v->kind, Kind::unsupported) << module << "." << name;
    }
    Arena a;
    EXPECT_EQ(load(a, kProto2 + glob("torch", "device") + uni("cuda") + "K\x01\x86R.")->text, "cuda:1");
}

TEST(WeightsPickle, MaliciousFixturesAreRefused) {
    expect_error([] { weights::read_weights(format_fixture("evil_os_system_legacy.pt")); },
                 {"evil_os_system_legacy.pt", "global 'os.system' is not allowed", "nothing was executed"});
    expect_error([] { weights::read_weights(format_fixture("evil_builtins_eval.pt")); },
                 {"evil_builtins_eval.pt", "data.pkl", "global 'builtins.eval' is not allowed"});
    // posix.system next to a real tensor: still refused (a dangerous global anywhere refuses the file).
    expect_error([] { weights::read_weights(format_fixture("evil_posix_system.pt")); },
                 {"evil_posix_system.pt", "global 'posix.system' is not allowed"});
}

// ---------------------------------------------------------------- pickler

TEST(WeightsPickle, PicklerIntegersRoundTrip) {
    const std::vector<int64_t> values = {0, 1, 255, 256, 65535, 65536, -1, -256, INT32_MIN, INT32_MAX,
                                         int64_t(1) << 31, -(int64_t(1) << 31) - 1, int64_t(1) << 40,
                                         -(int64_t(1) << 40), INT64_MIN, INT64_MAX, 0x7F, 0x80, 0x8000, -0x81};
    Pickler p;
    p.mark();
    for (int64_t v : values) p.integer(v);
    p.int_tuple({});
    p.int_tuple({5});
    p.int_tuple({1, 2, 3, 4});
    p.tuple_from_mark();
    p.stop();
    Arena a;
    const Value* t = load(a, p.bytes());
    ASSERT_EQ(t->items.size(), values.size() + 3);
    for (size_t i = 0; i < values.size(); ++i) {
        ASSERT_EQ(t->items[i]->kind, Kind::integer) << values[i];
        EXPECT_EQ(t->items[i]->integer, values[i]);
    }
    EXPECT_EQ(t->items[values.size()]->items.size(), 0u);
    EXPECT_EQ(t->items[values.size() + 1]->items[0]->integer, 5);
    EXPECT_EQ(t->items[values.size() + 2]->items[3]->integer, 4);
}

// ---------------------------------------------------------------- zip container

std::string zip_of(const std::vector<std::pair<std::string, std::string>>& records, bool zip64 = false) {
    std::string out;
    weights::ZipWriter w([&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); }, zip64);
    for (const auto& [name, data] : records) w.add(name, data);
    w.finish();
    return out;
}

TEST(WeightsZip, WriterReaderRoundTripAlignedAndZip64) {
    for (bool zip64 : {false, true}) {
        const std::string bytes = zip_of({{"a/x", "hello"}, {"a/y", ""}, {"a/z", std::string(1000, 'q')}}, zip64);
        weights::ZipArchive z(weights::bytes_source(bytes, "t.zip"));
        ASSERT_EQ(z.entries().size(), 3u);
        for (const weights::ZipEntry& e : z.entries()) EXPECT_EQ(e.data_offset % 64, 0u) << e.name;
        EXPECT_EQ(z.read_string(*z.find("a/x"), 100), "hello");
        EXPECT_EQ(z.read_string(*z.find("a/y"), 100), "");
        EXPECT_EQ(z.read_string(*z.find("a/z"), 5000), std::string(1000, 'q'));
        EXPECT_EQ(z.find("a/missing"), nullptr);
    }
}

TEST(WeightsZip, CorruptArchivesNameFileAndRecord) {
    const std::string good = zip_of({{"a/x", "hello"}, {"a/y", "world"}});
    auto open = [](const std::string& bytes) { weights::ZipArchive z(weights::bytes_source(bytes, "t.zip")); };
    expect_error([&] { open(good.substr(0, 10)); }, "zip: t.zip: ", {"too short"});
    expect_error([&] { open(good.substr(0, good.size() - 1)); }, "zip: t.zip: ", {"no end-of-central-directory"});
    // CRC: flip a data byte ("hello" starts at offset 64).
    std::string bad = good;
    bad[64] ^= 1;
    expect_error([&] {
        weights::ZipArchive z(weights::bytes_source(bad, "t.zip"));
        z.read_string(*z.find("a/x"), 100);
    }, "zip: t.zip: ", {"record 'a/x'", "CRC-32 mismatch"});
    // Duplicate names.
    expect_error([&] { open(zip_of({{"a/x", "1"}, {"a/x", "2"}})); }, {"duplicate record 'a/x'"});
    // Central directory pointing at the wrong local header: corrupt the local signature of the first record.
    bad = good;
    bad[0] = 'Q';
    expect_error([&] { open(bad); }, {"record 'a/x'", "no local header"});
    // A local header naming another record.
    bad = good;
    bad[30] = 'b';
    expect_error([&] { open(bad); }, {"record 'a/x'", "names a different record"});
    // Encrypted / unknown methods (central directory flag and method fields).
    const size_t cd = good.find("PK\x01\x02");
    bad = good;
    bad[cd + 8] |= 1;
    expect_error([&] { open(bad); }, {"record 'a/x'", "encrypted"});
    bad = good;
    bad[cd + 10] = 12;  // bzip2
    expect_error([&] { open(bad); }, {"record 'a/x'", "compression method 12"});
}

}  // namespace
}  // namespace wsdol::test
