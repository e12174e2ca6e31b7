/**
 * `node dist/bench/route-keys.js`: what routing per sink costs at each stage, per event, on realistic batches
 * (BENCH_ROUTE_EVENTS syslog events of five tags per batch, as the receiver encodes them): the receiver's route table,
 * new and processed batches with and without route keys (encode, decode), and the uploader's selection for a sink with
 * rules, for the sink that also counts unrouted events, and for a sink that takes everything (skipped). Cases are
 * interleaved round by round (the machine is noisy) and the table shows medians and minimums. No services needed.
 *
 * Settings (environment): BENCH_ROUTE_EVENTS=2000 BENCH_ROUTE_ROUNDS=15 BENCH_ROUTE_REPEATS=40.
 */
import {
  decodeNewEventBatch,
  decodeProcessedBatch,
  encodeNewEventBatch,
  encodeProcessedBatch,
} from '../shared/batch-codec.js';
import { RouteTableBuilder } from '../shared/event-route.js';
import { encodeSyslogFrame } from '../receiver/syslog-event.js';
import { routeSelectors } from '../uploader/routing/route-selector.js';
import { EVERY_EVENT, sinkRoute } from '../uploader/routing/sink-route.js';

const N = Number(process.env.BENCH_ROUTE_EVENTS ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUTE_ROUNDS ?? 15);
const REPEATS = Number(process.env.BENCH_ROUTE_REPEATS ?? 40);

const ctx = { receiverId: 'a', source: '10.0.0.1', transport: 'udp' as const, hashSourceAddress: true };
const pris = [38, 35, 132, 134, 14];
const events = Array.from({ length: N }, (_, i) =>
  encodeSyslogFrame(
    Buffer.from(
      `<${pris[i % pris.length]}>1 2026-12-07T10:00:00.000Z host app 123 - - message number ${i} with some text`,
    ),
    ctx,
    new Date(),
  ),
);
const keys = Buffer.concat(events.map((e) => e.key));
const bodies = events.map((e) => e.body);
const builder = new RouteTableBuilder(N);
events.forEach((e, i) => builder.set(i, e.route));
const routes = builder.take(N);
const ids = events.map((e, i) => `${Buffer.from(e.key).toString('hex')}-${i}`);
const head = { receiverId: 'a', bootId: 'b', seq: 1, keys, bodies };
const newV1 = encodeNewEventBatch(head);
const newV3 = encodeNewEventBatch({ ...head, routes });
const processedV1 = encodeProcessedBatch({ sourceBatchId: 's', ids, bodies });
const processedV2 = encodeProcessedBatch({ sourceBatchId: 's', ids, bodies, routes });
const batch = decodeProcessedBatch(processedV2);
const [accounting, plain] = routeSelectors([
  { route: sinkRoute(['syslog.auth.**'], null, null), takesUnrouted: false },
  { route: sinkRoute(['app.**', 'syslog.local0.**'], ['app.debug.**'], 4), takesUnrouted: false },
]);
const [everything] = routeSelectors([{ route: EVERY_EVENT, takesUnrouted: false }]);

const cases: Record<string, () => unknown> = {
  'receiver: route table': () => {
    const t = new RouteTableBuilder(N);
    for (let i = 0; i < N; i++) t.set(i, events[i]!.route);
    return t.take(N);
  },
  'encode new batch v1': () => encodeNewEventBatch(head),
  'encode new batch v3 (routes)': () => encodeNewEventBatch({ ...head, routes }),
  'decode new batch v1': () => decodeNewEventBatch(newV1),
  'decode new batch v3 (routes)': () => decodeNewEventBatch(newV3),
  'encode processed v1': () => encodeProcessedBatch({ sourceBatchId: 's', ids, bodies }),
  'encode processed v2 (routes)': () => encodeProcessedBatch({ sourceBatchId: 's', ids, bodies, routes }),
  'decode processed v1': () => decodeProcessedBatch(processedV1),
  'decode processed v2 (routes)': () => decodeProcessedBatch(processedV2),
  'select: sink with rules': () => plain!.select(batch),
  'select: + counting unrouted': () => accounting!.select(batch),
  'select: sink taking all': () => everything!.select(batch),
};

const samples = new Map<string, number[]>(Object.keys(cases).map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of Object.entries(cases)) {
    for (let i = 0; i < 3; i++) run();
    const started = process.hrtime.bigint();
    for (let i = 0; i < REPEATS; i++) run();
    samples.get(name)!.push(Number(process.hrtime.bigint() - started) / REPEATS / N);
  }
}
process.stdout.write(
  `${N} events per batch, ${ROUNDS} rounds; new batch ${newV1.length} bytes, with route keys ${newV3.length}\n`,
);
for (const [name, s] of samples) {
  s.sort((a, b) => a - b);
  process.stdout.write(
    `${name.padEnd(30)} median ${s[Math.floor(s.length / 2)]!.toFixed(0).padStart(5)} ns/event   min ${s[0]!.toFixed(0).padStart(5)}\n`,
  );
}
