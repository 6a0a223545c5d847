// loader.h — a threaded data loader: worker threads decode and augment samples into fixed-size batches
// (images f32 (B, 3, H, W) plus per-sample extras) ahead of the training loop, through a bounded prefetch queue.
//
// Determinism: epoch e visits the samples in the order of a permutation drawn from the run seed and e (or in
// index order without shuffling); sample i (dataset index) is augmented with its own stream SampleRng(seed, e, i)
// and written into its fixed slot of its fixed batch. So the batches are bit-identical for any number of
// workers (0 = everything on the caller's thread), any prefetch depth and any scheduling.
//
// Errors: an exception in a worker is caught, and next() rethrows it on the caller's thread as a wsdol::Error
// naming the sample (its file name, when a name function is given) when the failed batch's turn comes.
// Worker threads run OpenMP-parallel code single-threaded (the loader's parallelism is across samples).
#pragma once
#include <array>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/data/datasets.h"
#include "engine/data/transforms.h"
#include "engine/tensor/tensor.h"

namespace wsdol::data {

// What a sample carries besides its image.
// A per-sample array a pipeline adds besides the image (a second view, a box, a label map); the runner stacks
// the samples' arrays of one name into a (B, ...) tensor.
struct ExtraArray {
    std::vector<int64_t> shape;
    std::vector<float> values;  // row-major, shape's product entries (integer data such as class ids as floats)
};

struct Example {
    int64_t index = -1;                   // dataset index
    std::vector<int> labels;              // image-level labels (from the dataset)
    std::array<int64_t, 4> img_box{};     // valid region inside the crop (ToCo), when the pipeline sets it
    std::map<std::string, ExtraArray> extras;  // named per-sample arrays (runner/sample_pipelines.h)
};

// Produces sample `index` with its stream: writes the (3, H, W) f32 image to `out` and fills `example`.
using ExampleFn = std::function<void(int64_t index, SampleRng& rng, float* out, Example& example)>;

struct LoaderOptions {
    int64_t batch_size = 8;
    int64_t height = 448, width = 448;  // every image of a batch has this size
    int workers = 2;                    // 0: load on the caller's thread
    int prefetch = 4;                   // batches prepared ahead of the consumer (>= 1)
    uint64_t seed = 0;
    bool shuffle = true;
    bool drop_last = true;  // drop a final partial batch (else it is returned smaller)
};

struct Batch {
    Tensor images;                  // (B, 3, H, W) f32
    std::vector<Example> examples;  // B entries, in batch order
    int64_t epoch = 0, number = 0;  // which batch of which epoch
};

class Loader {
public:
    // `name_of(index)` names a sample in error messages (e.g. its image path); optional.
    Loader(int64_t num_samples, ExampleFn fn, LoaderOptions options,
           std::function<std::string(int64_t)> name_of = {});
    ~Loader();
    Loader(const Loader&) = delete;
    Loader& operator=(const Loader&) = delete;

    // Starts (or restarts) epoch `epoch`: fixes its sample order and lets the workers fill the queue.
    void start_epoch(int64_t epoch);
    // The next batch of the current epoch; false when the epoch is done. Rethrows a worker's error.
    bool next(Batch& batch);
    int64_t batches_per_epoch() const;
    // The sample order of an epoch (dataset indices).
    std::vector<int64_t> epoch_order(int64_t epoch) const;

private:
    struct Result {
        Batch batch;
        std::string error;  // non-empty when the batch failed
    };
    Result build_batch(int64_t number) const;
    void worker_loop();
    void stop_epoch();  // waits for in-flight work and clears the queue

    const int64_t num_samples_;
    const ExampleFn fn_;
    const LoaderOptions options_;
    const std::function<std::string(int64_t)> name_of_;

    std::vector<int64_t> order_;  // current epoch's order
    int64_t epoch_ = -1;

    std::mutex mutex_;
    std::condition_variable work_cv_, ready_cv_;
    bool shutdown_ = false;
    bool active_ = false;
    int64_t next_claim_ = 0, next_consume_ = 0, in_flight_ = 0;
    std::map<int64_t, Result> ready_;
    std::vector<std::thread> threads_;
};

// A loader over a dataset's images: decodes sample i's image as RGB (read_image), runs `pipeline` on it and
// copies the dataset's labels; errors name the image file.
using ImagePipeline = std::function<void(const Image& rgb, SampleRng& rng, float* out, Example& example)>;
std::unique_ptr<Loader> make_image_loader(const Dataset& dataset, ImagePipeline pipeline, LoaderOptions options);

}  // namespace wsdol::data
