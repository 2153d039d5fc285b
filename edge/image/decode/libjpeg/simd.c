/*
 * WebAssembly SIMD versions of the three libjpeg-turbo kernels a photo's decode spends most of its time in: the
 * ISLOW inverse DCT (jidctint.c), YCbCr -> RGB (jdcolext.c) and fancy 2:1 upsampling (jdsample.c). libjpeg-turbo has
 * no WebAssembly SIMD; this file is its SIMD dispatch (jsimd_none.c, included below with these kernels renamed away)
 * with these kernels filled in. Each computes exactly what its C version computes on wasm32 (32-bit JLONG,
 * wrapping), for every input, its shortcuts included: the results are the scalar build's byte for byte.
 */
#define jsimd_can_ycc_rgb jsimd_none_can_ycc_rgb
#define jsimd_ycc_rgb_convert jsimd_none_ycc_rgb_convert
#define jsimd_can_h2v1_fancy_upsample jsimd_none_can_h2v1_fancy_upsample
#define jsimd_h2v1_fancy_upsample jsimd_none_h2v1_fancy_upsample
#define jsimd_can_h2v2_fancy_upsample jsimd_none_can_h2v2_fancy_upsample
#define jsimd_h2v2_fancy_upsample jsimd_none_h2v2_fancy_upsample
#define jsimd_can_idct_islow jsimd_none_can_idct_islow
#define jsimd_idct_islow jsimd_none_idct_islow
#include "jsimd_none.c"
#undef jsimd_can_ycc_rgb
#undef jsimd_ycc_rgb_convert
#undef jsimd_can_h2v1_fancy_upsample
#undef jsimd_h2v1_fancy_upsample
#undef jsimd_can_h2v2_fancy_upsample
#undef jsimd_h2v2_fancy_upsample
#undef jsimd_can_idct_islow
#undef jsimd_idct_islow

#include <wasm_simd128.h>

/* ---- YCbCr -> RGB (jdcolext.c ycc_rgb_convert_internal with jdcolor.c's tables) ----
 * The tables are R = y + (FIX(1.402) x_r + ONE_HALF) >> 16, B = y + (FIX(1.772) x_b + ONE_HALF) >> 16,
 * G = y + (-FIX(0.71414) x_r - FIX(0.34414) x_b + ONE_HALF) >> 16 (x = sample - 128), clamped by range_limit.
 * Each constant is split as k * 65536 + c with |c| < 32768, so the products are exact 16 x 16 -> 32-bit ones:
 * (x (k 65536 + c) + h) >> 16 = k x + ((x c + h) >> 16).
 */
#define FIX_R 91881 /* FIX(1.40200) = 65536 + 26345 */
#define FIX_B 116130 /* FIX(1.77200) = 2 * 65536 - 14942 */
#define FIX_GR 46802 /* FIX(0.71414) = 65536 - 18734 */
#define FIX_GB 22554 /* FIX(0.34414) */

static inline v128_t high_part(v128_t products_low, v128_t products_high) {
  v128_t half = wasm_i32x4_splat(32768);
  return wasm_i16x8_narrow_i32x4(wasm_i32x4_shr(wasm_i32x4_add(products_low, half), 16),
                                 wasm_i32x4_shr(wasm_i32x4_add(products_high, half), 16));
}

/* Eight pixels: y, cb, cr as u8 in the low halves; r, g, b as i16 before the clamp. */
static inline void ycc_rgb8(v128_t y8, v128_t cb8, v128_t cr8, v128_t *r, v128_t *g, v128_t *b) {
  v128_t y = wasm_u16x8_extend_low_u8x16(y8);
  v128_t center = wasm_i16x8_splat(128);
  v128_t xb = wasm_i16x8_sub(wasm_u16x8_extend_low_u8x16(cb8), center);
  v128_t xr = wasm_i16x8_sub(wasm_u16x8_extend_low_u8x16(cr8), center);
  v128_t cr_r = wasm_i16x8_splat(FIX_R - 65536);
  v128_t cb_b = wasm_i16x8_splat(FIX_B - 2 * 65536);
  v128_t cr_g = wasm_i16x8_splat(65536 - FIX_GR);
  v128_t cb_g = wasm_i16x8_splat(-FIX_GB);
  v128_t red = high_part(wasm_i32x4_extmul_low_i16x8(xr, cr_r), wasm_i32x4_extmul_high_i16x8(xr, cr_r));
  v128_t blue = high_part(wasm_i32x4_extmul_low_i16x8(xb, cb_b), wasm_i32x4_extmul_high_i16x8(xb, cb_b));
  v128_t green = high_part(
      wasm_i32x4_add(wasm_i32x4_extmul_low_i16x8(xr, cr_g), wasm_i32x4_extmul_low_i16x8(xb, cb_g)),
      wasm_i32x4_add(wasm_i32x4_extmul_high_i16x8(xr, cr_g), wasm_i32x4_extmul_high_i16x8(xb, cb_g)));
  *r = wasm_i16x8_add(wasm_i16x8_add(y, xr), red);
  *b = wasm_i16x8_add(wasm_i16x8_add(y, wasm_i16x8_add(xb, xb)), blue);
  *g = wasm_i16x8_add(wasm_i16x8_sub(y, xr), green);
}

static inline int clamp_sample(int v) { return v < 0 ? 0 : v > MAXJSAMPLE ? MAXJSAMPLE : v; }

GLOBAL(int) jsimd_can_ycc_rgb(void) { return 1; }

GLOBAL(void)
jsimd_ycc_rgb_convert(j_decompress_ptr cinfo, JSAMPIMAGE input_buf, JDIMENSION input_row, JSAMPARRAY output_buf,
                      int num_rows) {
  int red = 0, green = 1, blue = 2, alpha = -1, size = 3;
  switch (cinfo->out_color_space) {
    case JCS_EXT_RGBX: case JCS_EXT_RGBA: size = 4; alpha = 3; break;
    case JCS_EXT_BGR: red = 2; blue = 0; break;
    case JCS_EXT_BGRX: case JCS_EXT_BGRA: red = 2; blue = 0; size = 4; alpha = 3; break;
    case JCS_EXT_XBGR: case JCS_EXT_ABGR: red = 3; green = 2; blue = 1; size = 4; alpha = 0; break;
    case JCS_EXT_XRGB: case JCS_EXT_ARGB: red = 1; green = 2; blue = 3; size = 4; alpha = 0; break;
    default: break;
  }
  JDIMENSION width = cinfo->output_width;
  while (--num_rows >= 0) {
    JSAMPROW y = input_buf[0][input_row], cb = input_buf[1][input_row], cr = input_buf[2][input_row];
    input_row++;
    JSAMPROW out = *output_buf++;
    JDIMENSION col = 0;
    if (size == 3 && red == 0) {
      for (; col + 8 <= width; col += 8) {
        v128_t r, g, b;
        ycc_rgb8(wasm_v128_load64_zero(y + col), wasm_v128_load64_zero(cb + col), wasm_v128_load64_zero(cr + col), &r, &g,
                 &b);
        /* Saturating to 0..255 is range_limit's clamp. */
        v128_t rg = wasm_u8x16_narrow_i16x8(r, g);
        v128_t bb = wasm_u8x16_narrow_i16x8(b, b);
        v128_t first = wasm_i8x16_shuffle(rg, bb, 0, 8, 16, 1, 9, 17, 2, 10, 18, 3, 11, 19, 4, 12, 20, 5);
        v128_t rest = wasm_i8x16_shuffle(rg, bb, 13, 21, 6, 14, 22, 7, 15, 23, 0, 0, 0, 0, 0, 0, 0, 0);
        wasm_v128_store(out + col * 3, first);
        wasm_v128_store64_lane(out + col * 3 + 16, rest, 0);
      }
    }
    for (; col < width; col++) {
      int x_b = cb[col] - CENTERJSAMPLE, x_r = cr[col] - CENTERJSAMPLE;
      JSAMPROW pixel = out + col * size;
      pixel[red] = (JSAMPLE)clamp_sample(y[col] + ((FIX_R * x_r + 32768) >> 16));
      pixel[green] = (JSAMPLE)clamp_sample(y[col] + ((-FIX_GR * x_r - FIX_GB * x_b + 32768) >> 16));
      pixel[blue] = (JSAMPLE)clamp_sample(y[col] + ((FIX_B * x_b + 32768) >> 16));
      if (alpha >= 0) pixel[alpha] = MAXJSAMPLE;
    }
  }
}

/* ---- Fancy upsampling (jdsample.c h2v1_fancy_upsample, h2v2_fancy_upsample) ----
 * Both are, at every column, out[2i] = (3 s[i] + s[i-1] + a) >> n and out[2i+1] = (3 s[i] + s[i+1] + b) >> n with
 * s[-1] = s[0] and s[w] = s[w-1]: the C versions' first and last columns are exactly that.
 */

/* Sixteen outputs from s[i-1 .. i+8] (i16), interleaved even/odd and stored as bytes. */
static inline void fancy16(JSAMPROW out, v128_t previous, v128_t current, v128_t next, v128_t even_bias,
                           v128_t odd_bias, int shift) {
  v128_t three = wasm_i16x8_add(wasm_i16x8_add(current, current), current);
  v128_t even = wasm_u16x8_shr(wasm_i16x8_add(wasm_i16x8_add(three, previous), even_bias), shift);
  v128_t odd = wasm_u16x8_shr(wasm_i16x8_add(wasm_i16x8_add(three, next), odd_bias), shift);
  v128_t low = wasm_i16x8_shuffle(even, odd, 0, 8, 1, 9, 2, 10, 3, 11);
  v128_t high = wasm_i16x8_shuffle(even, odd, 4, 12, 5, 13, 6, 14, 7, 15);
  wasm_v128_store(out, wasm_u8x16_narrow_i16x8(low, high));
}

/*
 * One output row from the column values s[0 .. width) (i16, with a slot before and after it for the edges), which it
 * first computes: the nearest input row's samples (h2v1, `far` NULL), or 3 nearest + next nearest (h2v2).
 */
static void fancy_row(JSAMPROW out, int16_t *s, JSAMPROW near, JSAMPROW far, JDIMENSION width, int even_bias,
                      int odd_bias, int shift) {
  JDIMENSION i = 0;
  for (; i + 8 <= width; i += 8) {
    v128_t n = wasm_u16x8_load8x8(near + i);
    wasm_v128_store(s + i, far ? wasm_i16x8_add(wasm_i16x8_add(wasm_i16x8_add(n, n), n), wasm_u16x8_load8x8(far + i)) : n);
  }
  for (; i < width; i++) s[i] = (int16_t)(far ? near[i] * 3 + far[i] : near[i]);
  s[-1] = s[0];
  s[width] = s[width - 1];
  v128_t even = wasm_i16x8_splat((int16_t)even_bias), odd = wasm_i16x8_splat((int16_t)odd_bias);
  for (i = 0; i + 8 <= width; i += 8) {
    fancy16(out + 2 * i, wasm_v128_load(s + i - 1), wasm_v128_load(s + i), wasm_v128_load(s + i + 1), even, odd, shift);
  }
  for (; i < width; i++) {
    int three = 3 * s[i];
    out[2 * i] = (JSAMPLE)((three + s[i - 1] + even_bias) >> shift);
    out[2 * i + 1] = (JSAMPLE)((three + s[i + 1] + odd_bias) >> shift);
  }
}

/* Column values, with room for the two edge slots: a row of any component the library allocates fits. */
static int16_t *column_values(j_decompress_ptr cinfo, JDIMENSION width) {
  static int16_t *values;
  static JDIMENSION capacity;
  (void)cinfo;
  if (width + 2 > capacity) {
    free(values);
    capacity = width + 2;
    values = malloc(capacity * sizeof(int16_t));
    if (!values) {
      capacity = 0;
      ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 98);
    }
  }
  return values + 1;
}

GLOBAL(int) jsimd_can_h2v1_fancy_upsample(void) { return 1; }

GLOBAL(void)
jsimd_h2v1_fancy_upsample(j_decompress_ptr cinfo, jpeg_component_info *compptr, JSAMPARRAY input_data,
                          JSAMPARRAY *output_data_ptr) {
  JDIMENSION width = compptr->downsampled_width;
  int16_t *s = column_values(cinfo, width);
  for (int row = 0; row < cinfo->max_v_samp_factor; row++) {
    fancy_row((*output_data_ptr)[row], s, input_data[row], NULL, width, 1, 2, 2);
  }
}

GLOBAL(int) jsimd_can_h2v2_fancy_upsample(void) { return 1; }

GLOBAL(void)
jsimd_h2v2_fancy_upsample(j_decompress_ptr cinfo, jpeg_component_info *compptr, JSAMPARRAY input_data,
                          JSAMPARRAY *output_data_ptr) {
  JDIMENSION width = compptr->downsampled_width;
  int16_t *s = column_values(cinfo, width);
  int outrow = 0;
  for (int inrow = 0; outrow < cinfo->max_v_samp_factor; inrow++) {
    for (int v = 0; v < 2; v++) {
      /* The nearest input row, and the next nearest: above for the upper output row, below for the lower. */
      JSAMPROW near = input_data[inrow], far = input_data[v == 0 ? inrow - 1 : inrow + 1];
      fancy_row((*output_data_ptr)[outrow++], s, near, far, width, 8, 7, 4);
    }
  }
}

/* ---- ISLOW inverse DCT (jidctint.c jpeg_idct_islow, CONST_BITS 13, PASS1_BITS 2) ----
 * Four columns (pass 1) or four rows (pass 2) at a time in i32 lanes, with the C version's shortcut for an all-zero
 * AC column or row taken per lane (it differs from the full sums only where those wrap).
 */
#define CONST_BITS 13
#define PASS1_BITS 2

static inline v128_t mul(v128_t v, int c) { return wasm_i32x4_mul(v, wasm_i32x4_splat(c)); }
static inline v128_t descale(v128_t v, int n) { return wasm_i32x4_shr(wasm_i32x4_add(v, wasm_i32x4_splat(1 << (n - 1))), n); }

/* The 1-D IDCT of jidctint.c on eight lane vectors in[0..7], before descaling: out[k] = the sum for output k. */
static inline void idct8(const v128_t *in, v128_t *out) {
  v128_t z2 = in[2], z3 = in[6];
  v128_t z1 = mul(wasm_i32x4_add(z2, z3), 4433);
  v128_t tmp2 = wasm_i32x4_add(z1, mul(z3, -15137));
  v128_t tmp3 = wasm_i32x4_add(z1, mul(z2, 6270));
  v128_t tmp0 = wasm_i32x4_shl(wasm_i32x4_add(in[0], in[4]), CONST_BITS);
  v128_t tmp1 = wasm_i32x4_shl(wasm_i32x4_sub(in[0], in[4]), CONST_BITS);
  v128_t tmp10 = wasm_i32x4_add(tmp0, tmp3), tmp13 = wasm_i32x4_sub(tmp0, tmp3);
  v128_t tmp11 = wasm_i32x4_add(tmp1, tmp2), tmp12 = wasm_i32x4_sub(tmp1, tmp2);

  tmp0 = in[7];
  tmp1 = in[5];
  tmp2 = in[3];
  tmp3 = in[1];
  z1 = wasm_i32x4_add(tmp0, tmp3);
  z2 = wasm_i32x4_add(tmp1, tmp2);
  z3 = wasm_i32x4_add(tmp0, tmp2);
  v128_t z4 = wasm_i32x4_add(tmp1, tmp3);
  v128_t z5 = mul(wasm_i32x4_add(z3, z4), 9633);
  tmp0 = mul(tmp0, 2446);
  tmp1 = mul(tmp1, 16819);
  tmp2 = mul(tmp2, 25172);
  tmp3 = mul(tmp3, 12299);
  z1 = mul(z1, -7373);
  z2 = mul(z2, -20995);
  z3 = wasm_i32x4_add(mul(z3, -16069), z5);
  z4 = wasm_i32x4_add(mul(z4, -3196), z5);
  tmp0 = wasm_i32x4_add(tmp0, wasm_i32x4_add(z1, z3));
  tmp1 = wasm_i32x4_add(tmp1, wasm_i32x4_add(z2, z4));
  tmp2 = wasm_i32x4_add(tmp2, wasm_i32x4_add(z2, z3));
  tmp3 = wasm_i32x4_add(tmp3, wasm_i32x4_add(z1, z4));

  out[0] = wasm_i32x4_add(tmp10, tmp3);
  out[7] = wasm_i32x4_sub(tmp10, tmp3);
  out[1] = wasm_i32x4_add(tmp11, tmp2);
  out[6] = wasm_i32x4_sub(tmp11, tmp2);
  out[2] = wasm_i32x4_add(tmp12, tmp1);
  out[5] = wasm_i32x4_sub(tmp12, tmp1);
  out[3] = wasm_i32x4_add(tmp13, tmp0);
  out[4] = wasm_i32x4_sub(tmp13, tmp0);
}

/* Lanes where in[1..7] are all zero. */
static inline v128_t zero_ac(const v128_t *in) {
  v128_t any = in[1];
  for (int k = 2; k < 8; k++) any = wasm_v128_or(any, in[k]);
  return wasm_i32x4_eq(any, wasm_i32x4_splat(0));
}

static inline void transpose4(v128_t *a, v128_t *b, v128_t *c, v128_t *d) {
  v128_t t0 = wasm_i32x4_shuffle(*a, *b, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(*a, *b, 2, 6, 3, 7);
  v128_t t2 = wasm_i32x4_shuffle(*c, *d, 0, 4, 1, 5), t3 = wasm_i32x4_shuffle(*c, *d, 2, 6, 3, 7);
  *a = wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5);
  *b = wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7);
  *c = wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5);
  *d = wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7);
}

/* An 8x8 block held as v[row][half] (four columns a vector) turned into v[column][half] (four rows a vector). */
static inline void transpose8(v128_t v[8][2]) {
  for (int h = 0; h < 2; h++) {
    transpose4(&v[0][h], &v[1][h], &v[2][h], &v[3][h]);
    transpose4(&v[4][h], &v[5][h], &v[6][h], &v[7][h]);
  }
  /* The off-diagonal 4x4 blocks trade places. */
  for (int k = 0; k < 4; k++) {
    v128_t t = v[k][1];
    v[k][1] = v[k + 4][0];
    v[k + 4][0] = t;
  }
}

GLOBAL(int) jsimd_can_idct_islow(void) { return 1; }

GLOBAL(void)
jsimd_idct_islow(j_decompress_ptr cinfo, jpeg_component_info *compptr, JCOEFPTR coef_block, JSAMPARRAY output_buf,
                 JDIMENSION output_col) {
  (void)cinfo;
  const ISLOW_MULT_TYPE *quant = (const ISLOW_MULT_TYPE *)compptr->dct_table;
  v128_t v[8][2];
  /* Pass 1: columns. v[k][h] holds row k of columns 4h .. 4h+3, dequantized. */
  for (int h = 0; h < 2; h++) {
    v128_t in[8], raw_or = wasm_i32x4_splat(0), sums[8];
    for (int k = 0; k < 8; k++) {
      v128_t coef = wasm_i32x4_load16x4(coef_block + k * DCTSIZE + 4 * h);
      if (k > 0) raw_or = wasm_v128_or(raw_or, coef);
      in[k] = wasm_i32x4_mul(coef, wasm_v128_load(quant + k * DCTSIZE + 4 * h));
    }
    /* The C version tests the coefficients before dequantizing them. */
    v128_t shortcut = wasm_i32x4_eq(raw_or, wasm_i32x4_splat(0));
    v128_t dc = wasm_i32x4_shl(in[0], PASS1_BITS);
    idct8(in, sums);
    for (int k = 0; k < 8; k++) v[k][h] = wasm_v128_bitselect(dc, descale(sums[k], CONST_BITS - PASS1_BITS), shortcut);
  }
  /* Pass 2: rows, four at a time after a transpose: v[c][h] holds column c of rows 4h .. 4h+3. */
  transpose8(v);
  v128_t out[8][2];
  for (int h = 0; h < 2; h++) {
    v128_t in[8], sums[8];
    for (int c = 0; c < 8; c++) in[c] = v[c][h];
    v128_t shortcut = zero_ac(in);
    v128_t dc = descale(in[0], PASS1_BITS + 3);
    idct8(in, sums);
    for (int c = 0; c < 8; c++) {
      v128_t value = wasm_v128_bitselect(dc, descale(sums[c], CONST_BITS + PASS1_BITS + 3), shortcut);
      /* range_limit[value & RANGE_MASK]: the low 10 bits as a signed value, plus CENTERJSAMPLE, clamped to 0..255. */
      value = wasm_i32x4_shr(wasm_i32x4_shl(value, 22), 22);
      out[c][h] = wasm_i32x4_add(value, wasm_i32x4_splat(CENTERJSAMPLE));
    }
  }
  /* Back to rows: out[r][h] holds row r, columns 4h .. 4h+3. */
  transpose8(out);
  for (int r = 0; r < 8; r++) {
    v128_t words = wasm_i16x8_narrow_i32x4(out[r][0], out[r][1]);
    wasm_v128_store64_lane(output_buf[r] + output_col, wasm_u8x16_narrow_i16x8(words, words), 0);
  }
}
