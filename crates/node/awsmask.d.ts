// Types of the package's entry point: the native API (generated in index.d.ts), and the
// Transform stream and masking fetch of awsmask.js.
import type { Transform } from 'node:stream'
import type { Masker } from './index'

export * from './index'

/**
 * A Transform stream that unmasks text as it flows (for example a model's streamed answer),
 * holding back only what may be the start of a token.
 */
export declare function createUnmaskStream(masker: Masker): Transform

/**
 * A `fetch` that masks Claude Messages API requests (`POST /v1/messages` and
 * `/v1/messages/count_tokens`) and unmasks their answers, streamed ones event by event; any
 * other request goes to `baseFetch` (default: the global `fetch`) as it is. For the official
 * SDK: `new Anthropic({ fetch: maskingFetch(masker) })`.
 */
export declare function maskingFetch(masker: Masker, baseFetch?: typeof fetch): typeof fetch
