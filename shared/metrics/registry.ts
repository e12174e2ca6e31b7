import { collectDefaultMetrics, Registry } from 'prom-client';

/** Each process (and each test) owns a registry: the global one leaks metrics between tests and fleets. */
export function createRegistry(component: string, id: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ component, instance_id: id });
  collectDefaultMetrics({ register: registry, prefix: 'fanin_' });
  return registry;
}
