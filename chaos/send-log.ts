/** What the sender sent, per sequence number, in columns (a long run sends hundreds of thousands of events). */
export interface SendLog {
  readonly receivers: readonly string[];
  readonly count: number;
  readonly sentAt: Float64Array;
  /** KIND_UNSENT, KIND_FANOUT, KIND_SOLO or KIND_HTTP. */
  readonly kind: Uint8Array;
  /** Bit i set when a copy was handed to receiver i (TCP: written to a live socket; UDP: sent). */
  readonly copies: Uint8Array;
  /** Index of the receiver that got the UDP copy (-1: none). */
  readonly udpTarget: Int8Array;
  readonly soloTarget: Int8Array;
  /** When the deliberate repeat was sent (0: not repeated). */
  readonly repeatAt: Float64Array;
  readonly repeatCopies: Uint8Array;
}

/** No copy could be handed to any receiver: the event does not exist. */
export const KIND_UNSENT = 0;
/** One copy to every receiver. */
export const KIND_FANOUT = 1;
/** Over TCP to one receiver only. */
export const KIND_SOLO = 2;
/** POSTed to one receiver's HTTP input and acknowledged with a 2xx: the receiver took responsibility for it. */
export const KIND_HTTP = 3;
