// PLACEHOLDER: being written.
#include "kernels.h"
namespace glmkit {
void softmax_forward(const float*, float*, int64_t, int64_t) {}
void softmax_backward(const float*, const float*, float*, int64_t, int64_t) {}
void log_softmax_forward(const float*, float*, int64_t, int64_t) {}
void log_softmax_backward(const float*, const float*, float*, int64_t, int64_t) {}
void cross_entropy_forward(const float*, const int32_t*, float*, float*, int64_t, int64_t, int32_t) {}
void cross_entropy_backward(const float*, const int32_t*, const float*, const float*, float*, int64_t, int64_t, int32_t) {}
}
