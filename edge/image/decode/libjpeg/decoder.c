/*
 * A streaming JPEG decoder over libjpeg-turbo (the library and version Pillow links), for the edge and the Node
 * tools: bytes in as they arrive, scanlines out, with libjpeg's defaults (ISLOW IDCT, fancy upsampling, block
 * smoothing), as Pillow decodes. The data source suspends when it runs out of bytes; the caller pushes more and
 * calls again. A libjpeg error stores its message and traps: the caller reads the message and drops the instance.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jpeglib.h"
#include "jerror.h"

typedef struct {
  struct jpeg_decompress_struct cinfo;
  struct jpeg_error_mgr err;
  struct jpeg_source_mgr src;
  JOCTET *buffer;
  size_t capacity;
  size_t skip;    /* bytes still to skip past the data held (skip_input_data beyond it) */
  int ended;      /* no bytes will follow the ones held */
  JSAMPLE *rows;  /* up to ROWS output rows, filled by decoder_read_rows, RGB (with slack after them) */
  int cmyk;       /* libjpeg gives CMYK, turned into RGB in place */
  char message[JMSG_LENGTH_MAX];
} Decoder;

#define ROWS 16
/* Bytes after the rows a reader may touch: the resize reads four bytes per three-byte pixel. */
#define SLACK 16

static void init_source(j_decompress_ptr cinfo) { (void)cinfo; }
static void term_source(j_decompress_ptr cinfo) { (void)cinfo; }

/* Out of bytes: suspend, unless the input has ended, which is a truncated file (Pillow refuses those too). */
static boolean fill_input_buffer(j_decompress_ptr cinfo) {
  Decoder *d = (Decoder *)cinfo;
  if (d->ended) ERREXIT(cinfo, JERR_INPUT_EOF);
  return FALSE;
}

static void skip_input_data(j_decompress_ptr cinfo, long count) {
  Decoder *d = (Decoder *)cinfo;
  if (count <= 0) return;
  if ((size_t)count <= d->src.bytes_in_buffer) {
    d->src.next_input_byte += count;
    d->src.bytes_in_buffer -= (size_t)count;
  } else {
    d->skip += (size_t)count - d->src.bytes_in_buffer;
    d->src.next_input_byte += d->src.bytes_in_buffer;
    d->src.bytes_in_buffer = 0;
  }
}

static void error_exit(j_common_ptr cinfo) {
  Decoder *d = (Decoder *)cinfo;
  (*cinfo->err->format_message)(cinfo, d->message);
  __builtin_trap();
}

/* Warnings (corrupt data libjpeg recovers from) go nowhere, as Pillow ignores them; libjpeg still counts them. */
static void output_message(j_common_ptr cinfo) { (void)cinfo; }

Decoder *decoder_create(void) {
  Decoder *d = calloc(1, sizeof(Decoder));
  if (!d) return NULL;
  d->cinfo.err = jpeg_std_error(&d->err);
  d->err.error_exit = error_exit;
  d->err.output_message = output_message;
  jpeg_create_decompress(&d->cinfo);
  d->src.init_source = init_source;
  d->src.fill_input_buffer = fill_input_buffer;
  d->src.skip_input_data = skip_input_data;
  d->src.resync_to_restart = jpeg_resync_to_restart;
  d->src.term_source = term_source;
  d->cinfo.src = &d->src;
  return d;
}

/* Room for `count` more bytes after those not yet consumed (moved to the start): the caller writes them there. */
JOCTET *decoder_input(Decoder *d, size_t count) {
  size_t held = d->src.bytes_in_buffer;
  if (held + count > d->capacity) {
    size_t capacity = d->capacity ? d->capacity : 65536;
    while (capacity < held + count) capacity *= 2;
    JOCTET *buffer = malloc(capacity);
    if (!buffer) return NULL;
    if (held) memcpy(buffer, d->src.next_input_byte, held);
    free(d->buffer);
    d->buffer = buffer;
    d->capacity = capacity;
  } else if (held && d->src.next_input_byte != d->buffer) {
    memmove(d->buffer, d->src.next_input_byte, held);
  }
  d->src.next_input_byte = d->buffer;
  return d->buffer + held;
}

/* The caller wrote `count` bytes where decoder_input said; `ended`: no more will come. */
void decoder_pushed(Decoder *d, size_t count, int ended) {
  size_t skipped = count < d->skip ? count : d->skip;
  d->skip -= skipped;
  if (skipped) memmove(d->buffer + d->src.bytes_in_buffer, d->buffer + d->src.bytes_in_buffer + skipped, count - skipped);
  d->src.bytes_in_buffer += count - skipped;
  d->ended = ended;
}

/* 1 when the header is read (the fields below are valid), 0 when more bytes are needed. */
int decoder_read_header(Decoder *d) {
  return jpeg_read_header(&d->cinfo, TRUE) == JPEG_HEADER_OK;
}

unsigned decoder_width(Decoder *d) { return d->cinfo.image_width; }
unsigned decoder_height(Decoder *d) { return d->cinfo.image_height; }
const char *decoder_message(Decoder *d) { return d->message; }

/*
 * Starts decompression to RGB as Pillow's `convert("RGB")` makes it: libjpeg converts YCbCr and grey itself; a CMYK
 * or YCCK file is read as CMYK and turned by Pillow's rule. 1 started, 0 more bytes needed.
 */
int decoder_start(Decoder *d) {
  if (!d->rows) {
    J_COLOR_SPACE space = d->cinfo.jpeg_color_space;
    d->cmyk = space == JCS_CMYK || space == JCS_YCCK;
    d->cinfo.out_color_space = d->cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_calc_output_dimensions(&d->cinfo);
    d->rows = malloc((size_t)ROWS * d->cinfo.output_width * d->cinfo.output_components + SLACK);
    if (!d->rows) ERREXIT1(&d->cinfo, JERR_OUT_OF_MEMORY, 99);
  }
  return jpeg_start_decompress(&d->cinfo);
}

/*
 * Pillow's CMYK -> RGB (Convert.c cmyk2rgb) for one ink, on libjpeg's CMYK samples: Pillow opens every 4-component
 * JPEG as "CMYK;I" (Adobe's inverted inks), so its ink is `255 - sample` and its `255 - k` the sample of k.
 */
static JSAMPLE ink(int sample, int k) {
  int t = (255 - sample) * k + 128;
  int v = k - (((t >> 8) + t) >> 8);
  return (JSAMPLE)(v < 0 ? 0 : v);
}

/* Decodes up to ROWS scanlines into decoder_rows(), RGB; the count (0: more bytes needed, or all rows are out). */
int decoder_read_rows(Decoder *d) {
  JSAMPROW pointers[ROWS];
  size_t stride = (size_t)d->cinfo.output_width * d->cinfo.output_components;
  int count = 0;
  while (count < ROWS && d->cinfo.output_scanline < d->cinfo.output_height) {
    for (int i = count; i < ROWS; i++) pointers[i] = d->rows + (size_t)i * stride;
    JDIMENSION read = jpeg_read_scanlines(&d->cinfo, pointers + count, (JDIMENSION)(ROWS - count));
    if (read == 0) break;
    count += (int)read;
  }
  if (d->cmyk) {
    /* In place: each pixel's three bytes land at or before its four. */
    size_t pixels = (size_t)count * d->cinfo.output_width;
    for (size_t i = 0; i < pixels; i++) {
      JSAMPLE *cmyk = d->rows + i * 4, *rgb = d->rows + i * 3;
      int k = cmyk[3];
      JSAMPLE r = ink(cmyk[0], k), g = ink(cmyk[1], k), b = ink(cmyk[2], k);
      rgb[0] = r;
      rgb[1] = g;
      rgb[2] = b;
    }
  }
  return count;
}

JSAMPLE *decoder_rows(Decoder *d) { return d->rows; }

/* Reads what follows the last scanline (EOI): 1 done, 0 more bytes needed. */
int decoder_finish(Decoder *d) { return jpeg_finish_decompress(&d->cinfo); }

void decoder_destroy(Decoder *d) {
  jpeg_destroy_decompress(&d->cinfo);
  free(d->buffer);
  free(d->rows);
  free(d);
}
