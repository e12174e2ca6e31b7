/**
 * A fresh copy of a timing loop, compiled on its own: `new Function` makes a new function from `source` at every call,
 * with its own type feedback and its own optimised code. A loop shared by the parsers it times sees them all at one
 * call site, and the optimiser inlines the first it meets there and not the others, which favours that one; a copy
 * per parser lets each be treated alike.
 *
 * `source` is the body of a function of `params` that returns the loop; `args` are given for `params`.
 */
export function separateCopy<F>(params: readonly string[], source: string, args: readonly unknown[]): F {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- a separately compiled copy is the point
  const make = new Function(...params, source) as (...a: unknown[]) => F;
  return make(...args);
}
