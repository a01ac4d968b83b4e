// Byte-level JSON skipping for bounded scans of bodies the filter reads (prompt regions, model lists). Never
// reads at or past `end`, never recurses: nesting is counted, a truncated value ends at `end`.

/** First index at or after p that is not JSON whitespace. */
export function skipWs(p: usize, end: usize): usize {
  while (p < end) {
    const c = load<u8>(p);
    if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
    p++;
  }
  return p;
}

/** p at an opening quote: index after the closing quote (or end). */
export function skipString(p: usize, end: usize): usize {
  p++;
  while (p < end) {
    const c = load<u8>(p);
    if (c == 0x22) return p + 1;
    p += c == 0x5c ? 2 : 1;
  }
  return end;
}

/** Index after the JSON value at p (after leading whitespace). */
export function skipJsonValue(p: usize, end: usize): usize {
  p = skipWs(p, end);
  if (p >= end) return end;
  const c = load<u8>(p);
  if (c == 0x22) return skipString(p, end);
  if (c == 0x7b || c == 0x5b) {
    let depth = 0;
    while (p < end) {
      const d = load<u8>(p);
      if (d == 0x22) {
        p = skipString(p, end);
        continue;
      }
      if (d == 0x7b || d == 0x5b) depth++;
      else if (d == 0x7d || d == 0x5d) {
        depth--;
        if (depth == 0) return p + 1;
      }
      p++;
    }
    return end;
  }
  while (p < end) {
    const d = load<u8>(p);
    if (d == 0x2c || d == 0x7d || d == 0x5d || d == 0x20 || d == 0x0a || d == 0x0d || d == 0x09) break;
    p++;
  }
  return p;
}
