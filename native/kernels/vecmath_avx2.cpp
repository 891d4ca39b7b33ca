// AVX2 vector math (exp) for softmax/attention: being written.
namespace glmkit { int vecmath_avx2_placeholder = 0; }
