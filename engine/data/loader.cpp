// loader.cpp — the threaded loader (see loader.h). Workers claim whole batches in order (batch k is claimed
// only while k < next_consume + prefetch), build them independently, and park the result in `ready_`; the
// consumer takes batch next_consume when it is there.
#include "engine/data/loader.h"

#include <algorithm>
#include <exception>

#include "engine/core/error.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace wsdol::data {

namespace {
// The stream index reserved for the epoch's shuffle (never a sample index).
constexpr uint64_t kShuffleStream = ~uint64_t(0);
}  // namespace

Loader::Loader(int64_t num_samples, ExampleFn fn, LoaderOptions options,
               std::function<std::string(int64_t)> name_of)
    : num_samples_(num_samples), fn_(std::move(fn)), options_(options), name_of_(std::move(name_of)) {
    WSDOL_CHECK(num_samples >= 0, "Loader: negative sample count ", num_samples);
    WSDOL_CHECK(options.batch_size >= 1, "Loader: batch_size must be >= 1, got ", options.batch_size);
    WSDOL_CHECK(options.height >= 1 && options.width >= 1, "Loader: bad image size ", options.height, "x",
                options.width);
    WSDOL_CHECK(options.workers >= 0, "Loader: workers must be >= 0, got ", options.workers);
    WSDOL_CHECK(options.prefetch >= 1, "Loader: prefetch must be >= 1, got ", options.prefetch);
    WSDOL_CHECK(static_cast<bool>(fn_), "Loader: no sample function");
    for (int t = 0; t < options.workers; ++t) threads_.emplace_back([this] { worker_loop(); });
}

Loader::~Loader() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        shutdown_ = true;
    }
    work_cv_.notify_all();
    for (auto& t : threads_) t.join();
}

int64_t Loader::batches_per_epoch() const {
    const int64_t B = options_.batch_size;
    return options_.drop_last ? num_samples_ / B : (num_samples_ + B - 1) / B;
}

std::vector<int64_t> Loader::epoch_order(int64_t epoch) const {
    std::vector<int64_t> order(num_samples_);
    for (int64_t i = 0; i < num_samples_; ++i) order[i] = i;
    if (options_.shuffle) {
        SampleRng rng(options_.seed, static_cast<uint64_t>(epoch), kShuffleStream);
        for (int64_t i = num_samples_ - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
    }
    return order;
}

void Loader::stop_epoch() {
    std::unique_lock<std::mutex> lock(mutex_);
    active_ = false;
    ready_cv_.wait(lock, [&] { return in_flight_ == 0; });
    ready_.clear();
}

void Loader::start_epoch(int64_t epoch) {
    stop_epoch();
    std::vector<int64_t> order = epoch_order(epoch);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        order_ = std::move(order);
        epoch_ = epoch;
        next_claim_ = 0;
        next_consume_ = 0;
        active_ = true;
    }
    work_cv_.notify_all();
}

Loader::Result Loader::build_batch(int64_t number) const {
    Result r;
    const int64_t first = number * options_.batch_size;
    const int64_t B = std::min<int64_t>(options_.batch_size, num_samples_ - first);
    const int64_t H = options_.height, W = options_.width;
    r.batch.epoch = epoch_;
    r.batch.number = number;
    r.batch.images = Tensor::empty({B, 3, H, W}, DType::f32);
    r.batch.examples.resize(B);
    float* dst = r.batch.images.data<float>();
    for (int64_t k = 0; k < B; ++k) {
        const int64_t index = order_[first + k];
        try {
            SampleRng rng(options_.seed, static_cast<uint64_t>(epoch_), static_cast<uint64_t>(index));
            Example& ex = r.batch.examples[k];
            ex.index = index;
            fn_(index, rng, dst + k * 3 * H * W, ex);
        } catch (const std::exception& e) {
            const std::string name = name_of_ ? name_of_(index) : std::to_string(index);
            r.error = str("loader: sample ", index, " (", name, "): ", e.what());
            return r;
        }
    }
    return r;
}

void Loader::worker_loop() {
#ifdef _OPENMP
    omp_set_num_threads(1);  // this thread's OpenMP regions run serially
#endif
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        work_cv_.wait(lock, [&] {
            return shutdown_ || (active_ && next_claim_ < batches_per_epoch() &&
                                 next_claim_ < next_consume_ + options_.prefetch);
        });
        if (shutdown_) return;
        const int64_t number = next_claim_++;
        ++in_flight_;
        lock.unlock();
        Result r = build_batch(number);  // order_/epoch_ do not change while in_flight_ > 0
        lock.lock();
        --in_flight_;
        if (active_) ready_.emplace(number, std::move(r));
        ready_cv_.notify_all();
    }
}

bool Loader::next(Batch& batch) {
    WSDOL_CHECK(epoch_ >= 0, "Loader::next: call start_epoch first");
    Result r;
    {
        std::unique_lock<std::mutex> lock(mutex_);
        if (next_consume_ >= batches_per_epoch()) return false;
        const int64_t number = next_consume_;
        if (threads_.empty()) {
            lock.unlock();
            r = build_batch(number);
            lock.lock();
        } else {
            ready_cv_.wait(lock, [&] { return ready_.count(number) > 0; });
            r = std::move(ready_.at(number));
            ready_.erase(number);
        }
        ++next_consume_;
    }
    work_cv_.notify_all();
    if (!r.error.empty()) throw Error(r.error);
    batch = std::move(r.batch);
    return true;
}

std::unique_ptr<Loader> make_image_loader(const Dataset& dataset, ImagePipeline pipeline, LoaderOptions options) {
    const Dataset* ds = &dataset;
    ExampleFn fn = [ds, pipeline = std::move(pipeline)](int64_t index, SampleRng& rng, float* out, Example& ex) {
        const Sample& s = ds->samples[index];
        const Image rgb = read_image(s.image_path, ColorMode::rgb);
        ex.labels = s.labels;
        pipeline(rgb, rng, out, ex);
    };
    auto name_of = [ds](int64_t index) { return ds->samples[index].image_path; };
    return std::make_unique<Loader>(static_cast<int64_t>(dataset.samples.size()), std::move(fn), options, name_of);
}

}  // namespace wsdol::data
