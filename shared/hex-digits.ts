/**
 * Two lowercase hex digits (ASCII codes) per byte value: HEX_DIGITS[2v] and HEX_DIGITS[2v + 1] for byte v. For
 * writers that put a key's hex straight into a Buffer (event ids, Redis key names) instead of making a hex string.
 */
export const HEX_DIGITS: Uint8Array = (() => {
  const t = new Uint8Array(512);
  const digits = '0123456789abcdef';
  for (let v = 0; v < 256; v++) {
    t[2 * v] = digits.charCodeAt(v >> 4);
    t[2 * v + 1] = digits.charCodeAt(v & 15);
  }
  return t;
})();
