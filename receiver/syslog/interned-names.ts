// SD-IDs and PARAM-NAMEs as interned strings, from a small table that remembers the names it has seen.
//
// Why: a sender writes the same few names on every line (Juniper's `junos@2636…` elements, NXLog's `EventID`,
// ESXi's `Originator@6876`), and each becomes an object key. A key made fresh from the line must first be hashed
// and looked up in V8's string table before the property can be found or added; the interned string from the
// table goes straight through V8's property caches (measured faster per RFC 5424 line). @msgpack/msgpack's
// CachedKeyDecoder does the same for map keys.
//
// The table is direct-mapped: a name's slot comes from its length and three of its bytes, a hit is checked byte by
// byte, and a name that collides replaces the one in its slot. So it is bounded (SLOTS names of at most 32 bytes)
// whatever the senders write, and a flood of distinct names only costs what a miss costs.

import { LINE, fieldText } from './line-state.js';

const SLOTS = 1024;
const slots: string[] = new Array<string>(SLOTS).fill('');
/** The longest name a slot holds: an SD-NAME's limit (RFC 5424 6.3.3). */
const NAME_MAX = 32;
/**
 * The bytes of each slot's name, NAME_MAX apart: a name is checked against the line byte by byte here, where a
 * loop over the string's characters would dispatch on its representation for every one.
 */
const slotBytes = new Uint8Array(SLOTS * NAME_MAX);

// Each name also remembers the name that followed it last time (in its SD-ELEMENT: the first PARAM-NAME after
// an SD-ID, the next PARAM-NAME after a PARAM-NAME; the slot START before a line's first SD-ID). A sender writes
// its names in the same order on every line, so the SD reader can check the one name it expects against the
// text, instead of scanning, hashing and comparing the name byte by byte: on the corpus's SD-heavy lines this
// guess is right for nearly every name. A wrong guess only costs the check; what follows a name is a slot
// number, so the table stays bounded and needs no cleaning.
/** The slot before the first SD-ID of a line. */
export const START_SLOT = SLOTS;
/** Slot -> slot of the name that followed it last time, or -1. */
const following = new Int32Array(SLOTS + 1).fill(-1);

/**
 * The name in bytes [start, end) of `line`, interned. The bytes must be printable US-ASCII and at least one (sdName
 * in structured-data.ts checks both), so that one byte is one UTF-16 unit.
 */
export function internedName(line: Buffer, start: number, end: number): string {
  const length = end - start;
  const slot = nameSlot(line, start, end);
  const cached = slots[slot]!;
  if (cached.length === length && isNameInSlot(line, start, slot, length)) {
    LINE.internedSlot = slot;
    return cached;
  }
  const name = interned(fieldText(line, start, end));
  slots[slot] = name;
  const base = slot * NAME_MAX;
  for (let k = 0; k < length; k++) slotBytes[base + k] = line[start + k]!;
  LINE.internedSlot = slot;
  return name;
}

/**
 * Whether the `length` bytes of `line` at `start` are the name in `slot` (whose length the caller has compared).
 */
export function isNameInSlot(line: Buffer, start: number, slot: number, length: number): boolean {
  const bytes = slotBytes;
  const base = slot * NAME_MAX;
  let k = 0;
  while (k < length && bytes[base + k] === line[start + k]) k++;
  return k === length;
}

/** The table slot of the name internedName returned last. */
export function lastSlot(): number {
  return LINE.internedSlot;
}

/** The slot of the name that followed the one in `slot` last time, or -1. */
export function followingSlot(slot: number): number {
  return following[slot]!;
}

/** The name in `slot` (a slot followingSlot gave): '' when none has been interned there. */
export function nameInSlot(slot: number): string {
  return slots[slot]!;
}

/** Remembers that the name in slot `next` followed the one in `slot`. */
export function rememberFollowing(slot: number, next: number): void {
  following[slot] = next;
}

/** The table slot of the name [start, end): a cheap hash, since every hit is checked anyway. */
export function nameSlot(line: Buffer, start: number, end: number): number {
  const length = end - start;
  return (length * 97 + line[start]! * 31 + line[end - 1]! * 7 + line[start + (length >> 1)]!) & (SLOTS - 1);
}

/**
 * The interned form of `text`: V8 interns the property names of an object, and for-in hands them back. A computed
 * key never sets the prototype, so `__proto__` comes back as a name like any other.
 */
function interned(text: string): string {
  for (const key in { [text]: 0 }) return key;
  return text;
}
