// Python's str.isspace() set (Unicode White_Space minus U+180E, plus the ASCII separators U+001C–U+001F):
// the characters `str.strip()` removes. JavaScript's trim() differs (it strips U+FEFF and keeps U+001C–U+001F
// and U+0085), so the template cannot use it. Every member is in the BMP, so code units suffice.
const PYTHON_WHITESPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
  0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);

/** Python's `text.strip()`. Scans from both ends (linear, unlike a `\s+$` regex on long whitespace runs). */
export function pythonStrip(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && PYTHON_WHITESPACE.has(text.charCodeAt(start))) start++;
  while (end > start && PYTHON_WHITESPACE.has(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}
