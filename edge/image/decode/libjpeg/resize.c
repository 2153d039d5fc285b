/*
 * Pillow's `exif_transpose` then `resize((width, height), BICUBIC)` (libImaging/Resample.c, 8-bit RGB) of an image
 * that arrives as its stored rows, in any order, so the frame is never held, in WebAssembly SIMD, written onto the
 * padded square the model takes, channel-planar. The weights come from the caller (edge/image/resize-bicubic.ts
 * computes them as Pillow does); this file only sums.
 *
 * Pillow runs the horizontal pass over the rows the vertical pass reads, rounds to 8 bits, then the vertical pass.
 * Its sums are exact int32 (22-bit weights on 8-bit samples, no overflow), so they may be taken in any order and
 * across SIMD lanes: the result is Pillow's byte for byte. Each pass is one of two kernels:
 *  - along a line (the taps are neighbouring pixels): `filter_line`, one output pixel at a time;
 *  - across lines (each tap is a whole line): `accumulate`, each arriving line added into the running sums of the
 *    outputs it is a tap of, an output rounded once its last tap arrived.
 * Orientations 1-4 (stored rows are upright rows): each row is filtered along, then accumulated into output rows.
 * Orientations 5-8 (stored rows are upright columns): each row is accumulated into output columns, and a finished
 * column is filtered along into its output column. Mirrored axes only change where a line is read or written.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wasm_simd128.h>

#define PRECISION_BITS 22
#define HALF (1 << (PRECISION_BITS - 1))
/* Slack after every line: filter_line reads and writes four bytes per three-byte pixel. */
#define SLACK 16

typedef struct {
  int size;          /* outputs; 0 when this axis keeps its size (no pass) */
  int stride;        /* weight slots per output */
  int32_t *first;    /* output i reads inputs first[i] .. first[i] + count[i] - 1 */
  int32_t *count;
  int32_t *weights;  /* size * stride, 22-bit fixed point */
} Axis;

typedef struct {
  int stored_width, stored_height;
  int swap, mirror_x, mirror_y;
  int upright_width, upright_height;
  int width, height;
  Axis across, down;
  int lo, hi;            /* the upright rows the vertical pass reads */
  Axis *accumulated;     /* the pass that runs across lines: down (rows kept) or across (rows are columns) */
  int32_t **open;        /* per output of that pass: its running sums, while some of its taps are to come */
  int32_t *pending;      /* per output of that pass: taps still to come */
  int line_bytes;        /* bytes of the lines that pass sums */
  uint8_t *reversed;     /* a line read against its stored order */
  uint8_t *rounded;      /* a finished line of the pass across lines */
  uint8_t *filtered;     /* a line after the pass along it */
  int side, left, top;   /* the padded square, and where the width x height image sits on it */
  uint8_t *out;          /* the square, channel-planar: 3 planes of side x side */
  int failed;            /* out of memory: every later call does nothing */
} Resize;

Resize *resize_create(int stored_width, int stored_height, int swap, int mirror_x, int mirror_y, int width, int height) {
  Resize *r = calloc(1, sizeof(Resize));
  if (!r) return NULL;
  r->stored_width = stored_width;
  r->stored_height = stored_height;
  r->swap = swap;
  r->mirror_x = mirror_x;
  r->mirror_y = mirror_y;
  r->upright_width = swap ? stored_height : stored_width;
  r->upright_height = swap ? stored_width : stored_height;
  r->width = width;
  r->height = height;
  return r;
}

/*
 * Room for one axis's weights (vertical: 0 across, 1 down), `stride` slots per output: first[size], count[size],
 * weights[size * stride], back to back, for the caller to fill. Not called for an axis that keeps its size.
 */
int32_t *resize_axis(Resize *r, int vertical, int stride) {
  Axis *a = vertical ? &r->down : &r->across;
  int size = vertical ? r->height : r->width;
  int32_t *block = malloc(((size_t)size * (2 + (size_t)stride)) * sizeof(int32_t));
  if (!block) return NULL;
  a->size = size;
  a->stride = stride;
  a->first = block;
  a->count = block + size;
  a->weights = block + 2 * (size_t)size;
  return block;
}

/*
 * After the axes are filled: the output is the image at (left, top) on a `side` square of colour (red, green,
 * blue), channel-planar. 1 ready, 0 out of memory.
 */
int resize_start(Resize *r, int side, int left, int top, int red, int green, int blue) {
  r->lo = r->down.size ? r->down.first[0] : 0;
  r->hi = r->down.size ? r->down.first[r->height - 1] + r->down.count[r->height - 1] : r->upright_height;
  int rows = r->hi - r->lo;
  r->accumulated = r->swap ? &r->across : &r->down;
  r->line_bytes = r->swap ? rows * 3 : r->width * 3;
  int longest = r->upright_width > rows ? r->upright_width : rows;
  int widest = r->width > r->height ? r->width : r->height;
  r->reversed = malloc((size_t)longest * 3 + SLACK);
  r->rounded = malloc((size_t)(rows > widest ? rows : widest) * 3 + SLACK);
  r->filtered = malloc((size_t)widest * 3 + SLACK);
  r->side = side;
  r->left = left;
  r->top = top;
  size_t plane = (size_t)side * side;
  r->out = malloc(plane * 3);
  if (!r->reversed || !r->rounded || !r->filtered || !r->out) return 0;
  memset(r->out, red, plane);
  memset(r->out + plane, green, plane);
  memset(r->out + 2 * plane, blue, plane);
  Axis *a = r->accumulated;
  if (a->size) {
    r->open = calloc((size_t)a->size, sizeof(int32_t *));
    r->pending = malloc((size_t)a->size * sizeof(int32_t));
    if (!r->open || !r->pending) return 0;
    memcpy(r->pending, a->count, (size_t)a->size * sizeof(int32_t));
  }
  return 1;
}

/* Pillow's clip8 of each sum: shifted down, clamped to 0..255 (the saturating narrowings are that clamp). */
static void round_sums(uint8_t *dst, const int32_t *sums, int n) {
  int k = 0;
  for (; k + 16 <= n; k += 16) {
    v128_t a = wasm_i32x4_shr(wasm_v128_load(sums + k), PRECISION_BITS);
    v128_t b = wasm_i32x4_shr(wasm_v128_load(sums + k + 4), PRECISION_BITS);
    v128_t c = wasm_i32x4_shr(wasm_v128_load(sums + k + 8), PRECISION_BITS);
    v128_t d = wasm_i32x4_shr(wasm_v128_load(sums + k + 12), PRECISION_BITS);
    wasm_v128_store(dst + k, wasm_u8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(a, b), wasm_i16x8_narrow_i32x4(c, d)));
  }
  for (; k < n; k++) {
    int32_t v = sums[k] >> PRECISION_BITS;
    dst[k] = v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
  }
}

/* sums[k] += line[k] * weight for n bytes. */
static void accumulate(int32_t *sums, const uint8_t *line, int n, int32_t weight) {
  v128_t w = wasm_i32x4_splat(weight);
  int k = 0;
  for (; k + 16 <= n; k += 16) {
    v128_t bytes = wasm_v128_load(line + k);
    v128_t low = wasm_u16x8_extend_low_u8x16(bytes);
    v128_t high = wasm_u16x8_extend_high_u8x16(bytes);
    int32_t *s = sums + k;
    wasm_v128_store(s, wasm_i32x4_add(wasm_v128_load(s), wasm_i32x4_mul(wasm_u32x4_extend_low_u16x8(low), w)));
    wasm_v128_store(s + 4, wasm_i32x4_add(wasm_v128_load(s + 4), wasm_i32x4_mul(wasm_u32x4_extend_high_u16x8(low), w)));
    wasm_v128_store(s + 8, wasm_i32x4_add(wasm_v128_load(s + 8), wasm_i32x4_mul(wasm_u32x4_extend_low_u16x8(high), w)));
    wasm_v128_store(s + 12, wasm_i32x4_add(wasm_v128_load(s + 12), wasm_i32x4_mul(wasm_u32x4_extend_high_u16x8(high), w)));
  }
  for (; k < n; k++) sums[k] += line[k] * weight;
}

/*
 * The pass along an RGB line: output pixel i of `a` from the line's pixels first[i] - offset .., its three sums in
 * the lanes of one vector. Reads and writes one byte past the last pixel (SLACK).
 */
static void filter_line(uint8_t *dst, const uint8_t *line, const Axis *a, int offset) {
  for (int i = 0; i < a->size; i++) {
    const uint8_t *p = line + (size_t)(a->first[i] - offset) * 3;
    const int32_t *w = a->weights + (size_t)i * a->stride;
    v128_t sums = wasm_i32x4_splat(HALF);
    for (int j = 0, n = a->count[i]; j < n; j++, p += 3) {
      v128_t pixel = wasm_u32x4_extend_low_u16x8(wasm_u16x8_extend_low_u8x16(wasm_v128_load32_zero(p)));
      sums = wasm_i32x4_add(sums, wasm_i32x4_mul(pixel, wasm_i32x4_splat(w[j])));
    }
    v128_t narrow = wasm_i16x8_narrow_i32x4(wasm_i32x4_shr(sums, PRECISION_BITS), sums);
    wasm_v128_store32_lane(dst + (size_t)i * 3, wasm_u8x16_narrow_i16x8(narrow, narrow), 0);
  }
}

/* `count` pixels in reverse order. */
static void reverse_pixels(uint8_t *dst, const uint8_t *src, int count) {
  for (int i = 0, j = (count - 1) * 3; i < count; i++, j -= 3) {
    dst[i * 3] = src[j];
    dst[i * 3 + 1] = src[j + 1];
    dst[i * 3 + 2] = src[j + 2];
  }
}

/* Output column `x`: a finished column of the horizontal pass (upright rows lo .. hi, in stored order). */
static void place_column(Resize *r, int x, const uint8_t *column) {
  int rows = r->hi - r->lo;
  if (r->mirror_y) {
    reverse_pixels(r->reversed, column, rows);
    column = r->reversed;
  }
  if (r->down.size) {
    filter_line(r->filtered, column, &r->down, r->lo);
    column = r->filtered;
  }
  size_t plane = (size_t)r->side * r->side;
  uint8_t *o = r->out + (size_t)r->top * r->side + r->left + x;
  for (int y = 0; y < r->height; y++, o += r->side) {
    o[0] = column[y * 3];
    o[plane] = column[y * 3 + 1];
    o[2 * plane] = column[y * 3 + 2];
  }
}

/* Output row `y`, RGB: into the three planes. */
static void place_row(Resize *r, int y, const uint8_t *row) {
  size_t plane = (size_t)r->side * r->side;
  uint8_t *o = r->out + (size_t)(r->top + y) * r->side + r->left;
  for (int x = 0; x < r->width; x++) {
    o[x] = row[x * 3];
    o[plane + x] = row[x * 3 + 1];
    o[2 * plane + x] = row[x * 3 + 2];
  }
}

/* Output line i of the pass across lines is complete: round it into place. */
static void finish_output(Resize *r, int i, const int32_t *sums) {
  round_sums(r->rounded, sums, r->line_bytes);
  if (r->swap) place_column(r, i, r->rounded);
  else place_row(r, i, r->rounded);
}

/* Input line `x` of the pass across lines: added into every output whose taps include it. 0: out of memory. */
static int accumulate_line(Resize *r, int x, const uint8_t *line) {
  const Axis *a = r->accumulated;
  /* The outputs whose taps include x are a contiguous run: first[] and first[] + count[] never decrease. */
  int lo = 0, hi = a->size;
  while (lo < hi) {
    int mid = (lo + hi) >> 1;
    if (a->first[mid] + a->count[mid] > x) hi = mid;
    else lo = mid + 1;
  }
  for (int i = lo; i < a->size && a->first[i] <= x; i++) {
    int32_t *sums = r->open[i];
    if (!sums) {
      sums = malloc((size_t)r->line_bytes * sizeof(int32_t));
      if (!sums) return 0;
      for (int k = 0; k < r->line_bytes; k++) sums[k] = HALF;
      r->open[i] = sums;
    }
    accumulate(sums, line, r->line_bytes, a->weights[(size_t)i * a->stride + (x - a->first[i])]);
    if (--r->pending[i] > 0) continue;
    finish_output(r, i, sums);
    free(sums);
    r->open[i] = NULL;
  }
  return 1;
}

/* Stored row y, RGB. 0: out of memory. */
static int push_row(Resize *r, const uint8_t *row, int y) {
  if (r->swap) {
    int x = r->mirror_x ? r->upright_width - 1 - y : y;
    /* Upright rows lo .. hi of this column, in stored order. */
    const uint8_t *column = row + (size_t)(r->mirror_y ? r->upright_height - r->hi : r->lo) * 3;
    if (!r->across.size) {
      place_column(r, x, column);
      return 1;
    }
    return accumulate_line(r, x, column);
  }
  int u = r->mirror_y ? r->upright_height - 1 - y : y;
  if (u < r->lo || u >= r->hi) return 1;
  const uint8_t *line = row;
  if (r->mirror_x) {
    reverse_pixels(r->reversed, row, r->upright_width);
    line = r->reversed;
  }
  if (r->across.size) {
    filter_line(r->filtered, line, &r->across, 0);
    line = r->filtered;
  }
  if (!r->down.size) {
    place_row(r, u, line);
    return 1;
  }
  return accumulate_line(r, u, line);
}

/*
 * `count` stored rows from row `first`, RGB, back to back, each read up to one byte past its last pixel.
 * 1 done, 0 out of memory (the resize is then failed).
 */
int resize_push(Resize *r, const uint8_t *rows, int first, int count) {
  size_t row_bytes = (size_t)r->stored_width * 3;
  for (int i = 0; i < count && !r->failed; i++) {
    if (!push_row(r, rows + i * row_bytes, first + i)) r->failed = 1;
  }
  return !r->failed;
}

/* The padded square (3 planes of side x side) once every stored row was pushed; NULL while some output is missing. */
uint8_t *resize_result(Resize *r) {
  const Axis *a = r->accumulated;
  if (r->failed) return NULL;
  for (int i = 0; i < a->size; i++) {
    if (r->pending[i] > 0) return NULL;
  }
  return r->out;
}

void resize_destroy(Resize *r) {
  if (!r) return;
  if (r->open) {
    for (int i = 0; i < r->accumulated->size; i++) free(r->open[i]);
  }
  free(r->open);
  free(r->pending);
  free(r->across.first);
  free(r->down.first);
  free(r->reversed);
  free(r->rounded);
  free(r->filtered);
  free(r->out);
  free(r);
}
