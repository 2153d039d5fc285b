import { ImageError } from "../errors.ts";
import { ascii, startsWith } from "./bytes.ts";
import { DECODED_FRAMES, frameHeader, segments } from "./jpeg-structure.ts";

// A Huffman-coded (baseline, extended, progressive) 8-bit JPEG decoder that reproduces
// libjpeg-turbo 2.1's decompressor (Pillow's) exactly, for what the WebAssembly codec cannot do
// the same way: CMYK/YCCK output, and the 1:2 vertical upsampling its older libjpeg lacks. Same
// arithmetic as libjpeg: the accurate integer IDCT (jidctint.c) with its range-limit table and
// "fancy" triangle upsampling (jdsample.c). Corrupt entropy data is refused instead of being
// patched as libjpeg does.

/** Zigzag position -> natural (row-major) position in an 8x8 block. */
const NATURAL_ORDER = Uint8Array.from([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57,
  50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]);

const ADOBE = ascii("Adobe");
const JFIF = ascii("JFIF\0");

const corrupt = (message: string) => new ImageError("corrupt_image", `JPEG ${message}`);

interface HuffmanTable {
  /** For the next 8 bits: (code length << 8) | value when a code of at most 8 bits matches, else 0. */
  readonly lookup: Uint16Array;
  /** Largest code of each length 1..16 (-1 when none), smallest code, and the index of its value. */
  readonly maxCode: Int32Array;
  readonly minCode: Int32Array;
  readonly valueIndex: Int32Array;
  readonly values: Uint8Array;
}

function huffmanTable(counts: Uint8Array, values: Uint8Array): HuffmanTable {
  const lookup = new Uint16Array(256);
  const maxCode = new Int32Array(18).fill(-1);
  const minCode = new Int32Array(17);
  const valueIndex = new Int32Array(17);
  let code = 0;
  let k = 0;
  for (let length = 1; length <= 16; length++) {
    const n = counts[length - 1]!;
    valueIndex[length] = k;
    minCode[length] = code;
    for (let i = 0; i < n && length <= 8; i++) {
      const first = (code + i) << (8 - length);
      lookup.fill((length << 8) | values[k + i]!, first, first + (1 << (8 - length)));
    }
    code += n;
    k += n;
    if (n > 0) maxCode[length] = code - 1;
    if (code > 1 << length) throw corrupt("Huffman table is invalid");
    code <<= 1;
  }
  return { lookup, maxCode, minCode, valueIndex, values };
}

/** Entropy-coded bits, with 0xFF00 unstuffed; at a marker it yields zeros, as libjpeg does. */
class BitReader {
  private readonly data: Uint8Array;
  private at = 0;
  /** The low `count` bits are unread, most significant first. */
  private buffer = 0;
  private count = 0;

  constructor(data: Uint8Array) {
    this.data = data;
  }

  /** The next `n` bits (0 <= n <= 16) as an unsigned number. */
  bits(n: number): number {
    if (this.count < n) this.fill();
    this.count -= n;
    return (this.buffer >>> this.count) & ((1 << n) - 1);
  }

  bit(): number {
    return this.bits(1);
  }

  /** A value of `n` bits, sign-extended as JPEG codes magnitudes (libjpeg's HUFF_EXTEND). */
  extended(n: number): number {
    if (n === 0) return 0;
    const value = this.bits(n);
    return value < 1 << (n - 1) ? value - (1 << n) + 1 : value;
  }

  decode(table: HuffmanTable): number {
    if (this.count < 16) this.fill();
    const look = (this.buffer >>> (this.count - 8)) & 255;
    const entry = table.lookup[look]!;
    if (entry !== 0) {
      this.count -= entry >> 8;
      return entry & 255;
    }
    let code = look;
    for (let length = 9; length <= 16; length++) {
      code = (code << 1) | ((this.buffer >>> (this.count - length)) & 1);
      if (code <= table.maxCode[length]!) {
        this.count -= length;
        return table.values[table.valueIndex[length]! + code - table.minCode[length]!]!;
      }
    }
    throw corrupt("entropy data holds a bad Huffman code");
  }

  /** Drops the buffered bits and steps over the restart marker that must come next. */
  restart(expected: number): void {
    this.count = 0;
    const { data } = this;
    // Skip to the next marker, over any fill bytes (0xFF) before it.
    while (this.at + 1 < data.length && !(data[this.at] === 0xff && data[this.at + 1] !== 0)) this.at++;
    while (data[this.at + 1] === 0xff) this.at++;
    if (data[this.at] !== 0xff || data[this.at + 1] !== 0xd0 + expected) {
      throw corrupt(`restart marker RST${expected} is missing`);
    }
    this.at += 2;
  }

  /** Tops the buffer up to more than 24 bits; never reads past a marker. */
  private fill(): void {
    while (this.count <= 24) {
      this.buffer = ((this.buffer << 8) | this.nextByte()) >>> 0;
      this.count += 8;
    }
  }

  private nextByte(): number {
    const { data } = this;
    if (this.at >= data.length) return 0;
    const byte = data[this.at]!;
    if (byte !== 0xff) {
      this.at++;
      return byte;
    }
    if (data[this.at + 1] === 0) {
      this.at += 2;
      return 0xff;
    }
    return 0;
  }
}

interface Component {
  readonly id: number;
  readonly h: number;
  readonly v: number;
  readonly tableId: number;
  /** Size of the component in samples (libjpeg's downsampled_width/height) and in blocks. */
  readonly width: number;
  readonly height: number;
  readonly blocksWide: number;
  readonly blocksHigh: number;
  /** Blocks per stored row: `blocksWide` rounded up to whole MCUs. */
  readonly stride: number;
  /** Quantized DCT coefficients, natural order, 64 per block; dropped once transformed, to bound memory. */
  coefficients: Int16Array;
  /** The quantization table, natural order, latched when the component's first scan starts. */
  quant?: Uint16Array;
  dcPredictor: number;
}

interface Frame {
  readonly width: number;
  readonly height: number;
  readonly progressive: boolean;
  readonly components: readonly Component[];
  readonly hMax: number;
  readonly vMax: number;
  readonly mcusWide: number;
  readonly mcusHigh: number;
}

export interface JpegPlanes {
  readonly width: number;
  readonly height: number;
  /** One full-size plane per component (`width * height` samples), upsampled, before colour conversion. */
  readonly planes: readonly Uint8Array[];
  readonly componentIds: readonly number[];
  /** libjpeg's colour-space clues: whether a JFIF APP0 marker is present, the Adobe APP14 transform if one is. */
  readonly jfif: boolean;
  readonly adobeTransform?: number;
}

/** Decodes every component of a JPEG to a full-size plane, as libjpeg-turbo's decompressor does. */
export function decodeJpegPlanes(bytes: Uint8Array): JpegPlanes {
  const quantTables: (Uint16Array | undefined)[] = [];
  const dcTables: (HuffmanTable | undefined)[] = [];
  const acTables: (HuffmanTable | undefined)[] = [];
  let frame: Frame | undefined;
  let restartInterval = 0;
  let adobeTransform: number | undefined;
  let jfif = false;
  let ended = false;
  for (const { marker, payload, entropy } of segments(bytes, { throughScans: true })) {
    if (marker === 0xdb) readQuantTables(payload, quantTables);
    else if (marker === 0xc4) readHuffmanTables(payload, dcTables, acTables);
    else if (marker === 0xdd) restartInterval = payload.length >= 2 ? (payload[0]! << 8) | payload[1]! : 0;
    else if (marker === 0xee && payload.length >= 12 && startsWith(payload, ADOBE)) adobeTransform = payload[11];
    else if (marker === 0xe0 && payload.length >= 14 && startsWith(payload, JFIF)) jfif = true;
    else if (marker in DECODED_FRAMES) {
      if (frame) throw corrupt("has two frame headers");
      frame = readFrame(payload, marker === 0xc2);
    } else if (marker === 0xda) {
      if (!frame) throw corrupt("scan comes before the frame header");
      const scan = readScan(payload, frame, dcTables, acTables);
      for (const c of scan.components) c.quant ??= quantTables[c.tableId]?.slice();
      decodeScan(frame, scan, new BitReader(entropy ?? new Uint8Array()), restartInterval);
    } else if (marker === 0xd9) ended = true;
  }
  if (!frame) throw corrupt("has no frame header");
  if (!ended) throw corrupt("is truncated (no end-of-image marker after its scans)");
  const { width, height, hMax, vMax } = frame;
  const planes = frame.components.map((c) => {
    if (!c.quant) throw corrupt(`component ${c.id} has no quantization table or no scan`);
    const plane = upsample(inverseDct(c), c, hMax, vMax, width, height);
    c.coefficients = new Int16Array(0);
    return plane;
  });
  const componentIds = frame.components.map((c) => c.id);
  return { width, height, planes, componentIds, jfif, ...(adobeTransform !== undefined && { adobeTransform }) };
}

function readQuantTables(payload: Uint8Array, tables: (Uint16Array | undefined)[]): void {
  for (let at = 0; at < payload.length; ) {
    const precision = payload[at]! >> 4;
    const id = payload[at]! & 15;
    const size = precision === 0 ? 64 : 128;
    if (id > 3 || at + 1 + size > payload.length) throw corrupt("quantization table is invalid");
    const table = new Uint16Array(64);
    for (let k = 0; k < 64; k++) {
      const p = at + 1 + (precision === 0 ? k : 2 * k);
      table[NATURAL_ORDER[k]!] = precision === 0 ? payload[p]! : (payload[p]! << 8) | payload[p + 1]!;
    }
    tables[id] = table;
    at += 1 + size;
  }
}

function readHuffmanTables(payload: Uint8Array, dc: (HuffmanTable | undefined)[], ac: (HuffmanTable | undefined)[]) {
  for (let at = 0; at < payload.length; ) {
    const kind = payload[at]! >> 4;
    const id = payload[at]! & 15;
    const counts = payload.subarray(at + 1, at + 17);
    const total = counts.reduce((n, c) => n + c, 0);
    if (kind > 1 || id > 3 || counts.length < 16 || total > 256 || at + 17 + total > payload.length) {
      throw corrupt("Huffman table is invalid");
    }
    (kind === 0 ? dc : ac)[id] = huffmanTable(counts, payload.slice(at + 17, at + 17 + total));
    at += 17 + total;
  }
}

function readFrame(payload: Uint8Array, progressive: boolean): Frame {
  const { width, height, components: specs } = frameHeader(payload);
  const hMax = Math.max(...specs.map((s) => s.h));
  const vMax = Math.max(...specs.map((s) => s.v));
  const mcusWide = Math.ceil(width / (8 * hMax));
  const mcusHigh = Math.ceil(height / (8 * vMax));
  const components = specs.map((s): Component => {
    const stride = mcusWide * s.h;
    return {
      ...s,
      width: Math.ceil((width * s.h) / hMax),
      height: Math.ceil((height * s.v) / vMax),
      blocksWide: Math.ceil((width * s.h) / (8 * hMax)),
      blocksHigh: Math.ceil((height * s.v) / (8 * vMax)),
      stride,
      coefficients: new Int16Array(stride * mcusHigh * s.v * 64),
      dcPredictor: 0,
    };
  });
  return { width, height, progressive, components, hMax, vMax, mcusWide, mcusHigh };
}

interface Scan {
  readonly components: readonly Component[];
  readonly dc: readonly (HuffmanTable | undefined)[];
  readonly ac: readonly (HuffmanTable | undefined)[];
  readonly start: number;
  readonly end: number;
  readonly high: number;
  readonly low: number;
}

function readScan(
  payload: Uint8Array,
  frame: Frame,
  dcTables: readonly (HuffmanTable | undefined)[],
  acTables: readonly (HuffmanTable | undefined)[],
): Scan {
  const count = payload[0]!;
  if (count < 1 || count > 4 || payload.length < 4 + 2 * count) throw corrupt("scan header is invalid");
  const components: Component[] = [];
  const dc: (HuffmanTable | undefined)[] = [];
  const ac: (HuffmanTable | undefined)[] = [];
  for (let i = 0; i < count; i++) {
    const id = payload[1 + 2 * i]!;
    const component = frame.components.find((c) => c.id === id);
    if (!component) throw corrupt(`scan names an unknown component ${id}`);
    components.push(component);
    dc.push(dcTables[payload[2 + 2 * i]! >> 4]);
    ac.push(acTables[payload[2 + 2 * i]! & 15]);
  }
  const at = 1 + 2 * count;
  const start = payload[at]!;
  const end = frame.progressive ? payload[at + 1]! : 63;
  const high = frame.progressive ? payload[at + 2]! >> 4 : 0;
  const low = frame.progressive ? payload[at + 2]! & 15 : 0;
  const valid = frame.progressive ? start <= end && end <= 63 && (start === 0 ? end === 0 : count === 1) && low <= 13 : start === 0;
  if (!valid) throw corrupt("scan has an invalid spectral selection");
  return { components, dc, ac, start, end, high, low };
}

function decodeScan(frame: Frame, scan: Scan, reader: BitReader, restartInterval: number): void {
  const decodeBlock = blockDecoder(frame, scan, reader);
  for (const c of scan.components) c.dcPredictor = 0;
  const state = { eobRun: 0 };
  const single = scan.components.length === 1 ? scan.components[0]! : undefined;
  // A scan of one component walks its blocks in raster order (one block per MCU); otherwise MCUs.
  const mcusWide = single ? single.blocksWide : frame.mcusWide;
  const total = mcusWide * (single ? single.blocksHigh : frame.mcusHigh);
  let restarts = 0;
  for (let mcu = 0; mcu < total; mcu++) {
    if (restartInterval > 0 && mcu > 0 && mcu % restartInterval === 0) {
      reader.restart(restarts++ & 7);
      for (const c of scan.components) c.dcPredictor = 0;
      state.eobRun = 0;
    }
    const row = Math.floor(mcu / mcusWide);
    const column = mcu % mcusWide;
    if (single) {
      decodeBlock(single, 0, (row * single.stride + column) * 64, state);
      continue;
    }
    for (let i = 0; i < scan.components.length; i++) {
      const c = scan.components[i]!;
      for (let v = 0; v < c.v; v++) {
        for (let h = 0; h < c.h; h++) {
          decodeBlock(c, i, ((row * c.v + v) * c.stride + column * c.h + h) * 64, state);
        }
      }
    }
  }
}

type BlockDecoder = (c: Component, index: number, offset: number, state: { eobRun: number }) => void;

/** The block decoder of a scan's kind: sequential, or one of the four progressive passes (jdhuff.c, jdphuff.c). */
function blockDecoder(frame: Frame, scan: Scan, reader: BitReader): BlockDecoder {
  const { start, end, high, low } = scan;
  const table = (tables: readonly (HuffmanTable | undefined)[], index: number) => {
    const t = tables[index];
    if (!t) throw corrupt("scan uses an undefined Huffman table");
    return t;
  };
  if (!frame.progressive) {
    return (c, i, offset) => {
      const coef = c.coefficients;
      c.dcPredictor += reader.extended(reader.decode(table(scan.dc, i)));
      coef[offset] = c.dcPredictor;
      const ac = table(scan.ac, i);
      for (let k = 1; k < 64; k++) {
        const rs = reader.decode(ac);
        const r = rs >> 4;
        const s = rs & 15;
        if (s) {
          k += r;
          if (k > 63) throw corrupt("entropy data overruns a block");
          coef[offset + NATURAL_ORDER[k]!] = reader.extended(s);
        } else if (r === 15) k += 15;
        else break;
      }
    };
  }
  if (start === 0) {
    if (high === 0) {
      return (c, i, offset) => {
        c.dcPredictor += reader.extended(reader.decode(table(scan.dc, i)));
        c.coefficients[offset] = c.dcPredictor * 2 ** low;
      };
    }
    return (c, _i, offset) => {
      if (reader.bit()) c.coefficients[offset]! |= 1 << low;
    };
  }
  const ac = table(scan.ac, 0);
  if (high === 0) {
    return (c, _i, offset, state) => {
      if (state.eobRun > 0) {
        state.eobRun--;
        return;
      }
      for (let k = start; k <= end; k++) {
        const rs = reader.decode(ac);
        const r = rs >> 4;
        const s = rs & 15;
        if (s) {
          k += r;
          if (k > 63) throw corrupt("entropy data overruns a block");
          c.coefficients[offset + NATURAL_ORDER[k]!] = reader.extended(s) * 2 ** low;
        } else if (r === 15) k += 15;
        else {
          state.eobRun = (1 << r) + reader.bits(r) - 1;
          break;
        }
      }
    };
  }
  const plus = 1 << low;
  const minus = -1 << low;
  return (c, _i, offset, state) => {
    const coef = c.coefficients;
    /** The correction bit of an already nonzero coefficient: grows its magnitude by one step. */
    const refine = (p: number) => {
      if (reader.bit() && (coef[p]! & plus) === 0) coef[p]! += coef[p]! >= 0 ? plus : minus;
    };
    let k = start;
    if (state.eobRun === 0) {
      for (; k <= end; k++) {
        const rs = reader.decode(ac);
        let r = rs >> 4;
        let value = 0;
        if (rs & 15) value = reader.bit() ? plus : minus;
        else if (r !== 15) {
          state.eobRun = (1 << r) + reader.bits(r);
          break;
        }
        for (; k <= end; k++) {
          const p = offset + NATURAL_ORDER[k]!;
          if (coef[p] !== 0) refine(p);
          else if (--r < 0) break;
        }
        if (value !== 0) {
          if (k > 63) throw corrupt("entropy data overruns a block");
          coef[offset + NATURAL_ORDER[k]!] = value;
        }
      }
    }
    if (state.eobRun > 0) {
      for (; k <= end; k++) {
        const p = offset + NATURAL_ORDER[k]!;
        if (coef[p] !== 0) refine(p);
      }
      state.eobRun--;
    }
  };
}

// jidctint.c: 13-bit fixed-point constants, 2 extra bits between the passes.
const CONST_BITS = 13;
const PASS1_BITS = 2;
const FIX_0_298631336 = 2446;
const FIX_0_390180644 = 3196;
const FIX_0_541196100 = 4433;
const FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373;
const FIX_1_175875602 = 9633;
const FIX_1_501321110 = 12299;
const FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069;
const FIX_2_053119869 = 16819;
const FIX_2_562915447 = 20995;
const FIX_3_072711026 = 25172;

/**
 * libjpeg's DESCALE: add half, then an arithmetic shift right; exact on the 64-bit values libjpeg
 * uses on x86-64 (a 32-bit shift where the value fits, which is almost always).
 */
function descale(x: number, n: number): number {
  const rounded = x + (1 << (n - 1));
  return rounded >= -0x80000000 && rounded <= 0x7fffffff ? rounded >> n : Math.floor(rounded / 2 ** n);
}

/**
 * The post-IDCT range limit (jdmaster.c prepare_range_limit_table), indexed by the descaled value
 * masked to 10 bits: -128..127 -> 0..255, larger values -> 255, smaller -> 0, wrapping beyond.
 */
const RANGE_LIMIT = Uint8Array.from({ length: 1024 }, (_, i) => (i < 128 ? i + 128 : i < 512 ? 255 : i < 896 ? 0 : i - 896));

/**
 * One 1-D pass of the ISLOW IDCT over 8 values `input[at + k * step]`, outputs (before descaling)
 * to `out[0..7]`. Plain numbers: exact integers, as libjpeg's 64-bit arithmetic on x86-64.
 */
function idct1d(input: Float64Array, at: number, step: number, out: Float64Array): void {
  const x0 = input[at]!;
  const x1 = input[at + step]!;
  const x2 = input[at + 2 * step]!;
  const x3 = input[at + 3 * step]!;
  const x4 = input[at + 4 * step]!;
  const x5 = input[at + 5 * step]!;
  const x6 = input[at + 6 * step]!;
  const x7 = input[at + 7 * step]!;
  // Even part.
  const z1e = (x2 + x6) * FIX_0_541196100;
  const tmp2e = z1e + x6 * -FIX_1_847759065;
  const tmp3e = z1e + x2 * FIX_0_765366865;
  const tmp0e = (x0 + x4) * 2 ** CONST_BITS;
  const tmp1e = (x0 - x4) * 2 ** CONST_BITS;
  const tmp10 = tmp0e + tmp3e;
  const tmp13 = tmp0e - tmp3e;
  const tmp11 = tmp1e + tmp2e;
  const tmp12 = tmp1e - tmp2e;
  // Odd part.
  const z5 = (x7 + x3 + x5 + x1) * FIX_1_175875602;
  const z1 = (x7 + x1) * -FIX_0_899976223;
  const z2 = (x5 + x3) * -FIX_2_562915447;
  const z3 = (x7 + x3) * -FIX_1_961570560 + z5;
  const z4 = (x5 + x1) * -FIX_0_390180644 + z5;
  const tmp0 = x7 * FIX_0_298631336 + z1 + z3;
  const tmp1 = x5 * FIX_2_053119869 + z2 + z4;
  const tmp2 = x3 * FIX_3_072711026 + z2 + z3;
  const tmp3 = x1 * FIX_1_501321110 + z1 + z4;
  out[0] = tmp10 + tmp3;
  out[7] = tmp10 - tmp3;
  out[1] = tmp11 + tmp2;
  out[6] = tmp11 - tmp2;
  out[2] = tmp12 + tmp1;
  out[5] = tmp12 - tmp1;
  out[3] = tmp13 + tmp0;
  out[4] = tmp13 - tmp0;
}

/** Dequantizes and inverse-transforms every block (jpeg_idct_islow, zero-AC shortcuts included). */
function inverseDct(c: Component): { samples: Uint8Array; stride: number } {
  const quant = c.quant!;
  const coef = c.coefficients;
  const stride = c.stride * 8;
  const rows = coef.length / 64 / c.stride;
  const samples = new Uint8Array(stride * rows * 8);
  const dequantized = new Float64Array(64);
  // libjpeg keeps the pass-1 results in an int workspace.
  const workspace = new Int32Array(64);
  const row = new Float64Array(8);
  const result = new Float64Array(8);
  for (let by = 0; by < rows; by++) {
    for (let bx = 0; bx < c.stride; bx++) {
      const block = (by * c.stride + bx) * 64;
      let dcOnly = true;
      for (let i = 1; i < 64 && dcOnly; i++) dcOnly = coef[block + i] === 0;
      if (dcOnly) {
        // Both passes take their zero-AC shortcut: the block is one value.
        const value = RANGE_LIMIT[descale(coef[block]! * quant[0]! * 2 ** PASS1_BITS, PASS1_BITS + 3) & 1023]!;
        for (let y = 0; y < 8; y++) {
          const out = (by * 8 + y) * stride + bx * 8;
          samples.fill(value, out, out + 8);
        }
        continue;
      }
      for (let i = 0; i < 64; i++) dequantized[i] = coef[block + i]! * quant[i]!;
      for (let x = 0; x < 8; x++) {
        let acZero = true;
        for (let y = 1; y < 8 && acZero; y++) acZero = coef[block + 8 * y + x] === 0;
        if (acZero) {
          const dc = dequantized[x]! * 2 ** PASS1_BITS;
          for (let y = 0; y < 8; y++) workspace[8 * y + x] = dc;
          continue;
        }
        idct1d(dequantized, x, 8, result);
        for (let y = 0; y < 8; y++) workspace[8 * y + x] = descale(result[y]!, CONST_BITS - PASS1_BITS);
      }
      for (let y = 0; y < 8; y++) {
        const out = (by * 8 + y) * stride + bx * 8;
        const w = 8 * y;
        let acZero = true;
        for (let x = 1; x < 8 && acZero; x++) acZero = workspace[w + x] === 0;
        if (acZero) {
          samples.fill(RANGE_LIMIT[descale(workspace[w]!, PASS1_BITS + 3) & 1023]!, out, out + 8);
          continue;
        }
        for (let x = 0; x < 8; x++) row[x] = workspace[w + x]!;
        idct1d(row, 0, 1, result);
        for (let x = 0; x < 8; x++) {
          samples[out + x] = RANGE_LIMIT[descale(result[x]!, CONST_BITS + PASS1_BITS + 3) & 1023]!;
        }
      }
    }
  }
  return { samples, stride };
}

/**
 * Brings a component to full size and crops it to the image (jdsample.c): fancy (triangle)
 * upsampling for 2:1 horizontally (components wider than 2 samples), 2:1 both ways (likewise) and
 * 1:2 vertically; plain replication for every other integer ratio. Rows above the first and below
 * the last repeat them, as libjpeg's context rows do.
 */
function upsample(
  { samples, stride }: { samples: Uint8Array; stride: number },
  c: Component,
  hMax: number,
  vMax: number,
  width: number,
  height: number,
): Uint8Array {
  const hx = hMax / c.h;
  const vx = vMax / c.v;
  if (!Number.isInteger(hx) || !Number.isInteger(vx)) {
    throw new ImageError("unsupported_format", "JPEG has fractional sampling ratios");
  }
  const out = new Uint8Array(width * height);
  const fancyH = hx === 2 && c.width > 2 && (vx === 1 || vx === 2);
  const fancyV = vx === 2 && (hx === 1 || fancyH);
  const rowAt = (y: number) => Math.min(Math.max(y, 0), c.height - 1) * stride;
  // Per output row: the input row, or for vertical fancy the column sums 3 * nearer + further.
  const sums = new Int32Array(stride);
  for (let y = 0; y < height; y++) {
    const o = y * width;
    const near = rowAt(Math.floor(y / vx));
    if (fancyV) {
      const far = rowAt((y >> 1) + (y & 1 ? 1 : -1));
      for (let x = 0; x < c.width; x++) sums[x] = samples[near + x]! * 3 + samples[far + x]!;
    } else {
      for (let x = 0; x < c.width; x++) sums[x] = samples[near + x]!;
    }
    if (fancyH) {
      // h2v1: (3 * nearer + further + 1 or 2) >> 2, the outermost samples copied; h2v2 on the
      // column sums: (3 * nearer + further + 8 or 7) >> 4, the outermost (4 * sum + 8 or 7) >> 4.
      const [even, odd, shift] = fancyV ? [8, 7, 4] : [1, 2, 2];
      const edge = (sum: number, bias: number) => (fancyV ? (sum * 4 + bias) >> 4 : sum);
      const last = c.width - 1;
      for (let x = 0; x < width; x++) {
        const sx = x >> 1;
        const here = sums[sx]!;
        if (x & 1) out[o + x] = sx === last ? edge(here, odd) : (here * 3 + sums[sx + 1]! + odd) >> shift;
        else out[o + x] = sx === 0 ? edge(here, even) : (here * 3 + sums[sx - 1]! + even) >> shift;
      }
    } else if (fancyV) {
      // h1v2: (3 * nearer + further + 1 above or 2 below) >> 2.
      const bias = y & 1 ? 2 : 1;
      for (let x = 0; x < width; x++) out[o + x] = (sums[x]! + bias) >> 2;
    } else {
      for (let x = 0; x < width; x++) out[o + x] = sums[Math.floor(x / hx)]!;
    }
  }
  return out;
}
