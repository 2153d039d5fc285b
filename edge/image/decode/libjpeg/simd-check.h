/* What the two files of simd-check share. */
#include <stdint.h>
#include <stdio.h>

#include "jpeglib.h"

#define MAX_WIDTH 67

uint32_t next_random(void);
/* Random samples, with one at an extreme of the range. */
void random_row(JSAMPLE *row, JDIMENSION width);
/* Reports a difference; returns 1. */
int fail(const char *what, long index);
int check_fancy(j_decompress_ptr cinfo, long rows);
