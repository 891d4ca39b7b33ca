// PLACEHOLDER: being written.
#include "kernels.h"
namespace glmkit {
void rope(const float*, const float*, const float*, float*, int64_t, int64_t, int64_t, int64_t, bool, bool) {}
}
