import type { Config } from '../../shared/config/settings.js';
import type { ProxyMode } from './proxy-protocol.js';

/** The PROXY protocol mode of one input from receiver.proxyProtocol and receiver.proxyProtocolInputs; null: off. */
export function proxyModeFor(
  config: Pick<Config, 'proxyProtocol' | 'proxyProtocolInputs'>,
  input: 'syslog' | 'forward' | 'http',
): ProxyMode | null {
  if (config.proxyProtocol === 'off') return null;
  return config.proxyProtocolInputs.includes(input) ? config.proxyProtocol : null;
}
