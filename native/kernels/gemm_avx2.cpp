// AVX2/FMA GEMM micro-kernel: being written.
namespace glmkit { int gemm_avx2_placeholder = 0; }
