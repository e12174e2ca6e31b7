import type { FleetMember } from './local-layout.js';
import { takenPorts } from '../port-preflight.js';

export interface OffsetSearch {
  /** Offsets are drawn from [min, max). */
  readonly min: number;
  readonly max: number;
  /** Every TCP and UDP port must be free on each of these addresses (default 127.0.0.1). */
  readonly hosts?: readonly string[];
  /** Draws before giving up (default 40). */
  readonly attempts?: number;
}

/**
 * A random port offset at which every port of the fleet `layout(offset)` describes is free now, for launching a
 * fleet next to others on one machine (tests, the bench). Random rather than first-fit, so that fleets started at
 * the same moment rarely race for the same offset.
 */
export async function freeFleetOffset(
  layout: (offset: number) => readonly FleetMember[],
  search: OffsetSearch,
): Promise<number> {
  const hosts = search.hosts ?? ['127.0.0.1'];
  for (let attempt = 0; attempt < (search.attempts ?? 40); attempt++) {
    const offset = search.min + Math.floor(Math.random() * (search.max - search.min));
    const members = layout(offset);
    let free = true;
    for (const host of hosts) {
      if ((await takenPorts(members, () => host)).length > 0) {
        free = false;
        break;
      }
    }
    if (free) return offset;
  }
  throw new Error(`no port offset in ${search.min}..${search.max} with every port of the fleet free`);
}
