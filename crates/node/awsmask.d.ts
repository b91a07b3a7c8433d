// Types of the package's entry point: the native API (generated in index.d.ts), and the
// Transform stream and masking fetch of awsmask.js.
import type { Transform } from 'node:stream'
import type { Masker } from './index'

export * from './index'

/**
 * A Transform stream that unmasks text as it flows (for example a model's streamed answer),
 * holding back only what may be the start of a token. It takes strings or bytes; bytes are
 * decoded as UTF-8 across chunks (a character split between two comes out whole), and bytes
 * that are not UTF-8, or a stream that ends inside a character, fail it with `INVALID_INPUT`.
 */
export declare function createUnmaskStream(masker: Masker): Transform

/** Options of `maskingFetch`. */
export interface MaskingFetchOptions {
  /**
   * Forward requests with a body to routes other than the two masked ones (Message Batches,
   * the Files API, ...) as they are, unmasked. Default `false`: such a request is rejected
   * (`err.code` `INVALID_INPUT`) and nothing is sent.
   */
  passUnmasked?: boolean
}

/**
 * A `fetch` that masks Claude Messages API requests (`POST /v1/messages` and
 * `/v1/messages/count_tokens`) and unmasks their answers, streamed ones event by event. Any
 * other request without a body goes to `baseFetch` (default: the global `fetch`) as it is;
 * one with a body would leave unmasked and is rejected unless `options.passUnmasked` is true.
 * For the official SDK: `new Anthropic({ fetch: maskingFetch(masker) })`.
 */
export declare function maskingFetch(
  masker: Masker,
  baseFetch?: typeof fetch,
  options?: MaskingFetchOptions,
): typeof fetch
