// cmd_convert.cpp — `wsdol convert IN OUT [--format safetensors|torch] [--dtype f32|f16|keep]`: any readable weights
// file (see weights/weights_file.h) to safetensors or a PyTorch zip checkpoint, written atomically.
#include <cstdio>
#include <filesystem>

#include "apps/cli.h"
#include "engine/io/output_dir.h"
#include "engine/io/safetensors.h"
#include "weights/weights_file.h"

namespace {

std::string lower_extension(const std::string& path) {
    std::string ext = std::filesystem::path(path).extension().string();
    for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return ext;
}

int run_convert(const std::vector<std::string>& args) {
    wsdol::cli::Args a("convert", args, {"format", "dtype"}, {"zip64", "force"});
    WSDOL_CHECK(a.positional().size() == 2, "convert: expected IN and OUT (see wsdol convert --help)");
    const std::string& in = a.positional()[0];
    const std::string& out = a.positional()[1];

    std::string format = a.get_or("format", "");
    if (format.empty()) {
        const std::string ext = lower_extension(out);
        if (ext == ".safetensors") format = "safetensors";
        else if (ext == ".pt" || ext == ".pth" || ext == ".bin") format = "torch";
        else
            wsdol::fail(wsdol::str("convert: cannot tell the output format from '", out,
                                   "' (extension .safetensors, .pt, .pth or .bin), give --format safetensors|torch"));
    }
    WSDOL_CHECK(format == "safetensors" || format == "torch", "convert: --format must be safetensors or torch, got '",
                format, "'");
    const std::string dtype = a.get_or("dtype", "keep");
    WSDOL_CHECK(dtype == "keep" || dtype == "f32" || dtype == "f16", "convert: --dtype must be f32, f16 or keep, got '",
                dtype, "'");

    // Every option is valid: now the output (engine/io/output_dir.h). OUT is never IN (a training checkpoint
    // rewritten as weights loses its optimizer state and metadata), and an existing OUT is replaced only with --force.
    const wsdol::io::OutputFile output(out, "convert", a.flag("force") ? wsdol::io::Reuse::force : wsdol::io::Reuse::refuse,
                                       {{"", in}}, "OUT");
    wsdol::weights::WeightsFile w = wsdol::weights::read_weights(in);
    // --dtype converts floating tensors only (float64/float32/float16/bfloat16); integer and bool tensors (BN
    // counters, masks, ids) keep their dtype. f16 rounds to nearest even, as Tensor.half() does.
    if (dtype != "keep") {
        const wsdol::DType target = dtype == "f32" ? wsdol::DType::f32 : wsdol::DType::f16;
        for (auto& [name, t] : w.tensors)
            if (wsdol::is_floating(t.dtype()) && t.dtype() != target) t = t.to(target);
    }
    if (format == "safetensors") wsdol::io::save_safetensors(out, w.tensors, {{"format", "pt"}});
    else {
        wsdol::weights::TorchZipOptions options;
        options.force_zip64 = a.flag("zip64");
        wsdol::weights::write_torch_zip(out, w.tensors, options);
    }
    std::printf("wrote %s: %zu tensors (%s) from %s (%s%s)\n", out.c_str(), w.tensors.size(),
                format == "torch" ? "PyTorch zip" : "safetensors", in.c_str(), wsdol::weights::format_name(w.format),
                w.state_dict_key.empty() ? "" : (", state_dict ['" + w.state_dict_key + "']").c_str());
    return 0;
}

WSDOL_COMMAND({"convert", "convert a weights file to safetensors or a PyTorch checkpoint",
               "usage: wsdol convert IN OUT [--format safetensors|torch] [--dtype f32|f16|keep] [--zip64] [--force]\n\n"
               "Reads IN (any format wsdol inspect reads: safetensors, PyTorch zip, TorchScript, legacy pickle\n"
               "stream) and writes its state_dict to OUT atomically (a temporary file renamed over OUT). OUT must\n"
               "not be IN; an existing OUT is replaced only with --force.\n\n"
               "  --format  safetensors, or torch (a torch.save-compatible zip, torch.load(weights_only=True)\n"
               "            opens it); default from OUT's extension: .safetensors, or .pt / .pth / .bin\n"
               "  --dtype   f32 or f16 converts every floating tensor; keep (default) leaves dtypes alone.\n"
               "            Integer and bool tensors always keep their dtype.\n"
               "  --zip64   (torch only) ZIP64 extra fields on every record even when not needed (testing readers)\n"
               "  --force   replace an existing OUT\n\n"
               "examples (after wsdol train --help's):\n"
               "  wsdol convert runs/tinycam/checkpoint.safetensors tinycam.pt\n"
               "  wsdol convert tinycam.pt tinycam_f16.safetensors --dtype f16\n"
               "  wsdol convert runs/tinycam/checkpoint.safetensors tinycam.pt --zip64 --force",
               run_convert});

}  // namespace
