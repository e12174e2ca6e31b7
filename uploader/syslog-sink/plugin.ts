import { defineSinkPlugin } from '../sink-plugin.js';
import { syslogSinkOptionsFromSettings } from './syslog-sink-config.js';
import { syslogSinkSettingSpecs } from './settings.js';

/** Hands unique events on to a SIEM or another collector over syslog: TCP, TLS or UDP (docs/syslog-sink.md). */
export const syslogSinkPlugin = defineSinkPlugin({
  type: 'syslog',
  settings: syslogSinkSettingSpecs,
  prepare(plan, { registry, log }) {
    const options = syslogSinkOptionsFromSettings(plan.settings, (setting) => plan.keyOf(setting));
    return async () => new (await import('./syslog-sink.js')).SyslogSink(options, registry, log, plan.name);
  },
});
