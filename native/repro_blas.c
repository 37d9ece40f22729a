/*
 * repro_blas: single-precision GEMM from a system BLAS for the TF.js wasm engine, plus the
 * fused AdamW update (lib/train/adamw.ts) over the same heap.
 *
 * The wasm engine keeps every tensor in one WebAssembly.Memory; JavaScript sees it as a
 * Float32Array (HEAPF32). This addon receives that view plus element offsets and calls
 * cblas_sgemm directly on the heap: no copies in or out. A batched call loops over a list
 * of (A, B) offsets, which is how TF.js's broadcast batch dimensions of any rank arrive here
 * after the JavaScript side has flattened them (lib/backend/matmul.ts).
 *
 * Linux: the BLAS is opened at run time with dlopen (OpenBLAS or BLIS, several side by side),
 * so lib/backend/blas-select.ts can measure them, self-check them and pick one; the addon links
 * no BLAS itself. macOS: Accelerate, linked at build time (REPRO_ACCELERATE).
 *
 *   openLibrary(kind: 'openblas'|'blis', file: string, coretype: string): number
 *     dlopen `file`; with coretype non-empty and OPENBLAS_CORETYPE unset, OpenBLAS is loaded
 *     with OPENBLAS_CORETYPE=coretype (tests simulate a generic kernel), then the variable is
 *     removed again. A user's OPENBLAS_CORETYPE is never changed. Returns a library index.
 *   useLibrary(index): void           sgemmBatch runs on this library from now on
 *   libraryInfo(index): { kind, config, kernel, version, threads }
 *   sgemmBatch(heap: Float32Array, transA: boolean, transB: boolean, M, N, K,
 *              aOffs: Uint32Array, bOffs: Uint32Array, cOff: number): void
 *     for i in 0..batch-1:  C_i = op(A_i) · op(B_i),  C_i at cOff + i*M*N (row-major, ldc = N)
 *     A_i at aOffs[i], [M,K] (or [K,M] if transA);  B_i at bOffs[i], [K,N] (or [N,K] if transB)
 *   info(): { blas: string, threads: number }   (the library in use)
 *   setThreads(n: number): void                 (the library in use)
 *   sumSquares(heap, offs: Uint32Array, sizes: Uint32Array): number   Σ x² in double
 *   adamw(heap, table: Uint32Array [n*8: p g m v pOut mOut vOut size], decay: Uint8Array [n],
 *         s: Float64Array [beta1, beta2, eps, lr, weightDecay, bc1, bc2, gradScale]): void
 *     the per-tensor AdamW's float32 arithmetic, op for op (see lib/train/adamw.ts)
 *   softmaxRows / softmaxRowsGrad, act / actGrad (GELU tanh form, GELU exact, SiLU), swiglu / swigluGrad,
 *   permute: the fused kernels of lib/backend/fused-ops.ts and wasm-fast.ts, on heap views (see each)
 */
#include <node_api.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef REPRO_ACCELERATE
#include <Accelerate/Accelerate.h>
#else
#include <dlfcn.h>
/* CBLAS enum values (cblas.h), declared here: no BLAS header is needed to build. */
enum { RB_RowMajor = 101, RB_NoTrans = 111, RB_Trans = 112 };
#endif

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float,
                         float *, int);

#define MAX_LIBS 4
typedef struct {
  char kind[16];
  void *handle;
  sgemm_fn sgemm;
  /* OpenBLAS */
  char *(*ob_config)(void);
  char *(*ob_corename)(void);
  void (*ob_set_threads)(int);
  int (*ob_get_threads)(void);
  /* BLIS */
  int (*bl_arch_id)(void);
  const char *(*bl_arch_string)(int);
  const char *(*bl_version)(void);
  void (*bl_set_threads)(int64_t);
  int64_t (*bl_get_threads)(void);
} blas_lib;

static blas_lib libs[MAX_LIBS];
static int nlibs = 0;
static int active = -1;

#define CHECK(call)                                                        \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error(env, NULL, "repro_blas: N-API call failed: " #call); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static napi_value fail(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static int get_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  napi_typedarray_type type;
  napi_value buf;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, len, data, &buf, &off) != napi_ok) return 0;
  return type == want;
}

static void run_sgemm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C) {
#ifdef REPRO_ACCELERATE
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A, lda,
              B, ldb, 0.0f, C, N);
#else
  libs[active].sgemm(RB_RowMajor, ta ? RB_Trans : RB_NoTrans, tb ? RB_Trans : RB_NoTrans, M, N, K, 1.0f, A, lda, B,
                     ldb, 0.0f, C, N);
#endif
}

static int have_library(void) {
#ifdef REPRO_ACCELERATE
  return 1;
#else
  return active >= 0;
#endif
}

static napi_value sgemm_batch(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 9;
  napi_value argv[9];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  if (argc != 9) return fail(env, "repro_blas.sgemmBatch: expected 9 arguments");
  if (!have_library()) return fail(env, "repro_blas.sgemmBatch: no BLAS library opened (openLibrary, useLibrary)");

  size_t heap_len;
  void *heap_ptr;
  if (!get_typed(env, argv[0], napi_float32_array, &heap_ptr, &heap_len))
    return fail(env, "repro_blas.sgemmBatch: heap must be a Float32Array");
  float *heap = (float *)heap_ptr;

  bool ta, tb;
  CHECK(napi_get_value_bool(env, argv[1], &ta));
  CHECK(napi_get_value_bool(env, argv[2], &tb));
  int64_t M, N, K, c_off;
  CHECK(napi_get_value_int64(env, argv[3], &M));
  CHECK(napi_get_value_int64(env, argv[4], &N));
  CHECK(napi_get_value_int64(env, argv[5], &K));
  void *pa, *pb;
  size_t na, nb;
  if (!get_typed(env, argv[6], napi_uint32_array, &pa, &na) || !get_typed(env, argv[7], napi_uint32_array, &pb, &nb))
    return fail(env, "repro_blas.sgemmBatch: aOffs and bOffs must be Uint32Arrays");
  const uint32_t *a_offs = pa, *b_offs = pb;
  if (na != nb) return fail(env, "repro_blas.sgemmBatch: aOffs and bOffs differ in length");
  CHECK(napi_get_value_int64(env, argv[8], &c_off));
  if (M < 0 || N < 0 || K < 0 || c_off < 0) return fail(env, "repro_blas.sgemmBatch: negative size");

  /* Bounds: every operand must lie inside the heap view, or we would scribble on wasm memory. */
  const uint64_t a_size = (uint64_t)M * K, b_size = (uint64_t)K * N, c_size = (uint64_t)M * N;
  if ((uint64_t)c_off + c_size * na > heap_len) return fail(env, "repro_blas.sgemmBatch: output outside the heap");
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
    run_sgemm(ta, tb, (int)M, (int)N, (int)K, heap + a_offs[i], lda, heap + b_offs[i], ldb, heap + c_off + i * c_size);
  }
  return NULL;
}

static napi_value set_str(napi_env env, napi_value obj, const char *key, const char *val) {
  napi_value s;
  CHECK(napi_create_string_utf8(env, val ? val : "", NAPI_AUTO_LENGTH, &s));
  CHECK(napi_set_named_property(env, obj, key, s));
  return obj;
}

static napi_value set_int(napi_env env, napi_value obj, const char *key, int64_t val) {
  napi_value n;
  CHECK(napi_create_int64(env, val, &n));
  CHECK(napi_set_named_property(env, obj, key, n));
  return obj;
}

static int lib_threads(int i) {
#ifdef REPRO_ACCELERATE
  (void)i;
  return 0;
#else
  if (libs[i].ob_get_threads) return libs[i].ob_get_threads();
  if (libs[i].bl_get_threads) return (int)libs[i].bl_get_threads();
  return 0;
#endif
}

static napi_value library_info_of(napi_env env, int i) {
  napi_value obj;
  CHECK(napi_create_object(env, &obj));
#ifdef REPRO_ACCELERATE
  (void)i;
  if (!set_str(env, obj, "kind", "accelerate") || !set_str(env, obj, "config", "Accelerate") ||
      !set_str(env, obj, "kernel", "") || !set_str(env, obj, "version", "") || !set_int(env, obj, "threads", 0))
    return NULL;
#else
  blas_lib *l = &libs[i];
  char version[64] = "";
  const char *config = "", *kernel = "";
  if (l->ob_config) {
    config = l->ob_config();
    kernel = l->ob_corename ? l->ob_corename() : "";
    /* 'OpenBLAS 0.3.21 DYNAMIC_ARCH ...' -> '0.3.21' */
    if (config && sscanf(config, "OpenBLAS %63s", version) != 1) version[0] = 0;
  } else if (l->bl_arch_id) {
    kernel = l->bl_arch_string ? l->bl_arch_string(l->bl_arch_id()) : "";
    snprintf(version, sizeof version, "%s", l->bl_version ? l->bl_version() : "");
    config = "BLIS";
  }
  if (!set_str(env, obj, "kind", l->kind) || !set_str(env, obj, "config", config) ||
      !set_str(env, obj, "kernel", kernel) || !set_str(env, obj, "version", version) ||
      !set_int(env, obj, "threads", lib_threads(i)))
    return NULL;
#endif
  return obj;
}

static napi_value library_info(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t i;
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  if (argc != 1 || napi_get_value_int32(env, argv[0], &i) != napi_ok) return fail(env, "repro_blas.libraryInfo: expected an index");
#ifndef REPRO_ACCELERATE
  if (i < 0 || i >= nlibs) return fail(env, "repro_blas.libraryInfo: no such library index");
#endif
  return library_info_of(env, i);
}

static napi_value info(napi_env env, napi_callback_info cbinfo) {
  (void)cbinfo;
  if (!have_library()) return fail(env, "repro_blas.info: no BLAS library opened");
  napi_value obj;
  CHECK(napi_create_object(env, &obj));
#ifdef REPRO_ACCELERATE
  if (!set_str(env, obj, "blas", "Accelerate") || !set_int(env, obj, "threads", 0)) return NULL;
#else
  char label[96];
  if (libs[active].ob_config) snprintf(label, sizeof label, "%s", libs[active].ob_config());
  else snprintf(label, sizeof label, "BLIS %s", libs[active].bl_version ? libs[active].bl_version() : "");
  if (!set_str(env, obj, "blas", label) || !set_int(env, obj, "threads", lib_threads(active))) return NULL;
#endif
  return obj;
}

#ifndef REPRO_ACCELERATE
static napi_value open_library(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 3;
  napi_value argv[3];
  char kind[16], file[512], core[64];
  size_t len;
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  if (argc != 3) return fail(env, "repro_blas.openLibrary: expected (kind, file, coretype)");
  CHECK(napi_get_value_string_utf8(env, argv[0], kind, sizeof kind, &len));
  CHECK(napi_get_value_string_utf8(env, argv[1], file, sizeof file, &len));
  CHECK(napi_get_value_string_utf8(env, argv[2], core, sizeof core, &len));
  const int is_openblas = strcmp(kind, "openblas") == 0;
  if (!is_openblas && strcmp(kind, "blis") != 0) return fail(env, "repro_blas.openLibrary: kind must be 'openblas' or 'blis'");
  if (nlibs >= MAX_LIBS) return fail(env, "repro_blas.openLibrary: too many libraries opened");
  const int set_core = is_openblas && core[0] && getenv("OPENBLAS_CORETYPE") == NULL;
  if (set_core) setenv("OPENBLAS_CORETYPE", core, 1);
  /* DEEPBIND: each library's internal calls (cblas -> sgemm_) stay inside it. */
  void *h = dlopen(file, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (set_core) unsetenv("OPENBLAS_CORETYPE");
  if (!h) {
    char msg[700];
    snprintf(msg, sizeof msg, "repro_blas.openLibrary: %s", dlerror());
    return fail(env, msg);
  }
  blas_lib *l = &libs[nlibs];
  memset(l, 0, sizeof *l);
  snprintf(l->kind, sizeof l->kind, "%s", kind);
  l->handle = h;
  l->sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
  if (is_openblas) {
    l->ob_config = (char *(*)(void))dlsym(h, "openblas_get_config");
    l->ob_corename = (char *(*)(void))dlsym(h, "openblas_get_corename");
    l->ob_set_threads = (void (*)(int))dlsym(h, "openblas_set_num_threads");
    l->ob_get_threads = (int (*)(void))dlsym(h, "openblas_get_num_threads");
  } else {
    l->bl_arch_id = (int (*)(void))dlsym(h, "bli_arch_query_id");
    l->bl_arch_string = (const char *(*)(int))dlsym(h, "bli_arch_string");
    l->bl_version = (const char *(*)(void))dlsym(h, "bli_info_get_version_str");
    l->bl_set_threads = (void (*)(int64_t))dlsym(h, "bli_thread_set_num_threads");
    l->bl_get_threads = (int64_t(*)(void))dlsym(h, "bli_thread_get_num_threads");
  }
  if (!l->sgemm || (is_openblas ? !l->ob_config : !l->bl_arch_id)) {
    char msg[700];
    snprintf(msg, sizeof msg, "repro_blas.openLibrary: %s lacks cblas_sgemm or its %s query", file,
             is_openblas ? "openblas_get_config" : "bli_arch_query_id");
    dlclose(h);
    return fail(env, msg);
  }
  napi_value idx;
  CHECK(napi_create_int32(env, nlibs, &idx));
  nlibs++;
  return idx;
}
#endif

static napi_value use_library(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t i;
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  if (argc != 1 || napi_get_value_int32(env, argv[0], &i) != napi_ok) return fail(env, "repro_blas.useLibrary: expected an index");
#ifndef REPRO_ACCELERATE
  if (i < 0 || i >= nlibs) return fail(env, "repro_blas.useLibrary: no such library index");
  active = i;
#endif
  return NULL;
}

static napi_value set_threads(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t t;
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  if (argc != 1) return fail(env, "repro_blas.setThreads: expected 1 argument");
  CHECK(napi_get_value_int32(env, argv[0], &t));
  if (t < 1) return fail(env, "repro_blas.setThreads: threads must be >= 1");
#ifndef REPRO_ACCELERATE
  if (active < 0) return fail(env, "repro_blas.setThreads: no BLAS library opened");
  if (libs[active].ob_set_threads) libs[active].ob_set_threads(t);
  if (libs[active].bl_set_threads) libs[active].bl_set_threads(t);
#endif
  return NULL;
}

static napi_value sum_squares(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  void *ph, *po, *ps;
  size_t heap_len, no, ns;
  if (argc != 3 || !get_typed(env, argv[0], napi_float32_array, &ph, &heap_len) ||
      !get_typed(env, argv[1], napi_uint32_array, &po, &no) || !get_typed(env, argv[2], napi_uint32_array, &ps, &ns) || no != ns)
    return fail(env, "repro_blas.sumSquares: expected (Float32Array heap, Uint32Array offsets, Uint32Array sizes)");
  const float *heap = ph;
  const uint32_t *offs = po, *sizes = ps;
  double total = 0;
  for (size_t t = 0; t < no; t++) {
    if ((uint64_t)offs[t] + sizes[t] > heap_len) return fail(env, "repro_blas.sumSquares: tensor outside the heap");
    const float *x = heap + offs[t];
    /* four partial sums: vectorisable without reassociation flags */
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    uint32_t i = 0, n = sizes[t];
    for (; i + 4 <= n; i += 4) {
      s0 += (double)x[i] * x[i];
      s1 += (double)x[i + 1] * x[i + 1];
      s2 += (double)x[i + 2] * x[i + 2];
      s3 += (double)x[i + 3] * x[i + 3];
    }
    for (; i < n; i++) s0 += (double)x[i] * x[i];
    total += (s0 + s1) + (s2 + s3);
  }
  napi_value r;
  CHECK(napi_create_double(env, total, &r));
  return r;
}

static napi_value adamw(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  void *ph, *pt, *pd, *psc;
  size_t heap_len, nt, nd, nsc;
  if (argc != 4 || !get_typed(env, argv[0], napi_float32_array, &ph, &heap_len) ||
      !get_typed(env, argv[1], napi_uint32_array, &pt, &nt) || !get_typed(env, argv[2], napi_uint8_array, &pd, &nd) ||
      !get_typed(env, argv[3], napi_float64_array, &psc, &nsc) || nt != nd * 8 || nsc != 8)
    return fail(env, "repro_blas.adamw: expected (Float32Array heap, Uint32Array table[n*8], Uint8Array decay[n], Float64Array scalars[8])");
  float *heap = ph;
  const uint32_t *tab = pt;
  const uint8_t *decay = pd;
  const double *s = psc;
  for (size_t t = 0; t < nd; t++) {
    const uint32_t n = tab[t * 8 + 7];
    for (int j = 0; j < 7; j++)
      if ((uint64_t)tab[t * 8 + j] + n > heap_len) return fail(env, "repro_blas.adamw: tensor outside the heap");
  }
  /* Every scalar as TF.js turns a JS number into a float32 scalar tensor. */
  const float b1 = (float)s[0], omb1 = (float)(1 - s[0]), b2 = (float)s[1], omb2 = (float)(1 - s[1]);
  const float eps = (float)s[2], lr = (float)s[3], lrwd = (float)(s[3] * s[4]);
  const float bc1 = (float)s[5], bc2 = (float)s[6], scale = (float)s[7];
  const int scaled = s[7] != 1.0, wd = s[4] > 0;
  for (size_t t = 0; t < nd; t++) {
    const uint32_t *e = tab + t * 8;
    const float *p = heap + e[0], *g = heap + e[1], *m = heap + e[2], *v = heap + e[3];
    float *po_ = heap + e[4], *mo = heap + e[5], *vo = heap + e[6];
    const uint32_t n = e[7];
    const int dec = decay[t] && wd;
    for (uint32_t i = 0; i < n; i++) {
      float gi = scaled ? g[i] * scale : g[i];
      float mi = m[i] * b1 + gi * omb1;
      float vi = v[i] * b2 + (gi * gi) * omb2;
      float upd = (mi / bc1) / (sqrtf(vi / bc2) + eps);
      float next = p[i] - upd * lr;
      if (dec) next = next - p[i] * lrwd;
      mo[i] = mi;
      vo[i] = vi;
      po_[i] = next;
    }
  }
  return NULL;
}

/* Vectorisable float kernels: GCC builds the loops below twice on x86-64 Linux (AVX2+FMA and baseline SSE2)
 * and picks one at load time; elsewhere one portable build. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define VEC_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define VEC_CLONES
#endif

/* e^x in float without libm calls, so that loops over it vectorise (glibc's expf does not): Cephes' expf
 * (range reduction by n = round(x·log2 e), a degree-6 polynomial on |r| <= ln2/2; ~1 ulp). x is clamped to
 * [-87.33, 88]: e^x there is within 1.2e-38 of 0 below, 1.65e38 (not inf) above. */
static inline float vexpf(float x) {
  x = x > 88.0f ? 88.0f : x;
  x = x < -87.33654f ? -87.33654f : x;
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round to nearest (1.5·2^23 trick) */
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const float z = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * z + r + 1.0f;
  const int32_t bits = ((int32_t)n + 127) << 23;
  float scale;
  memcpy(&scale, &bits, 4);
  return p * scale;
}

/* erf(x), Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7), vectorisable. */
static inline float verff(float x) {
  const float a = x < 0 ? -x : x;
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  const float y = 1.0f - ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t * vexpf(-a * a);
  return x < 0 ? -y : y;
}

VEC_CLONES void repro_softmax_rows_run(const float *x, float *y, size_t N, int T, int Tq, float scale, bool causal) {
  for (size_t n = 0; n < N; n++) {
    const float *xr = x + n * T;
    float *yr = y + n * T;
    int len = causal ? (int)(n % (size_t)Tq) + 1 : T;
    if (len > T) len = T;
    float mx = xr[0];
    for (int j = 1; j < len; j++) mx = xr[j] > mx ? xr[j] : mx;
    for (int j = 0; j < len; j++) yr[j] = vexpf(scale * (xr[j] - mx));
    float sum = 0;
    for (int j = 0; j < len; j++) sum += yr[j];
    const float inv = 1.0f / sum;
    for (int j = 0; j < len; j++) yr[j] *= inv;
    for (int j = len; j < T; j++) yr[j] = 0;
  }
}

VEC_CLONES void repro_softmax_rows_grad_run(const float *y, const float *dy, float *dx, size_t N, int T, float scale) {
  for (size_t n = 0; n < N; n++) {
    const float *yr = y + n * T, *dr = dy + n * T;
    float *out = dx + n * T;
    float dot = 0;
    for (int j = 0; j < T; j++) dot += dr[j] * yr[j];
    for (int j = 0; j < T; j++) out[j] = scale * yr[j] * (dr[j] - dot);
  }
}

/* Attention's softmax over rows of T (lib/backend/fused-ops.ts scaledSoftmax): y = softmax(scale*(x - max)),
 * row n of each [Tq, T] block seeing columns j <= n % Tq when causal (zeros beyond). */
static napi_value softmax_rows(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  void *px, *py;
  size_t nx, ny;
  int32_t T, Tq;
  double scale_d;
  bool causal;
  if (argc != 6 || !get_typed(env, argv[0], napi_float32_array, &px, &nx) || !get_typed(env, argv[1], napi_float32_array, &py, &ny) ||
      napi_get_value_int32(env, argv[2], &T) != napi_ok || napi_get_value_int32(env, argv[3], &Tq) != napi_ok ||
      napi_get_value_double(env, argv[4], &scale_d) != napi_ok || napi_get_value_bool(env, argv[5], &causal) != napi_ok ||
      nx != ny || T <= 0 || Tq <= 0 || nx % (size_t)T)
    return fail(env, "repro_blas.softmaxRows: expected (Float32Array x, Float32Array y of x's length, int T > 0 dividing it, int Tq > 0, number scale, bool causal)");
  repro_softmax_rows_run(px, py, nx / (size_t)T, T, Tq, (float)scale_d, causal);
  return NULL;
}

/* Its gradient: dx = scale * y * (dy - sum_j dy_j y_j) per row of T. */
static napi_value softmax_rows_grad(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  void *py, *pdy, *pdx;
  size_t ny, ndy, ndx;
  int32_t T;
  double scale_d;
  if (argc != 5 || !get_typed(env, argv[0], napi_float32_array, &py, &ny) || !get_typed(env, argv[1], napi_float32_array, &pdy, &ndy) ||
      !get_typed(env, argv[2], napi_float32_array, &pdx, &ndx) || napi_get_value_int32(env, argv[3], &T) != napi_ok ||
      napi_get_value_double(env, argv[4], &scale_d) != napi_ok || ny != ndy || ny != ndx || T <= 0 || ny % (size_t)T)
    return fail(env, "repro_blas.softmaxRowsGrad: expected (Float32Array y, dy, dx of one length, int T > 0 dividing it, number scale)");
  repro_softmax_rows_grad_run(py, pdy, pdx, ny / (size_t)T, T, (float)scale_d);
  return NULL;
}

/* Elementwise activations in one pass each way (lib/backend/fused-ops.ts fusedActivation):
 *   mode 0  GELU, tanh form, as x*sigmoid(2u), u = sqrt(2/pi)*(x + 0.044715 x^3) (lib/models/transformer.ts gelu)
 *   mode 1  GELU, exact: x*Phi(x) = x/2*(1 + erf(x/sqrt2))
 *   mode 2  SiLU: x*sigmoid(x)
 * act(mode, x, y): y = f(x); actGrad(mode, x, dy, dx): dx = dy * f'(x). */
#define GELU_C2 1.5957691216057308f /* 2*sqrt(2/pi) */
#define GELU_C3 0.0713548162726009f /* 2*sqrt(2/pi)*0.044715 */
static inline float sigm(float z) { return 1.0f / (1.0f + vexpf(-z)); }

static int act_args(napi_env env, napi_callback_info cbinfo, size_t want, int32_t *mode, float **arr, size_t *n) {
  size_t argc = want;
  napi_value argv[5];
  if (napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL) != napi_ok || argc != want) return 0;
  if (napi_get_value_int32(env, argv[0], mode) != napi_ok || *mode < 0 || *mode > 2) return 0;
  for (size_t i = 1; i < want; i++) {
    size_t len;
    void *p;
    if (!get_typed(env, argv[i], napi_float32_array, &p, &len)) return 0;
    if (i > 1 && len != *n) return 0;
    *n = len;
    arr[i - 1] = p;
  }
  return 1;
}

VEC_CLONES void repro_act_run(int mode, const float *x, float *y, size_t n) {
  if (mode == 0)
    for (size_t i = 0; i < n; i++) { const float v = x[i]; y[i] = v * sigm(v * (GELU_C2 + GELU_C3 * v * v)); }
  else if (mode == 1)
    for (size_t i = 0; i < n; i++) { const float v = x[i]; y[i] = 0.5f * v * (1.0f + verff(v * 0.70710678118654752f)); }
  else
    for (size_t i = 0; i < n; i++) { const float v = x[i]; y[i] = v * sigm(v); }
}

void repro_act_grad_run(int mode, const float *x, const float *dy, float *dx, size_t n);

static napi_value act(napi_env env, napi_callback_info cbinfo) {
  int32_t mode;
  float *a[2];
  size_t n = 0;
  if (!act_args(env, cbinfo, 3, &mode, a, &n)) return fail(env, "repro_blas.act: expected (int mode 0..2, Float32Array x, Float32Array y of x's length)");
  repro_act_run(mode, a[0], a[1], n);
  return NULL;
}

static napi_value act_grad(napi_env env, napi_callback_info cbinfo) {
  int32_t mode;
  float *a[3];
  size_t n = 0;
  if (!act_args(env, cbinfo, 4, &mode, a, &n)) return fail(env, "repro_blas.actGrad: expected (int mode 0..2, Float32Array x, dy, dx of one length)");
  repro_act_grad_run(mode, a[0], a[1], a[2], n);
  return NULL;
}

VEC_CLONES void repro_act_grad_run(int mode, const float *x, const float *dy, float *dx, size_t n) {
  if (mode == 0)
    for (size_t i = 0; i < n; i++) {
      const float v = x[i], v2 = v * v;
      const float s = sigm(v * (GELU_C2 + GELU_C3 * v2));
      dx[i] = dy[i] * (s + v * s * (1.0f - s) * (GELU_C2 + 3.0f * GELU_C3 * v2));
    }
  else if (mode == 1)
    for (size_t i = 0; i < n; i++) {
      const float v = x[i];
      const float cdf = 0.5f * (1.0f + verff(v * 0.70710678118654752f));
      const float pdf = 0.39894228040143268f * expf(-0.5f * v * v);
      dx[i] = dy[i] * (cdf + v * pdf);
    }
  else
    for (size_t i = 0; i < n; i++) {
      const float v = x[i], s = sigm(v);
      dx[i] = dy[i] * (s * (1.0f + v * (1.0f - s)));
    }
}

/* LLaMA's SwiGLU gate: y = silu(a) * b; swigluGrad: da = dy*b*silu'(a), db = dy*silu(a). */
VEC_CLONES void repro_swiglu_run(const float *a, const float *b, float *y, size_t n) {
  for (size_t i = 0; i < n; i++) { const float v = a[i]; y[i] = v * sigm(v) * b[i]; }
}

VEC_CLONES void repro_swiglu_grad_run(const float *a, const float *b, const float *dy, float *da, float *db, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const float v = a[i], s = sigm(v);
    db[i] = dy[i] * (v * s);
    da[i] = dy[i] * b[i] * (s * (1.0f + v * (1.0f - s)));
  }
}

static napi_value swiglu(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 3, na, nb, ny;
  napi_value argv[3];
  void *pa, *pb, *py;
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  if (argc != 3 || !get_typed(env, argv[0], napi_float32_array, &pa, &na) || !get_typed(env, argv[1], napi_float32_array, &pb, &nb) ||
      !get_typed(env, argv[2], napi_float32_array, &py, &ny) || na != nb || na != ny)
    return fail(env, "repro_blas.swiglu: expected (Float32Array a, b, y of one length)");
  repro_swiglu_run(pa, pb, py, na);
  return NULL;
}

static napi_value swiglu_grad(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 5, n[5];
  napi_value argv[5];
  void *p[5];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  int ok = argc == 5;
  for (int i = 0; ok && i < 5; i++) ok = get_typed(env, argv[i], napi_float32_array, &p[i], &n[i]) && n[i] == n[0];
  if (!ok) return fail(env, "repro_blas.swigluGrad: expected (Float32Array a, b, dy, da, db of one length)");
  repro_swiglu_grad_run(p[0], p[1], p[2], p[3], p[4], n[0]);
  return NULL;
}

/* A permuted copy of 4-byte elements on the heap (lib/backend/wasm-fast.ts Transpose):
 * permute(heap, xOff, yOff, shape: Int32Array [r], perm: Int32Array [r]); y[i_perm] = x[i], the
 * output's last dim copied as one run when it is the input's last dim too. r <= 8. */
static napi_value permute(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 5, nh, ns, np;
  napi_value argv[5];
  void *ph, *ps, *pp;
  uint32_t xo, yo;
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  if (argc != 5 || !get_typed(env, argv[0], napi_float32_array, &ph, &nh) || napi_get_value_uint32(env, argv[1], &xo) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &yo) != napi_ok || !get_typed(env, argv[3], napi_int32_array, &ps, &ns) ||
      !get_typed(env, argv[4], napi_int32_array, &pp, &np) || ns != np || ns < 1 || ns > 8)
    return fail(env, "repro_blas.permute: expected (Float32Array heap, uint xOff, uint yOff, Int32Array shape [r <= 8], Int32Array perm [r])");
  const int32_t *shape = ps, *perm = pp;
  const int r = (int)ns;
  size_t in_stride[8], stride[8], out_shape[8], size = 1;
  in_stride[r - 1] = 1;
  for (int d = r - 2; d >= 0; d--) in_stride[d] = in_stride[d + 1] * (size_t)shape[d + 1];
  for (int d = 0; d < r; d++) {
    if (perm[d] < 0 || perm[d] >= r || shape[d] <= 0) return fail(env, "repro_blas.permute: bad shape or perm");
    out_shape[d] = (size_t)shape[perm[d]];
    stride[d] = in_stride[perm[d]];
    size *= (size_t)shape[d];
  }
  if ((uint64_t)xo + size > nh || (uint64_t)yo + size > nh) return fail(env, "repro_blas.permute: tensor outside the heap");
  const uint32_t *x = (const uint32_t *)ph + xo;
  uint32_t *y = (uint32_t *)ph + yo;
  const size_t last = out_shape[r - 1], ls = stride[r - 1], outer = size / last;
  size_t pos[8] = {0}, src = 0;
  for (size_t i = 0; i < outer; i++) {
    if (ls == 1) memcpy(y, x + src, last * 4);
    else for (size_t j = 0, k = src; j < last; j++, k += ls) y[j] = x[k];
    y += last;
    for (int d = r - 2; d >= 0; d--) {
      pos[d]++;
      src += stride[d];
      if (pos[d] < out_shape[d]) break;
      src -= stride[d] * out_shape[d];
      pos[d] = 0;
    }
  }
  return NULL;
}

/* LayerNorm (centre) / RMSNorm over rows of D, one pass each way (lib/backend/fused-ops.ts fusedNorm, whose JS
 * loops on the cpu engine compute the same; statistics in double):
 *   norm(x, g, b, y, mu, r, D, eps, flags)              flags: 1 centre, 2 has g, 4 has b (g, b unread without)
 *   normGrad(x, g, dy, mu, r, dx, dg, db, D, flags)      dg, db written when flags say g, b exist */
VEC_CLONES void repro_norm_run(const float *x, const float *g, const float *b, float *y, float *mu, float *r, size_t N, int D, float eps, int flags) {
  const int centre = flags & 1, hg = flags & 2, hb = flags & 4;
  for (size_t n = 0; n < N; n++) {
    const float *xr = x + n * D;
    float *yr = y + n * D;
    double m = 0, v = 0;
    if (centre) {
      for (int d = 0; d < D; d++) m += xr[d];
      m /= D;
    }
    for (int d = 0; d < D; d++) {
      const double c = xr[d] - m;
      v += c * c;
    }
    const float rs = (float)(1.0 / sqrt(v / D + eps)), mf = (float)m;
    mu[n] = mf;
    r[n] = rs;
    if (hg && hb) for (int d = 0; d < D; d++) yr[d] = (xr[d] - mf) * rs * g[d] + b[d];
    else if (hg) for (int d = 0; d < D; d++) yr[d] = (xr[d] - mf) * rs * g[d];
    else for (int d = 0; d < D; d++) yr[d] = (xr[d] - mf) * rs;
  }
}

VEC_CLONES void repro_norm_grad_run(const float *x, const float *g, const float *dy, const float *mu, const float *r, float *dx, double *accG, double *accB,
                                     size_t N, int D, int flags) {
  const int centre = flags & 1, hg = flags & 2;
  for (size_t n = 0; n < N; n++) {
    const float *xr = x + n * D, *dr = dy + n * D;
    float *out = dx + n * D;
    const float m = mu[n], rs = r[n];
    float sd = 0, sdh = 0;
    for (int d = 0; d < D; d++) {
      const float h = (xr[d] - m) * rs, del = hg ? dr[d] * g[d] : dr[d];
      sd += del;
      sdh += del * h;
    }
    if (accG) for (int d = 0; d < D; d++) accG[d] += (double)(dr[d] * ((xr[d] - m) * rs));
    if (accB) for (int d = 0; d < D; d++) accB[d] += dr[d];
    const float md = centre ? sd / D : 0, mdh = sdh / D;
    for (int d = 0; d < D; d++) {
      const float h = (xr[d] - m) * rs, del = hg ? dr[d] * g[d] : dr[d];
      out[d] = rs * (del - md - h * mdh);
    }
  }
}

static napi_value norm(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 9, len[6];
  napi_value argv[9];
  void *p[6];
  int32_t D, flags;
  double eps;
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  int ok = argc == 9;
  for (int i = 0; ok && i < 6; i++) ok = get_typed(env, argv[i], napi_float32_array, &p[i], &len[i]);
  ok = ok && napi_get_value_int32(env, argv[6], &D) == napi_ok && napi_get_value_double(env, argv[7], &eps) == napi_ok &&
       napi_get_value_int32(env, argv[8], &flags) == napi_ok && D > 0 && len[0] % (size_t)D == 0 && len[3] == len[0];
  const size_t N = ok ? len[0] / (size_t)D : 0;
  ok = ok && len[4] >= N && len[5] >= N && (!(flags & 2) || len[1] >= (size_t)D) && (!(flags & 4) || len[2] >= (size_t)D);
  if (!ok) return fail(env, "repro_blas.norm: expected (Float32Array x, g, b, y of x's length, mu [N], r [N], int D > 0 dividing x's length, number eps, int flags)");
  repro_norm_run(p[0], p[1], p[2], p[3], p[4], p[5], N, D, (float)eps, flags);
  return NULL;
}

static napi_value norm_grad(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 10, len[8];
  napi_value argv[10];
  void *p[8];
  int32_t D, flags;
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  int ok = argc == 10;
  for (int i = 0; ok && i < 8; i++) ok = get_typed(env, argv[i], napi_float32_array, &p[i], &len[i]);
  ok = ok && napi_get_value_int32(env, argv[8], &D) == napi_ok && napi_get_value_int32(env, argv[9], &flags) == napi_ok && D > 0 &&
       len[0] % (size_t)D == 0 && len[2] == len[0] && len[5] == len[0];
  const size_t N = ok ? len[0] / (size_t)D : 0;
  const int hg = flags & 2, hb = flags & 4;
  ok = ok && len[3] >= N && len[4] >= N && (!hg || (len[1] >= (size_t)D && len[6] >= (size_t)D)) && (!hb || len[7] >= (size_t)D);
  if (!ok) return fail(env, "repro_blas.normGrad: expected (Float32Array x, g, dy, mu, r, dx, dg, db, int D > 0 dividing x's length, int flags)");
  double *acc = calloc(2 * (size_t)D, sizeof(double));
  if (!acc) return fail(env, "repro_blas.normGrad: out of memory");
  repro_norm_grad_run(p[0], p[1], p[2], p[3], p[4], p[5], hg ? acc : NULL, hb ? acc + D : NULL, N, D, flags);
  float *dg = p[6], *db = p[7];
  if (hg) for (int d = 0; d < D; d++) dg[d] = (float)acc[d];
  if (hb) for (int d = 0; d < D; d++) db[d] = (float)acc[D + d];
  free(acc);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sgemmBatch", NULL, sgemm_batch, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, info, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_default, NULL},
#ifndef REPRO_ACCELERATE
      {"openLibrary", NULL, open_library, NULL, NULL, NULL, napi_default, NULL},
#endif
      {"useLibrary", NULL, use_library, NULL, NULL, NULL, napi_default, NULL},
      {"libraryInfo", NULL, library_info, NULL, NULL, NULL, napi_default, NULL},
      {"sumSquares", NULL, sum_squares, NULL, NULL, NULL, napi_default, NULL},
      {"adamw", NULL, adamw, NULL, NULL, NULL, napi_default, NULL},
      {"softmaxRows", NULL, softmax_rows, NULL, NULL, NULL, napi_default, NULL},
      {"softmaxRowsGrad", NULL, softmax_rows_grad, NULL, NULL, NULL, napi_default, NULL},
      {"act", NULL, act, NULL, NULL, NULL, napi_default, NULL},
      {"actGrad", NULL, act_grad, NULL, NULL, NULL, napi_default, NULL},
      {"swiglu", NULL, swiglu, NULL, NULL, NULL, napi_default, NULL},
      {"swigluGrad", NULL, swiglu_grad, NULL, NULL, NULL, napi_default, NULL},
      {"permute", NULL, permute, NULL, NULL, NULL, napi_default, NULL},
      {"norm", NULL, norm, NULL, NULL, NULL, napi_default, NULL},
      {"normGrad", NULL, norm_grad, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
