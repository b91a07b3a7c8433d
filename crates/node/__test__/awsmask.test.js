'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Readable } = require('node:stream')
const { Masker, createUnmaskStream } = require('..')

const TEXT = '{"InstanceId": "i-0123456789abcdef0", "OwnerId": "123456789012", "VpcId": "vpc-0a1b2c3d"}'
const KEY = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'

test('round trip, nothing left', async () => {
  const m = new Masker()
  const masked = await m.mask(TEXT)
  for (const v of ['i-0123456789abcdef0', '123456789012', 'vpc-0a1b2c3d']) assert.ok(!masked.includes(v))
  assert.equal(await m.unmask(masked), TEXT)
})

test('Promise and Sync variants agree', async () => {
  const m = new Masker({ key: KEY })
  assert.equal(await m.mask(TEXT), m.maskSync(TEXT))
  assert.equal(m.unmaskSync(m.maskSync(TEXT)), TEXT)
})

test('a lone surrogate is refused, never replaced', async () => {
  // it has no UTF-8 form: passed on, it would come back as U+FFFD
  const m = new Masker()
  for (const bad of ['i-0123456789abcdef0 \ud800 x', 'x \udc00', 'end \ud83d']) {
    await assert.rejects(m.mask(bad), (e) => e.code === 'INVALID_INPUT' && /UTF-16 offset/.test(e.message))
    await assert.rejects(m.unmask(bad), (e) => e.code === 'INVALID_INPUT')
    assert.throws(() => m.maskSync(bad), (e) => e.code === 'INVALID_INPUT')
    assert.throws(() => m.streamUnmasker().push(bad), (e) => e.code === 'INVALID_INPUT')
  }
  // pairs and a real U+FFFD are text like any other
  const ok = 'ok \ud83d\ude00 i-0123456789abcdef0 \ufffd'
  assert.equal(await m.unmask(await m.mask(ok)), ok)
})

test('scan gives UTF-16 offsets', () => {
  const text = '한국어 😀 i-0123456789abcdef0 and 🎉 vpc-0a1b2c3d'
  const found = new Masker().scan(text)
  assert.deepEqual(found.map((f) => [f.kind, text.slice(f.start, f.end)]), [
    ['ec2_instance', 'i-0123456789abcdef0'],
    ['vpc', 'vpc-0a1b2c3d'],
  ])
})

test('concurrent Promises on one Masker', async () => {
  const m = new Masker()
  const texts = Array.from({ length: 100 }, (_, i) => `i-${i.toString(16).padStart(17, '0')} in vpc-${i.toString(16).padStart(8, '0')}`)
  const masked = await Promise.all(texts.map((t) => m.mask(t)))
  assert.deepEqual(await Promise.all(masked.map((t) => m.unmask(t))), texts)
})

test('namespaces are isolated, one key gives one token', () => {
  const a = new Masker({ key: KEY, namespace: 'a' })
  const b = new Masker({ key: KEY, namespace: 'b' })
  assert.equal(a.maskSync(TEXT), new Masker({ key: KEY, namespace: 'a' }).maskSync(TEXT))
  const masked = a.maskSync(TEXT)
  assert.equal(b.unmaskSync(masked), masked)
})

/** A string or bytes cut into pieces of 1 to `max` units, at random places. */
function randomChunks(whole, max) {
  const chunks = []
  for (let i = 0; i < whole.length; ) {
    const n = 1 + Math.floor(Math.random() * max)
    chunks.push(whole.subarray ? whole.subarray(i, i + n) : whole.slice(i, i + n))
    i += n
  }
  return chunks
}

test('the Transform stream unmasks any chunking', async () => {
  const m = new Masker()
  const masked = m.maskSync(TEXT.repeat(20))
  for (let round = 0; round < 20; round++) {
    let out = ''
    for await (const piece of Readable.from(randomChunks(masked, 12)).pipe(createUnmaskStream(m))) out += piece
    assert.equal(out, TEXT.repeat(20))
  }
})

test('the Transform stream takes bytes split anywhere, strictly', async () => {
  // a character split between two chunks comes out whole, a byte order mark stays, and
  // bytes that are not UTF-8 are an error rather than U+FFFD
  const m = new Masker()
  const text = '\ufeffcafé ' + TEXT + ' 日本語 😀 '
  const bytes = Buffer.from(m.maskSync(text.repeat(5)))
  for (let round = 0; round < 20; round++) {
    let out = ''
    for await (const piece of Readable.from(randomChunks(bytes, 7)).pipe(createUnmaskStream(m))) out += piece
    assert.equal(out, text.repeat(5))
  }
  for (const [bad, says] of [
    [[Buffer.from([0x61, 0xff, 0x62])], /not valid UTF-8/],
    [[Buffer.from('ok '), Buffer.from([0xe6, 0x97])], /ends inside a UTF-8 character/],
  ]) {
    await assert.rejects(async () => {
      for await (const piece of Readable.from(bad).pipe(createUnmaskStream(m))) void piece
    }, (e) => e.code === 'INVALID_INPUT' && says.test(e.message))
  }
})

test('errors carry codes and no secrets', async () => {
  assert.throws(() => new Masker({ store: 'ftp://x' }), (e) => e.code === 'INVALID_CONFIG')
  assert.throws(() => new Masker({ key: 'sekrit' }), (e) => e.code === 'INVALID_CONFIG' && !e.message.includes('sekrit'))
  const started = Date.now()
  assert.throws(() => new Masker({ store: 'redis://127.0.0.1:1/0' }), (e) => e.code === 'STORE_UNAVAILABLE')
  assert.ok(Date.now() - started < 5000)
})

const CORPUS = path.resolve(__dirname, '../../../../shared/corpus/dev.jsonl')
test('dev corpus round trip and leaks', { skip: !fs.existsSync(CORPUS) && 'the shared dev corpus is not here' }, async () => {
  const m = new Masker()
  const count = (hay, needle) => hay.split(needle).length - 1
  const leaks = []
  for (const line of fs.readFileSync(CORPUS, 'utf8').split('\n')) {
    if (!line.trim()) continue
    const rec = JSON.parse(line)
    const masked = await m.mask(rec.text)
    assert.equal(await m.unmask(masked), rec.text, rec.id)
    // a labeled value that stands only where it is labeled must not be visible after masking
    for (const s of rec.spans) {
      const labeled = rec.spans.filter((t) => t.value === s.value).length
      if (s.value.length >= 8 && count(rec.text, s.value) === labeled && masked.includes(s.value)) leaks.push([rec.id, s.value])
    }
  }
  // the few still visible have no naming context at all (see the Rust corpus test)
  assert.ok(leaks.length <= 12, JSON.stringify(leaks))
})

const CLUSTER = process.env.AWSMASK_TEST_CLUSTER_URL
test('Redis and cluster stores', { skip: !CLUSTER && 'the Redis testbed is not running' }, async () => {
  const ca = process.env.AWSMASK_TEST_CA_FILE
  for (const url of [process.env.AWSMASK_TEST_REDIS_URL, process.env.AWSMASK_TEST_REDISS_URL, CLUSTER]) {
    const a = new Masker({ store: url, key: KEY, namespace: 'node', tlsCaFile: ca })
    const b = new Masker({ store: url, key: KEY, namespace: 'node', tlsCaFile: ca })
    assert.equal(await b.unmask(await a.mask(TEXT)), TEXT)
  }
})
