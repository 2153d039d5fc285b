/*
 * Proof that simd.c computes what libjpeg-turbo's C computes: each kernel against its C version on random input,
 * extremes included (every int16 coefficient, every quantizer, widths 3 .. 67, all sample values), compared byte for
 * byte. Built and run by every scripts/libjpeg-wasm.sh, beside the module; prints the blocks and rows it compared
 * and exits non-zero on the first difference. The C versions are static in their files, so those files are part of
 * this program (jdsample.c's in simd-check-upsample.c: jsimd.h can be included once per file).
 */
#include "jdcolor.c"
#include "jdmaster.c"
#include "jdct.h"
#include "jsimddct.h"
#include "simd-check.h"

static uint32_t state = 0x2545f491;

uint32_t next_random(void) {
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}

/* A coefficient: mostly small, as in photos, sometimes anything an int16 holds, sometimes zero. */
static JCOEF coefficient(int wild) {
  uint32_t r = next_random();
  if (r % 3 == 0) return 0;
  if (wild) return (JCOEF)(int16_t)(next_random() & 0xffff);
  return (JCOEF)((int)(next_random() % 129) - 64);
}

int fail(const char *what, long index) {
  printf("simd-check: %s differs from libjpeg's C at case %ld\n", what, index);
  return 1;
}

static int check_idct(j_decompress_ptr cinfo, long blocks) {
  jpeg_component_info component;
  int quant[DCTSIZE2];
  JCOEF coef[DCTSIZE2];
  JSAMPLE c_out[DCTSIZE][DCTSIZE + 8], simd_out[DCTSIZE][DCTSIZE + 8];
  JSAMPROW c_rows[DCTSIZE], simd_rows[DCTSIZE];
  for (int r = 0; r < DCTSIZE; r++) {
    c_rows[r] = c_out[r];
    simd_rows[r] = simd_out[r];
  }
  component.dct_table = quant;
  for (long b = 0; b < blocks; b++) {
    int wild = b % 4 == 0;
    for (int k = 0; k < DCTSIZE2; k++) {
      quant[k] = wild ? (int)(next_random() % 65535) + 1 : (int)(next_random() % 255) + 1;
      coef[k] = coefficient(wild);
    }
    /* Some blocks with an all-zero AC column or row, where the C version takes its shortcut. */
    if (b % 5 == 1) for (int k = DCTSIZE; k < DCTSIZE2; k++) coef[k] = 0;
    if (b % 5 == 2) for (int k = 0; k < DCTSIZE2; k++) if (k % DCTSIZE) coef[k] = 0;
    jpeg_idct_islow(cinfo, &component, coef, c_rows, 4);
    jsimd_idct_islow(cinfo, &component, coef, simd_rows, 4);
    for (int r = 0; r < DCTSIZE; r++) {
      if (memcmp(c_out[r] + 4, simd_out[r] + 4, DCTSIZE)) return fail("jsimd_idct_islow", b);
    }
  }
  printf("simd-check: ISLOW IDCT equal on %ld blocks\n", blocks);
  return 0;
}

void random_row(JSAMPLE *row, JDIMENSION width) {
  for (JDIMENSION i = 0; i < width; i++) row[i] = (JSAMPLE)next_random();
  /* Extremes of the sample range, where the conversions clamp. */
  if (width > 2) row[next_random() % width] = next_random() & 1 ? 0 : MAXJSAMPLE;
}

static int check_ycc_rgb(j_decompress_ptr cinfo, long rows) {
  my_color_deconverter deconverter;
  memset(&deconverter, 0, sizeof(deconverter));
  cinfo->cconvert = (struct jpeg_color_deconverter *)&deconverter;
  cinfo->out_color_space = JCS_RGB;
  build_ycc_rgb_table(cinfo);
  JSAMPLE planes[3][MAX_WIDTH], c_out[MAX_WIDTH * 3 + 16], simd_out[MAX_WIDTH * 3 + 16];
  JSAMPROW plane_rows[3] = {planes[0], planes[1], planes[2]};
  JSAMPARRAY image[3] = {&plane_rows[0], &plane_rows[1], &plane_rows[2]};
  JSAMPROW c_row = c_out, simd_row = simd_out;
  for (long n = 0; n < rows; n++) {
    cinfo->output_width = 1 + next_random() % MAX_WIDTH;
    for (int c = 0; c < 3; c++) random_row(planes[c], cinfo->output_width);
    ycc_rgb_convert(cinfo, image, 0, &c_row, 1);
    jsimd_ycc_rgb_convert(cinfo, image, 0, &simd_row, 1);
    if (memcmp(c_out, simd_out, cinfo->output_width * 3)) return fail("jsimd_ycc_rgb_convert", n);
  }
  printf("simd-check: YCbCr -> RGB equal on %ld rows\n", rows);
  return 0;
}

int main(void) {
  struct jpeg_decompress_struct cinfo;
  struct jpeg_error_mgr errors;
  cinfo.err = jpeg_std_error(&errors);
  jpeg_create_decompress(&cinfo);
  prepare_range_limit_table(&cinfo);
  int failed = check_idct(&cinfo, 1000000) || check_ycc_rgb(&cinfo, 200000) || check_fancy(&cinfo, 200000);
  jpeg_destroy_decompress(&cinfo);
  return failed;
}
