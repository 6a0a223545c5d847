// ops.h — every op of the engine, by family. Each family header declares the ops (with shape comments) and the
// kernel signatures its backends implement; the .cpp beside it holds each op's one definition: shape rule,
// forward (kernel dispatch) and backward (in terms of other ops), registered with WSDOL_OP.
#pragma once
#include "engine/ops/shape_ops.h"    // views, contiguous, clone, cast, cat/stack/split/chunk, flip
#include "engine/ops/elementwise.h"  // arithmetic, activations, comparisons, logical, where, clamp
#include "engine/ops/reduce.h"       // sum, mean, max/min, argmax/argmin, var/std, logsumexp, norm, cumsum
#include "engine/ops/linalg.h"       // matmul, bmm, linear (SGEMM underneath)
#include "engine/ops/softmax_norm.h" // softmax, log_softmax, layer_norm, batch_norm, group_norm
#include "engine/ops/conv_pool.h"    // conv2d, max/avg pool, adaptive pools
#include "engine/ops/resample.h"     // interpolate (nearest, bilinear, bicubic), pad
#include "engine/ops/indexing.h"     // gather, scatter(_add), index_select, masked_fill, sort/topk, embedding, one_hot
#include "engine/ops/random_ops.h"   // dropout, drop_path
#include "engine/ops/attention.h"    // materialized scaled-dot-product attention (returns probabilities)
#include "engine/ops/loss.h"         // cross_entropy, multilabel_soft_margin, bce, mse, l1, cosine_similarity, normalize
