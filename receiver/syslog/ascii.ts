// The ASCII bytes the syslog grammars name, as a const enum: TypeScript writes each use as the number itself.
// A module-level `const SP = 0x20` is a binding that V8's optimising compiler loads and checks for the
// uninitialised hole at every use (it cannot rule out a call before the module ran), and the readers compare
// bytes with these in their innermost loops.

export const enum Ascii {
  SP = 0x20,
  QUOTE = 0x22,
  PERCENT = 0x25,
  /** '-', RFC 5424's NILVALUE. */
  NIL = 0x2d,
  SLASH = 0x2f,
  /** '0': a digit's value is its byte minus D0. */
  D0 = 0x30,
  COLON = 0x3a,
  LT = 0x3c,
  EQUALS = 0x3d,
  GT = 0x3e,
  /** '[' */
  OPEN = 0x5b,
  BACKSLASH = 0x5c,
  /** ']' */
  CLOSE = 0x5d,
}
