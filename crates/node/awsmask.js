'use strict'
// The package's entry point: the native addon (loaded by the generated index.js), with
// Promise rejections given the same `err.code` as synchronous errors, a Transform stream, and
// a `fetch` that masks Claude Messages API requests.

const native = require('./index.js')
const { Transform } = require('node:stream')

const CODED = /^(INVALID_CONFIG|STORE_UNAVAILABLE|INVALID_INPUT|INTERNAL): /

function withCode(err) {
  if (err && typeof err.message === 'string') {
    const m = CODED.exec(err.message)
    if (m) {
      err.code = m[1]
      err.message = err.message.slice(m[0].length)
    }
  }
  return err
}

// A lone surrogate (half of a UTF-16 pair) has no UTF-8 form: the addon would be handed U+FFFD
// in its place, and the text would not come back as it went in. Such text is refused.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

function inputError(message) {
  const err = new Error(message)
  err.code = 'INVALID_INPUT'
  return err
}

function notWellFormed(text) {
  if (typeof text !== 'string') return null
  if (typeof text.isWellFormed === 'function' ? text.isWellFormed() : !LONE_SURROGATE.test(text)) {
    return null
  }
  return inputError(
    `the text is not valid Unicode: a lone surrogate at UTF-16 offset ${text.search(LONE_SURROGATE)}`
  )
}

const { Masker, StreamUnmasker } = native
for (const name of ['mask', 'unmask', 'maskRequestJson', 'unmaskResponseJson']) {
  const raw = Masker.prototype[name]
  Masker.prototype[name] = function (text) {
    const bad = notWellFormed(text)
    if (bad) return Promise.reject(bad)
    return raw.call(this, text).catch((err) => {
      throw withCode(err)
    })
  }
}
for (const [cls, names] of [
  [Masker, ['maskSync', 'unmaskSync', 'maskRequestJsonSync', 'unmaskResponseJsonSync']],
  [StreamUnmasker, ['push']],
]) {
  for (const name of names) {
    const raw = cls.prototype[name]
    cls.prototype[name] = function (text) {
      const bad = notWellFormed(text)
      if (bad) throw bad
      return raw.call(this, text)
    }
  }
}

/**
 * A Transform stream that unmasks text as it flows (for example a model's streamed answer).
 * @param {Masker} masker
 * @returns {Transform}
 */
function createUnmaskStream(masker) {
  const unmasker = masker.streamUnmasker()
  // bytes are decoded across chunks (a character may be split between two), strictly (invalid
  // UTF-8 is an error, not U+FFFD) and keeping a byte order mark: the text comes out as it went in
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
  const decode = (bytes, stream) => {
    try {
      return decoder.decode(bytes, { stream })
    } catch (err) {
      throw inputError(
        stream ? 'the stream is not valid UTF-8' : 'the stream ends inside a UTF-8 character'
      )
    }
  }
  return new Transform({
    decodeStrings: false,
    transform(chunk, encoding, callback) {
      try {
        callback(null, unmasker.push(typeof chunk === 'string' ? chunk : decode(chunk, true)))
      } catch (err) {
        callback(withCode(err))
      }
    },
    flush(callback) {
      try {
        // every whole character went out with its chunk: what is left is a cut one, or nothing
        decode(undefined, false)
        callback(null, unmasker.finish())
      } catch (err) {
        callback(withCode(err))
      }
    },
  })
}

const MESSAGES_ROUTES = ['/v1/messages', '/v1/messages/count_tokens']

/** Headers of a body we rewrote: its length and encoding are no longer the upstream's. */
function rewrittenHeaders(headers) {
  const h = new Headers(headers)
  h.delete('content-length')
  h.delete('content-encoding')
  return h
}

const UNMASKED =
  'only the bodies of POST /v1/messages and /v1/messages/count_tokens are masked; ' +
  "this request's body would leave unmasked, so it was not sent " +
  '(maskingFetch(masker, baseFetch, { passUnmasked: true }) forwards such requests as they are)'

/**
 * A `fetch` that masks Claude Messages API requests (`POST /v1/messages` and
 * `/v1/messages/count_tokens`) and unmasks their answers, streamed ones event by event. Any
 * other request without a body goes to `baseFetch` as it is; one with a body (Message Batches,
 * the Files API, ...) would leave unmasked and is rejected (`err.code` `INVALID_INPUT`,
 * nothing sent) unless `options.passUnmasked` is true. Give it to the official SDK:
 * `new Anthropic({ fetch: maskingFetch(masker) })`. Fails closed: when masking fails the
 * request is not sent and the Promise rejects with the error (`err.code`).
 * @param {Masker} masker
 * @param {typeof fetch} [baseFetch]
 * @param {{ passUnmasked?: boolean }} [options]
 * @returns {typeof fetch}
 */
function maskingFetch(masker, baseFetch = globalThis.fetch, options = {}) {
  const passUnmasked = Boolean(options && options.passUnmasked)
  return async function fetch(input, init) {
    const request = new Request(input, init)
    const path = new URL(request.url).pathname.replace(/\/+$/, '')
    if (request.method !== 'POST' || !MESSAGES_ROUTES.some((r) => path.endsWith(r))) {
      if (passUnmasked || request.body === null) return baseFetch(input, init)
      const body = await request.arrayBuffer()
      if (body.byteLength > 0) {
        const err = new Error(UNMASKED)
        err.code = 'INVALID_INPUT'
        throw err
      }
      // an empty body: nothing to mask
      return baseFetch(request.url, { method: request.method, headers: request.headers, signal: request.signal })
    }
    const body = await masker.maskRequestJson(await request.text())
    const headers = new Headers(request.headers)
    headers.delete('content-length')
    headers.set('accept-encoding', 'identity')
    const response = await baseFetch(request.url, {
      method: 'POST',
      headers,
      body,
      signal: request.signal,
    })
    const type = (response.headers.get('content-type') || '').toLowerCase()
    if (type.startsWith('text/event-stream') && response.body) {
      const sse = masker.sseUnmasker()
      const unmasked = response.body.pipeThrough(
        new TransformStream({
          transform(chunk, controller) {
            const out = sse.push(chunk)
            if (out.length) controller.enqueue(new Uint8Array(out))
          },
          flush(controller) {
            const out = sse.finish()
            if (out.length) controller.enqueue(new Uint8Array(out))
          },
        }),
      )
      return new Response(unmasked, {
        status: response.status,
        statusText: response.statusText,
        headers: rewrittenHeaders(response.headers),
      })
    }
    if (response.ok && type.startsWith('application/json')) {
      const text = await masker.unmaskResponseJson(await response.text())
      return new Response(text, {
        status: response.status,
        statusText: response.statusText,
        headers: rewrittenHeaders(response.headers),
      })
    }
    return response
  }
}

module.exports = { ...native, Masker, createUnmaskStream, maskingFetch }
