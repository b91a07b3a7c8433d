'use strict'
// The package's entry point: the native addon (loaded by the generated index.js), with
// Promise rejections given the same `err.code` as synchronous errors, and a Transform stream.

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

const { Masker } = native
for (const name of ['mask', 'unmask']) {
  const raw = Masker.prototype[name]
  Masker.prototype[name] = function (text) {
    return raw.call(this, text).catch((err) => {
      throw withCode(err)
    })
  }
}

/**
 * A Transform stream that unmasks text as it flows (for example a model's streamed answer).
 * @param {Masker} masker
 * @returns {Transform}
 */
function createUnmaskStream(masker) {
  const unmasker = masker.streamUnmasker()
  return new Transform({
    decodeStrings: false,
    transform(chunk, encoding, callback) {
      try {
        callback(null, unmasker.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8')))
      } catch (err) {
        callback(withCode(err))
      }
    },
    flush(callback) {
      try {
        callback(null, unmasker.finish())
      } catch (err) {
        callback(withCode(err))
      }
    },
  })
}

module.exports = { ...native, Masker, createUnmaskStream }
