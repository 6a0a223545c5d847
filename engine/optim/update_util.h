// update_util.h — a helper shared by the optimizers: the fused kernels need a contiguous parameter, so a
// non-contiguous one is updated through a contiguous copy that is written back.
#pragma once
#include "engine/tensor/tensor.h"

namespace wsdol::optim {

struct ContiguousParam {
    Tensor param;  // the real parameter
    Tensor work;   // the parameter itself when contiguous, else a contiguous copy
    explicit ContiguousParam(const Tensor& p) : param(p), work(p.is_contiguous() ? p : p.contiguous()) {}
    void commit() {
        if (!work.same(param)) param.copy_(work);
    }
};

}  // namespace wsdol::optim
