/** Why a connection was refused; also the `reason` label of fanin_receiver_connections_refused_total. */
export type ConnectionRefusal = 'max_connections' | 'max_connections_per_address';

/**
 * Counts open stream connections overall and per sender address, so one sender (or a flood from many) cannot take
 * every descriptor and every decoder buffer: at the limits, a partial frame per connection bounds the memory held by
 * connections to maxConnections × maxFrameBytes. One limiter is shared by the syslog TCP and TLS listeners.
 */
export class ConnectionLimiter {
  readonly #perAddress = new Map<string, number>();
  #open = 0;

  constructor(readonly maxConnections: number, readonly maxPerAddress: number) {}

  /** Takes a slot for a connection from `address`, or says why there is none. */
  acquire(address: string): ConnectionRefusal | null {
    if (this.#open >= this.maxConnections) return 'max_connections';
    const fromAddress = this.#perAddress.get(address) ?? 0;
    if (fromAddress >= this.maxPerAddress) return 'max_connections_per_address';
    this.#open++;
    this.#perAddress.set(address, fromAddress + 1);
    return null;
  }

  /** Gives back a slot taken by acquire(); call exactly once per admitted connection. */
  release(address: string): void {
    const fromAddress = this.#perAddress.get(address) ?? 0;
    if (fromAddress <= 1) this.#perAddress.delete(address); else this.#perAddress.set(address, fromAddress - 1);
    if (this.#open > 0) this.#open--;
  }

  get open(): number { return this.#open; }
}
