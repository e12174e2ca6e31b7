import { createHash } from 'node:crypto';
import { Command } from 'ioredis';
import type { RedisClient } from '../shared/redis-client.js';
import { hashSlot } from './hash-slot.js';
import { HEX_DIGITS as HEX } from '../shared/hex-digits.js';

/**
 * One call of a Lua script with many keys, written as RESP bytes straight into one Buffer: the same bytes ioredis
 * writes for `defineCommand`'s EVALSHA, without making a string per key. The worker names one Redis key per event
 * of every batch, `<prefix><event key in hex>`: through ioredis's own command each becomes a hex slice, a key name,
 * an argument and several pieces of a command string the socket then flattens and converts, and all of it stays on
 * the heap until Redis answers, with every batch in flight. Here each key is its prefix's bytes copied and 16 bytes
 * written as hex.
 *
 * The script is sent the way ioredis's `defineCommand` sends it: EVAL the first time on each connection (which
 * loads it), EVALSHA after, and once more as EVAL after a NOSCRIPT (a flushed script cache, a promoted replica).
 * Keys must all hash to one slot (a Redis Cluster runs the call on that slot's master); a client `keyPrefix` is not
 * applied.
 */

/** The keys and arguments of one call. */
export interface ScriptCallParts {
  /** Keys given as strings, first (KEYS[1], …). */
  readonly leadingKeys: readonly string[];
  /**
   * Then one key per index: its prefix (`prefixes[prefixAt(index)]`), then bytes [index × width, + width) of
   * `keyBytes` in hex.
   */
  readonly keyBytes: Uint8Array;
  readonly width: number;
  readonly indices: readonly number[];
  readonly prefixes: readonly string[];
  readonly prefixAt: (index: number) => number;
  /** Then keys given as strings again. */
  readonly trailingKeys: readonly string[];
  /** ARGV: numbers are written in decimal, as ioredis writes them. */
  readonly args: readonly (string | number)[];
}

/** A bulk string: `$<byte length>\r\n<bytes>\r\n`. */
function bulk(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from(`$${bytes.length}\r\n`, 'latin1'), bytes, Buffer.from('\r\n', 'latin1')]);
}

/** The script and the connections it is known to be loaded on. */
export class LoadedScript {
  readonly sha: string;
  private readonly lua: Buffer;
  private readonly loadedOn = new WeakSet<object>();

  constructor(lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
    this.lua = bulk(lua);
  }

  /** Encodes the call (everything after the command name and script), ready for either form of the command. */
  encode(parts: ScriptCallParts): EncodedScriptCall {
    const { leadingKeys, keyBytes, width, indices, prefixes, prefixAt, trailingKeys, args } = parts;
    const keyCount = leadingKeys.length + indices.length + trailingKeys.length;
    const strings = [String(keyCount), ...leadingKeys].map(bulk);
    const tail = [...trailingKeys, ...args.map(String)].map(bulk);
    // Every key of one prefix has the same length: `$<length>\r\n<prefix>` is written once per prefix.
    const heads = prefixes.map((p) => {
      const prefix = Buffer.from(p, 'utf8');
      return Buffer.concat([Buffer.from(`$${prefix.length + 2 * width}\r\n`, 'latin1'), prefix]);
    });
    let size = 0;
    for (const s of strings) size += s.length;
    for (const t of tail) size += t.length;
    for (const i of indices) size += heads[prefixAt(i)]!.length + 2 * width + 2;
    const argCount = 2 + keyCount + args.length; // script, key count, keys, ARGV
    const evalshaHead = Buffer.from(`*${argCount + 1}\r\n$7\r\nevalsha\r\n$40\r\n${this.sha}\r\n`, 'latin1');
    const bytes = Buffer.allocUnsafe(evalshaHead.length + size);
    evalshaHead.copy(bytes, 0);
    let p = evalshaHead.length;
    for (const s of strings) p += s.copy(bytes, p);
    for (const i of indices) {
      const head = heads[prefixAt(i)]!;
      for (let j = 0; j < head.length; j++) bytes[p++] = head[j]!;
      for (let j = i * width, end = j + width; j < end; j++) {
        const v = keyBytes[j]! << 1;
        bytes[p++] = HEX[v]!;
        bytes[p++] = HEX[v + 1]!;
      }
      bytes[p++] = 0x0d;
      bytes[p++] = 0x0a;
    }
    for (const t of tail) p += t.copy(bytes, p);
    if (p !== bytes.length) throw new RangeError(`script call: wrote ${p} of ${bytes.length} bytes`);
    const firstKey = leadingKeys[0] ?? trailingKeys[0] ?? prefixes[prefixAt(indices[0]!)]!;
    return { bytes, bodyAt: evalshaHead.length, argCount, keyCount, firstKey, slot: hashSlot(firstKey) };
  }

  /** Sends the call; resolves with the script's reply (bulk strings as UTF-8 strings). */
  run(client: RedisClient, call: EncodedScriptCall): Promise<unknown> {
    const first = new ScriptCommand(this, call);
    const reply = first.promise.catch((err: Error) => {
      if (!err.message.includes('NOSCRIPT')) throw err;
      const again = new ScriptCommand(this, call); // forgotten on that connection: this one is sent as EVAL
      void client.sendCommand(again);
      return again.promise;
    });
    void client.sendCommand(first);
    return reply as Promise<unknown>;
  }

  /** The bytes to write on `socket`: EVAL with the script if it is not known to be loaded there, else EVALSHA. */
  bytesFor(socket: object, call: EncodedScriptCall, command: Command): Buffer {
    if (this.loadedOn.has(socket)) {
      command.name = 'evalsha';
      return call.bytes;
    }
    this.loadedOn.add(socket);
    command.name = 'eval';
    const head = Buffer.from(`*${call.argCount + 1}\r\n$4\r\neval\r\n`, 'latin1');
    return Buffer.concat([head, this.lua, call.bytes.subarray(call.bodyAt)]);
  }

  forget(socket: object): void {
    this.loadedOn.delete(socket);
  }
}

export interface EncodedScriptCall {
  /** The whole EVALSHA command. */
  readonly bytes: Buffer;
  /** Where the key count starts: what follows the script's sha. */
  readonly bodyAt: number;
  /** Arguments after the command name. */
  readonly argCount: number;
  readonly keyCount: number;
  /** The first key (its prefix when it is an event key), for ioredis's key lookups. */
  readonly firstKey: string;
  /** The Redis Cluster hash slot of its keys. */
  readonly slot: number;
}

/** ioredis's command, writing bytes encoded beforehand; a Cluster routes it by the slot given. */
class ScriptCommand extends Command {
  /** The connection it was last written to. */
  private socket: object | null = null;

  constructor(
    private readonly script: LoadedScript,
    private readonly call: EncodedScriptCall,
  ) {
    // The sha and key count are all ioredis keeps of the arguments (error details, tracing).
    super('evalsha', [script.sha, call.keyCount], { replyEncoding: 'utf8' });
    const reject = this.reject;
    this.reject = (err: Error) => {
      if (this.socket !== null && err.message.includes('NOSCRIPT')) script.forget(this.socket);
      reject.call(this, err);
    };
  }

  override toWritable(socket: object): Buffer {
    this.socket = socket;
    return this.script.bytesFor(socket, this.call, this);
  }

  override getSlot(): number {
    return this.call.slot;
  }

  override getKeys(): string[] {
    return [this.call.firstKey];
  }
}
