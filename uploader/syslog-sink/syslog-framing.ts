/**
 * RFC 6587 framing of one message for a stream (TCP, TLS), pure. Octet counting (`MSG-LEN SP SYSLOG-MSG`, §3.4.1,
 * the only framing RFC 5425 allows over TLS) carries any bytes exactly. Non-transparent framing (§3.4.2) ends each
 * message with LF, which legacy collectors need; a message that itself holds an LF arrives there as two.
 */
export type Framing = 'octet-counting' | 'non-transparent';

const LF = Buffer.from('\n');

export function frame(message: Buffer, framing: Framing): Buffer[] {
  if (framing === 'non-transparent') return [message, LF];
  return [Buffer.from(`${message.length} `, 'latin1'), message];
}

/** True when non-transparent framing would split this message at the collector. */
export function splitsWithoutOctetCounting(message: Uint8Array): boolean {
  return message.includes(0x0a);
}
