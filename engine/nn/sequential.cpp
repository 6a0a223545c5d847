// sequential.cpp — the Sequential container.
#include "engine/nn/sequential.h"

namespace wsdol::nn {

Sequential::Sequential(std::vector<ModulePtr> modules) : Module("Sequential") {
    for (ModulePtr& m : modules) push_back(std::move(m));
}

const ModulePtr& Sequential::operator[](size_t i) const {
    WSDOL_CHECK(i < items_.size(), "Sequential: index ", i, " out of range for ", items_.size(), " modules");
    return items_[i];
}

Tensor Sequential::forward(const Tensor& x) {
    Tensor y = x;
    for (const ModulePtr& m : items_) y = m->forward(y);
    return y;
}

}  // namespace wsdol::nn
