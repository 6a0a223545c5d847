// conv.cpp — nn.Conv2d.
#include "engine/nn/conv.h"

#include "engine/nn/init.h"
#include "engine/ops/ops.h"

namespace wsdol::nn {

Conv2d::Conv2d(int64_t in, int64_t out, Int2 kernel, Int2 stride_, Int2 padding_, Int2 dilation_, int64_t groups_,
               bool with_bias, Generator* gen, DType dtype)
    : Module("Conv2d"), in_channels(in), out_channels(out), groups(groups_), kernel_size(kernel), stride(stride_),
      padding(padding_), dilation(dilation_) {
    WSDOL_CHECK(groups > 0 && in % groups == 0 && out % groups == 0, "Conv2d: in_channels ", in, " and out_channels ",
                out, " must be divisible by groups ", groups);
    WSDOL_CHECK(kernel[0] > 0 && kernel[1] > 0 && stride[0] > 0 && stride[1] > 0 && dilation[0] > 0 &&
                    dilation[1] > 0 && padding[0] >= 0 && padding[1] >= 0,
                "Conv2d: invalid kernel (", kernel[0], ", ", kernel[1], "), stride (", stride[0], ", ", stride[1],
                "), padding (", padding[0], ", ", padding[1], ") or dilation (", dilation[0], ", ", dilation[1], ")");
    weight = register_parameter("weight", Tensor::empty({out, in / groups, kernel[0], kernel[1]}, dtype));
    if (with_bias) bias = register_parameter("bias", Tensor::empty({out}, dtype));
    init::linear_default_(weight, bias, gen);
}

Tensor Conv2d::forward(const Tensor& x) { return conv2d(x, weight, bias, stride, padding, dilation, groups); }

std::string Conv2d::extra_repr() const {
    std::string s = str(in_channels, ", ", out_channels, ", kernel_size=(", kernel_size[0], ", ", kernel_size[1],
                        "), stride=(", stride[0], ", ", stride[1], ")");
    if (padding[0] || padding[1]) s += str(", padding=(", padding[0], ", ", padding[1], ")");
    if (dilation[0] != 1 || dilation[1] != 1) s += str(", dilation=(", dilation[0], ", ", dilation[1], ")");
    if (groups != 1) s += str(", groups=", groups);
    if (!bias.defined()) s += ", bias=False";
    return s;
}

}  // namespace wsdol::nn
