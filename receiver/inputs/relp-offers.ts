/**
 * RELP session offers (librelp's doc/relp.md, "OFFERS"): the client's `open` carries lines `name[=value[,value…]]`,
 * the server answers with what it accepts. Pure functions; the connection writes what answerOpen returns.
 */

/** The highest relp_version this server speaks. librelp itself offers 0; 0 and 1 frame the same way. */
const SERVER_RELP_VERSION = 1;

export type OpenAnswer =
  | { readonly ok: true; readonly response: string; readonly version: number }
  | { readonly ok: false; readonly response: string; readonly problem: string };

/** Offers from an `open` frame's data: LF-separated lines, a name, then "=" and comma-separated values. */
export function parseOffers(data: Buffer): Map<string, string[]> {
  const offers = new Map<string, string[]>();
  for (const line of data.toString('utf8').split('\n')) {
    if (line === '') continue;
    const eq = line.indexOf('=');
    const name = eq === -1 ? line : line.slice(0, eq);
    const values =
      eq === -1
        ? []
        : line
            .slice(eq + 1)
            .split(',')
            .filter((v) => v !== '');
    offers.set(name, values);
  }
  return offers;
}

/**
 * The server's reply to `open`, as librelp's server builds it: "200 OK" and the accepted offers, relp_version no
 * higher than the client's (a librelp client refuses a higher one), commands=syslog. A client that offers no
 * relp_version, or does not offer the syslog command, gets a 500 and the session ends.
 */
export function answerOpen(offers: ReadonlyMap<string, readonly string[]>, software: string): OpenAnswer {
  const version = offers.get('relp_version')?.[0];
  if (version === undefined || !/^\d{1,9}$/.test(version)) {
    return { ok: false, response: '500 relp_version offer missing or not a number', problem: 'no relp_version offer' };
  }
  if (!(offers.get('commands') ?? []).includes('syslog')) {
    return {
      ok: false,
      response: '500 required command not supported by client',
      problem: 'the client does not offer commands=syslog',
    };
  }
  const agreed = Math.min(Number(version), SERVER_RELP_VERSION);
  return {
    ok: true,
    version: agreed,
    response: `200 OK\nrelp_version=${agreed}\nrelp_software=${software}\ncommands=syslog`,
  };
}
