// cmd_pipeline.cpp — `wsdol pipeline FILE --out DIR`: runs a declared chain of train/infer stages
// (runner/pipeline.h), skipping finished stages and resuming an interrupted one.
#include <cstdio>

#include "apps/cli.h"
#include "engine/core/error.h"
#include "kernels/cpu/parallel.h"
#include "runner/pipeline.h"

namespace {

using namespace wsdol;

int run_pipeline_command(const std::vector<std::string>& args) {
    cli::Args a("pipeline", args, {"out", "var", "threads", "stop-after-stage", "stop-after-steps"}, {"force", "quiet"});
    WSDOL_CHECK(a.positional().size() == 1, "pipeline: expected one pipeline FILE, got ", a.positional().size());
    const auto out = a.get("out");
    WSDOL_CHECK(out, "pipeline: --out DIR is required");
    std::map<std::string, std::string> vars;
    for (const auto& [k, v] : a.key_values("var")) vars[k] = v;
    const train::Pipeline p = train::read_pipeline(a.positional()[0], *out, vars);  // validated before writing
    if (a.get("threads")) cpu::set_num_threads(int(a.get_int("threads", 0)));
    train::PipelineOptions o;
    o.out = *out;
    o.force = a.flag("force");
    o.stop_after_stage = a.get_or("stop-after-stage", "");
    o.stop_after_steps = a.get_int("stop-after-steps", -1);
    if (!a.flag("quiet")) o.log = [](const std::string& line) { std::printf("[pipeline] %s\n", line.c_str()); std::fflush(stdout); };
    const train::PipelineResult r = train::run_pipeline(p, o);
    std::printf("pipeline: %zu stage(s) ran, %zu skipped; %s\n", r.ran.size(), r.skipped.size(),
                r.finished ? "finished" : "stopped (run the same command again to continue)");
    return 0;
}

}  // namespace

WSDOL_COMMAND(wsdol::cli::Command{
    "pipeline", "run a declared chain of train/infer stages (skips finished ones, resumes an interrupted one)",
    "usage: wsdol pipeline FILE --out DIR [--var key=value ...] [--force] [--threads T] [--quiet]\n"
    "                      [--stop-after-stage NAME] [--stop-after-steps N]\n\n"
    "FILE is a JSON chain of stages, each a `train` or `infer` run written to DIR/<stage>, a later stage naming an\n"
    "earlier one's folder as ${stage:NAME} (runner/pipeline.h has the format). A stage that finished with the same\n"
    "settings is skipped; an interrupted training stage resumes bit-identically; --force starts every stage over\n"
    "(removing only what earlier runs created). --stop-after-stage and --stop-after-steps interrupt the chain on\n"
    "purpose (tests). DIR is new, empty or an earlier pipeline output; never inside an input.\n"
    "\n"
    "examples (from the repository root, with a synth set `data`; see wsdol synth --help):\n"
    "  wsdol pipeline tests/pipelines/cam_seeds.json --out runs/chain --var data=data\n"
    "  wsdol pipeline tests/pipelines/cam_seeds.json --out runs/chain --var data=data --var epochs=3 --force",
    run_pipeline_command});
