import { z } from 'zod';
import { bool, positiveInt, setting } from '../../shared/config/setting-spec.js';

const recordKey = z.string().regex(/^[A-Za-z0-9_.@-]{0,64}$/, 'letters, digits, _ . @ or -, at most 64');
/** Comma-separated fleet ids. */
const fleetIdList = z
  .string()
  .regex(
    /^\s*([A-Za-z0-9_-]{1,32}\s*(,\s*[A-Za-z0-9_-]{1,32}\s*)*)?$/,
    'comma-separated fleet ids (letters, digits, _ or -)',
  );

/** The uploader.forwardSink.* block: the Forward sink's settings, and the options a named forward sink takes without the prefix. */
export const forwardSinkSettings = {
  forwardSinkServers: setting(
    'uploader.forwardSink.servers',
    z.string(),
    '',
    'Aggregators of the forward sink (out_forward compatible): "host:port[:weight][:standby],…", IPv6 as [addr]:port; weight defaults to 60.',
  ),
  forwardSinkRequireAckResponse: setting(
    'uploader.forwardSink.requireAckResponse',
    bool,
    true,
    "Wait for the aggregator's ack of every chunk before acking the AMQP input (at-least-once); off acks once the bytes are written.",
  ),
  forwardSinkAckResponseTimeoutMs: setting(
    'uploader.forwardSink.ackResponseTimeoutMs',
    positiveInt,
    30000,
    'A chunk not acked within this is resent (to another server if one is up) and its server taken out of rotation.',
  ),
  forwardSinkConnectTimeoutMs: setting(
    'uploader.forwardSink.connectTimeoutMs',
    positiveInt,
    5000,
    'Limit of a connect plus handshake.',
  ),
  forwardSinkHeartbeatType: setting(
    'uploader.forwardSink.heartbeatType',
    z.enum(['tcp', 'udp', 'none']),
    'tcp',
    "tcp: a connection that opens is a heartbeat; udp: in_forward's UDP heartbeat on the same port; none: servers are never taken out of rotation.",
  ),
  forwardSinkHeartbeatIntervalMs: setting(
    'uploader.forwardSink.heartbeatIntervalMs',
    positiveInt,
    1000,
    'Interval of the heartbeats to each server.',
  ),
  forwardSinkDownAfterFailures: setting(
    'uploader.forwardSink.downAfterFailures',
    positiveInt,
    3,
    'Consecutive missed heartbeats before a server leaves the rotation (a failed send takes it out at once).',
  ),
  forwardSinkUpAfterHeartbeats: setting(
    'uploader.forwardSink.upAfterHeartbeats',
    positiveInt,
    3,
    "Consecutive answered heartbeats before a server that was down is used again (out_forward's recover_wait).",
  ),
  forwardSinkCompress: setting(
    'uploader.forwardSink.compress',
    z.enum(['text', 'gzip']),
    'text',
    'gzip sends CompressedPackedForward.',
  ),
  forwardSinkTls: setting('uploader.forwardSink.tls', bool, false, 'Connect to the aggregators over TLS.'),
  forwardSinkTlsCaFile: setting(
    'uploader.forwardSink.tlsCaFile',
    z.string(),
    '',
    'PEM file of the CAs to trust (empty: the system store).',
  ),
  forwardSinkTlsInsecure: setting(
    'uploader.forwardSink.tlsInsecure',
    bool,
    false,
    'Skip certificate and host name verification.',
  ),
  forwardSinkSharedKey: setting(
    'uploader.forwardSink.sharedKey',
    z.string(),
    '',
    'shared_key of the HELO/PING/PONG handshake (empty: no handshake).',
  ),
  forwardSinkSelfHostname: setting(
    'uploader.forwardSink.selfHostname',
    z.string(),
    '',
    "self_hostname sent in the handshake (empty: the machine's host name); must differ from the aggregator's.",
  ),
  forwardSinkUsername: setting(
    'uploader.forwardSink.username',
    z.string(),
    '',
    'User for aggregators that authenticate users.',
  ),
  forwardSinkPassword: setting('uploader.forwardSink.password', z.string(), '', 'Password of that user.'),
  forwardSinkIdKey: setting(
    'uploader.forwardSink.idKey',
    z.string().regex(/^[A-Za-z0-9_.@-]{0,64}$/),
    'fanin_id',
    'Record key that carries the fanin event id, so aggregators can dedupe replays (empty: records are left as they are).',
  ),
  forwardSinkPathKey: setting(
    'uploader.forwardSink.pathKey',
    recordKey,
    'fanin_path',
    'With fleet.id set: record key that carries the fleets an event has passed, this one last, so another fleet can replicate it without loops (empty: no path is sent).',
  ),
  forwardSinkExcludeFleets: setting(
    'uploader.forwardSink.excludeFleets',
    fleetIdList,
    '',
    'Comma-separated fleet ids: an event that has passed one of them (it came from or through that fleet) is not sent by this sink, counted instead (docs/replication.md).',
  ),
} as const;
