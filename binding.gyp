{
  "targets": [
    {
      "target_name": "glmkit_avx2",
      "type": "static_library",
      "sources": ["native/kernels/gemm_avx2.cpp", "native/kernels/vecmath_avx2.cpp", "native/kernels/attention_avx2.cpp", "native/kernels/gemm_bf16_avx2.cpp"],
      "cflags_cc": ["-std=c++17", "-O3", "-mavx2", "-mfma", "-fPIC", "-fno-math-errno"],
      "cflags_cc!": ["-fno-exceptions"]
    },
    {
      "target_name": "glmkit_avx512",
      "type": "static_library",
      "sources": ["native/kernels/gemm_avx512.cpp", "native/kernels/gemm_bf16_avx512.cpp", "native/kernels/vecmath_avx512.cpp", "native/kernels/attention_avx512.cpp"],
      "cflags_cc": ["-std=c++17", "-O3", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx2", "-mfma", "-fPIC", "-fno-math-errno"],
      "cflags_cc!": ["-fno-exceptions"]
    },
    {
      "target_name": "glmkit_avx512_bf16",
      "type": "static_library",
      "sources": ["native/kernels/gemm_bf16_dot_avx512.cpp", "native/kernels/gemm_mixed_avx512.cpp"],
      "cflags_cc": ["-std=c++17", "-O3", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx512bf16", "-mavx2", "-mfma", "-fPIC", "-fno-math-errno"],
      "cflags_cc!": ["-fno-exceptions"]
    },
    {
      "target_name": "glmkit_avx512_exact",
      "type": "static_library",
      "sources": ["native/kernels/norm_avx512.cpp", "native/kernels/optim_avx512.cpp"],
      "cflags_cc": ["-std=c++17", "-O3", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx2", "-mfma", "-ffp-contract=off", "-fPIC", "-fno-math-errno"],
      "cflags_cc!": ["-fno-exceptions"]
    },
    {
      "target_name": "glmkit_native",
      "dependencies": ["glmkit_avx2", "glmkit_avx512", "glmkit_avx512_bf16", "glmkit_avx512_exact"],
      "sources": [
        "native/binding.cpp",
        "native/threadpool.cpp",
        "native/kernels/isa.cpp",
        "native/kernels/gemm.cpp",
        "native/kernels/gemm_bf16.cpp",
        "native/kernels/vecmath.cpp",
        "native/kernels/norm.cpp",
        "native/kernels/rope.cpp",
        "native/kernels/attention.cpp",
        "native/kernels/softmax.cpp",
        "native/kernels/elementwise.cpp",
        "native/kernels/moe.cpp",
        "native/kernels/optim.cpp"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native"],
      "defines": ["NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "ldflags": ["-pthread"]
    }
  ]
}
