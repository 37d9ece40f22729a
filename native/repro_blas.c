/*
 * repro_blas: single-precision GEMM from the system BLAS for the TF.js wasm engine.
 *
 * The wasm engine keeps every tensor in one WebAssembly.Memory; JavaScript sees it as a
 * Float32Array (HEAPF32). This addon receives that view plus element offsets and calls
 * cblas_sgemm directly on the heap: no copies in or out. A batched call loops over a list
 * of (A, B) offsets, which is how TF.js's broadcast batch dimensions of any rank arrive here
 * after the JavaScript side has flattened them (lib/backend/matmul.ts).
 *
 *   sgemmBatch(heap: Float32Array, transA: boolean, transB: boolean, M, N, K,
 *              aOffs: Uint32Array, bOffs: Uint32Array, cOff: number): void
 *     for i in 0..batch-1:  C_i = op(A_i) · op(B_i),  C_i at cOff + i*M*N (row-major, ldc = N)
 *     A_i at aOffs[i], [M,K] (or [K,M] if transA);  B_i at bOffs[i], [K,N] (or [N,K] if transB)
 *   info(): { blas: string, threads: number }
 *   setThreads(n: number): void
 */
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef REPRO_ACCELERATE
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif

#ifdef REPRO_OPENBLAS
/* Declared here as well: not every cblas.h on the include path is OpenBLAS's own. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_config(void);
#endif

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "repro_blas: N-API call failed: " #call); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static napi_value fail(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static int get_u32_array(napi_env env, napi_value v, uint32_t **data, size_t *len) {
  napi_typedarray_type type;
  void *ptr;
  napi_value buf;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, len, &ptr, &buf, &off) != napi_ok) return 0;
  if (type != napi_uint32_array) return 0;
  *data = (uint32_t *)ptr;
  return 1;
}

static napi_value sgemm_batch(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 9;
  napi_value argv[9];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  if (argc != 9) return fail(env, "repro_blas.sgemmBatch: expected 9 arguments");

  napi_typedarray_type type;
  size_t heap_len, off;
  void *heap_ptr;
  napi_value ab;
  if (napi_get_typedarray_info(env, argv[0], &type, &heap_len, &heap_ptr, &ab, &off) != napi_ok ||
      type != napi_float32_array)
    return fail(env, "repro_blas.sgemmBatch: heap must be a Float32Array");
  float *heap = (float *)heap_ptr;

  bool ta, tb;
  CHECK(napi_get_value_bool(env, argv[1], &ta));
  CHECK(napi_get_value_bool(env, argv[2], &tb));
  int64_t M, N, K, c_off;
  CHECK(napi_get_value_int64(env, argv[3], &M));
  CHECK(napi_get_value_int64(env, argv[4], &N));
  CHECK(napi_get_value_int64(env, argv[5], &K));
  uint32_t *a_offs, *b_offs;
  size_t na, nb;
  if (!get_u32_array(env, argv[6], &a_offs, &na) || !get_u32_array(env, argv[7], &b_offs, &nb))
    return fail(env, "repro_blas.sgemmBatch: aOffs and bOffs must be Uint32Arrays");
  if (na != nb) return fail(env, "repro_blas.sgemmBatch: aOffs and bOffs differ in length");
  CHECK(napi_get_value_int64(env, argv[8], &c_off));
  if (M < 0 || N < 0 || K < 0 || c_off < 0) return fail(env, "repro_blas.sgemmBatch: negative size");

  /* Bounds: every operand must lie inside the heap view, or we would scribble on wasm memory. */
  const uint64_t a_size = (uint64_t)M * K, b_size = (uint64_t)K * N, c_size = (uint64_t)M * N;
  if ((uint64_t)c_off + c_size * na > heap_len)
    return fail(env, "repro_blas.sgemmBatch: output outside the heap");
  for (size_t i = 0; i < na; i++) {
    if ((uint64_t)a_offs[i] + a_size > heap_len || (uint64_t)b_offs[i] + b_size > heap_len)
      return fail(env, "repro_blas.sgemmBatch: operand outside the heap");
  }
  if (M == 0 || N == 0) return NULL;
  if (K == 0) {
    memset(heap + c_off, 0, sizeof(float) * c_size * na);
    return NULL;
  }
  const int lda = ta ? (int)M : (int)K;
  const int ldb = tb ? (int)K : (int)N;
  for (size_t i = 0; i < na; i++) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)M, (int)N, (int)K, 1.0f, heap + a_offs[i], lda, heap + b_offs[i], ldb, 0.0f,
                heap + c_off + i * c_size, (int)N);
  }
  return NULL;
}

static napi_value info(napi_env env, napi_callback_info cbinfo) {
  (void)cbinfo;
  napi_value obj, s, n;
  CHECK(napi_create_object(env, &obj));
#ifdef REPRO_OPENBLAS
  const char *cfg = openblas_get_config();
  CHECK(napi_create_string_utf8(env, cfg ? cfg : "OpenBLAS", NAPI_AUTO_LENGTH, &s));
  CHECK(napi_create_int32(env, openblas_get_num_threads(), &n));
#elif defined(REPRO_ACCELERATE)
  CHECK(napi_create_string_utf8(env, "Accelerate", NAPI_AUTO_LENGTH, &s));
  CHECK(napi_create_int32(env, 0, &n));
#else
  CHECK(napi_create_string_utf8(env, "cblas", NAPI_AUTO_LENGTH, &s));
  CHECK(napi_create_int32(env, 0, &n));
#endif
  CHECK(napi_set_named_property(env, obj, "blas", s));
  CHECK(napi_set_named_property(env, obj, "threads", n));
  return obj;
}

static napi_value set_threads(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t t;
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  if (argc != 1) return fail(env, "repro_blas.setThreads: expected 1 argument");
  CHECK(napi_get_value_int32(env, argv[0], &t));
  if (t < 1) return fail(env, "repro_blas.setThreads: threads must be >= 1");
#ifdef REPRO_OPENBLAS
  openblas_set_num_threads(t);
#endif
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sgemmBatch", NULL, sgemm_batch, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, info, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
