/** Why a connection was refused; also the `reason` label of fanin_receiver_connections_refused_total. */
export type ConnectionRefusal = 'max_connections' | 'max_connections_per_address';

/**
 * Counts open stream connections overall and per sender address, so one sender (or a flood from many) cannot take
 * every descriptor and every decoder buffer: at the limits, a partial frame per connection bounds the memory held by
 * connections to maxConnections × maxFrameBytes. Each input has its own limiter (syslog TCP and TLS share one).
 *
 * Behind a load balancer speaking the PROXY protocol the sender is known only once the header is read: such a
 * connection takes a slot with address null (it counts toward the total), and assign() then charges it to the sender.
 */
export class ConnectionLimiter {
  readonly #perAddress = new Map<string, number>();
  #open = 0;

  constructor(
    readonly maxConnections: number,
    readonly maxPerAddress: number,
  ) {}

  /** Takes a slot for a connection from `address` (null: not known yet), or says why there is none. */
  acquire(address: string | null): ConnectionRefusal | null {
    if (this.#open >= this.maxConnections) return 'max_connections';
    if (address !== null && !this.#addressHasRoom(address)) return 'max_connections_per_address';
    this.#open++;
    if (address !== null) this.#perAddress.set(address, (this.#perAddress.get(address) ?? 0) + 1);
    return null;
  }

  /** Charges a slot taken with address null to `address`; on refusal the slot stays unaddressed (release it with null). */
  assign(address: string): ConnectionRefusal | null {
    if (!this.#addressHasRoom(address)) return 'max_connections_per_address';
    this.#perAddress.set(address, (this.#perAddress.get(address) ?? 0) + 1);
    return null;
  }

  /** Gives back a slot taken by acquire() (with the address it is charged to); call exactly once per admitted connection. */
  release(address: string | null): void {
    if (address !== null) {
      const fromAddress = this.#perAddress.get(address) ?? 0;
      if (fromAddress <= 1) this.#perAddress.delete(address);
      else this.#perAddress.set(address, fromAddress - 1);
    }
    if (this.#open > 0) this.#open--;
  }

  #addressHasRoom(address: string): boolean {
    return (this.#perAddress.get(address) ?? 0) < this.maxPerAddress;
  }

  get open(): number {
    return this.#open;
  }
}
