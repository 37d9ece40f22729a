/**
 * The wiring library: one interface through which every model family builds its trunk, so any
 * wiring runs in any model and no model branches on the kind.
 *
 *   const wiring = makeWiring({ kind: 'decayed', alphaMin: 0.6 }, depth);          // 2 sub-layers per block
 *   const { out, states } = wiring.run(h0, blocks.map((b) => [b.attnBranch, b.mlpBranch]));
 *
 * Paper A (decayed identity shortcuts): arXiv 2404.10947. Paper B (ANCRe): arXiv 2602.09009.
 * See ./sublayer.ts and ./ancre.ts for the equations of each kind, and ./registry.ts (registerWiring) to
 * add a kind without editing this library (docs/adding-a-wiring.md).
 */
import { resolveWiring, type WiringConfig } from './config';
import type { Wiring } from './types';
import { SublayerWiring } from './sublayer';
import { BlockRouting } from './ancre';
import { registeredWiring } from './registry';
import { ConfigError, show } from '../errors';

export * from './config';
export * from './types';
export { SublayerWiring } from './sublayer';
export { BlockRouting } from './ancre';
export { uniqueVariableName, makeVariable } from './variables';
export { registerWiring, registeredWiring, unregisterWiring, type WiringDefinition, type WiringParams, type WiringConfigMaker } from './registry';

/** Kinds that route whole blocks; the others route each sub-layer branch. */
export const BLOCK_KINDS = ['ancre', 'constant-average'] as const;

/**
 * Builds a wiring for a stack of `blocks` blocks of `sublayersPerBlock` branches each
 * (2 for a transformer block: attention, MLP; 1 for a ResNet block or a linear layer).
 * The number of routed layers n is blocks·sublayersPerBlock for sub-layer wirings and blocks for
 * block routings. Validates the config (ConfigError with the value and the valid range).
 */
export function makeWiring(config: WiringConfig, blocks: number, sublayersPerBlock = 2): Wiring {
  const resolved = resolveWiring(config);
  for (const [name, v] of [['blocks', blocks], ['sublayersPerBlock', sublayersPerBlock]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ConfigError(`${name} must be an integer >= 1; got ${show(v)}`);
  }
  const custom = registeredWiring(resolved.kind);
  if (custom) {
    const w = custom.build(resolved, blocks, sublayersPerBlock);
    if (w.kind !== resolved.kind || w.blocks !== blocks || w.sublayersPerBlock !== sublayersPerBlock) {
      throw new Error(`wiring '${resolved.kind}' built a '${w.kind}' for ${w.blocks}×${w.sublayersPerBlock} branches; asked for ${blocks}×${sublayersPerBlock}`);
    }
    return w;
  }
  return (BLOCK_KINDS as readonly string[]).includes(resolved.kind)
    ? new BlockRouting(resolved, blocks, sublayersPerBlock)
    : new SublayerWiring(resolved, blocks, sublayersPerBlock);
}

/** Where the α's live: `wiring/…` variables get no weight decay. */
export function isWiringVariableName(name: string): boolean {
  return name.startsWith('wiring/');
}
