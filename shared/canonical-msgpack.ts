import { Encoder } from '@msgpack/msgpack';

/**
 * A canonical encoding for hashing: map keys sorted, so two copies of one record hash the same whatever order
 * their sender's serializer emitted keys in. Only used for the dedup key, never for transport.
 */
const canonicalEncoder = new Encoder({ sortKeys: true, ignoreUndefined: true });

export function encodeCanonical(value: unknown): Uint8Array {
  return canonicalEncoder.encode(value);
}
