// Types of the package's entry point: the native API (generated in index.d.ts) and the
// Transform stream of awsmask.js.
import type { Transform } from 'node:stream'
import type { Masker } from './index'

export * from './index'

/**
 * A Transform stream that unmasks text as it flows (for example a model's streamed answer),
 * holding back only what may be the start of a token.
 */
export declare function createUnmaskStream(masker: Masker): Transform
