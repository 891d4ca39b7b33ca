// PLACEHOLDER: being written.
#include "kernels.h"
namespace glmkit {
void rmsnorm_forward(const float*, const float*, float*, float*, int64_t, int64_t, float) {}
void rmsnorm_backward(const float*, const float*, const float*, const float*, float*, float*, int64_t, int64_t) {}
}
