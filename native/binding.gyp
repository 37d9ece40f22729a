# The project's BLAS matmul addon: cblas_sgemm over the wasm engine's heap, and the fused AdamW.
# Linux: the BLAS is opened at run time with dlopen (Debian's OpenBLAS, libopenblas0-pthread, and
# BLIS, libblis4-pthread; lib/backend/blas-select.ts picks one), so building needs no BLAS headers.
# macOS: the Accelerate framework
# (written from Apple's documentation; not built or tested here, no Mac was available).
{
  "targets": [
    {
      "target_name": "repro_blas",
      "sources": ["repro_blas.c"],
      "cflags": ["-O3", "-fno-math-errno", "-fno-trapping-math", "-Wall"],
      "conditions": [
        ["OS=='mac'", {
          "defines": ["REPRO_ACCELERATE", "ACCELERATE_NEW_LAPACK"],
          "link_settings": { "libraries": ["-framework Accelerate"] }
        }],
        ["OS!='mac'", {
          "defines": ["REPRO_DLOPEN"],
          "libraries": ["-ldl"]
        }]
      ]
    }
  ]
}
