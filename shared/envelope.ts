/**
 * The event envelope: what a receiver knows of one event. A receiver encodes it once (msgpack) and the bytes travel
 * unchanged to the sinks; the worker never decodes them. Field names are the sink's output names (docs/design.md §5).
 */
export type EventFormat = 'rfc5424' | 'rfc3164' | 'forward' | 'http' | 'raw';
export type Transport = 'udp' | 'tcp' | 'tls' | 'http' | 'forward' | 'relp';

export interface EventEnvelope {
  tag: string;
  /**
   * Event time as the sender stated it, RFC 3339 UTC with the fraction digits the source gave (Forward: always nine);
   * null when the sender gave none. Sinks write it in one shape (docs/sinks.md, "Time").
   */
  time: string | null;
  /** Receipt time at the receiver, milliseconds since the epoch (formatted by the sink). */
  received_at: number;
  receiver: string;
  /** Sender address (IP), or null when unknown. */
  source: string | null;
  transport: Transport;
  format: EventFormat;
  message: string | null;
  facility?: string;
  severity?: string;
  hostname?: string | null;
  app_name?: string | null;
  proc_id?: string | null;
  msg_id?: string | null;
  structured_data?: Record<string, Record<string, string | string[]>> | null;
  record?: unknown;
  /**
   * A replicated event (docs/replication.md): the fleets it passed before this one, its origin first. Its id in this
   * fleet is the original id, which the batch carries beside the body.
   */
  fleet_path?: string[];
  /** Forward v1.5 event metadata, when the sender attached any. */
  metadata?: Record<string, unknown>;
  parse_error?: string;
}

/** What a dedup worker adds to each unique event: its stable id and occurrence number (docs/design.md §2, §3). */
export interface UniqueEventMeta {
  id: string;
  occurrence: number;
}
