/* simd-check.c's fancy upsampling part: jdsample.c's C versions against simd.c's. */
#include "jdsample.c"
#include "simd-check.h"

int check_fancy(j_decompress_ptr cinfo, long rows) {
  jpeg_component_info component;
  /* Rows -1 .. 2 of a component: h2v2 reads the one above and below each of its two input rows. */
  JSAMPLE in[4][MAX_WIDTH], c_out[2][2 * MAX_WIDTH + 16], simd_out[2][2 * MAX_WIDTH + 16];
  JSAMPROW in_rows[4] = {in[0], in[1], in[2], in[3]};
  JSAMPROW c_rows[2] = {c_out[0], c_out[1]}, simd_rows[2] = {simd_out[0], simd_out[1]};
  JSAMPARRAY c_data = c_rows, simd_data = simd_rows;
  for (long n = 0; n < rows; n++) {
    component.downsampled_width = 3 + next_random() % (MAX_WIDTH - 2);
    for (int r = 0; r < 4; r++) random_row(in[r], component.downsampled_width);
    size_t bytes = 2 * component.downsampled_width;
    cinfo->max_v_samp_factor = 1;
    h2v1_fancy_upsample(cinfo, &component, in_rows + 1, &c_data);
    jsimd_h2v1_fancy_upsample(cinfo, &component, in_rows + 1, &simd_data);
    if (memcmp(c_out[0], simd_out[0], bytes)) return fail("jsimd_h2v1_fancy_upsample", n);
    cinfo->max_v_samp_factor = 2;
    h2v2_fancy_upsample(cinfo, &component, in_rows + 1, &c_data);
    jsimd_h2v2_fancy_upsample(cinfo, &component, in_rows + 1, &simd_data);
    if (memcmp(c_out[0], simd_out[0], bytes) || memcmp(c_out[1], simd_out[1], bytes)) {
      return fail("jsimd_h2v2_fancy_upsample", n);
    }
  }
  printf("simd-check: fancy upsampling (h2v1, h2v2) equal on %ld rows\n", rows);
  return 0;
}
