'use strict'
// The Messages API helpers, and the official TypeScript SDK with `maskingFetch` against a
// stub of the API that echoes what it receives.
const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const Anthropic = require('@anthropic-ai/sdk').default
const { Masker, maskingFetch } = require('..')

const QUESTION = "Why can't i-0123456789abcdef0 in vpc-0a1b2c3d reach 10.0.1.23?"
const IDS = ['i-0123456789abcdef0', 'vpc-0a1b2c3d', '10.0.1.23']

const sse = (data) => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`

/** A stub Messages API: answers "You said: <last user text>", as JSON or as events. */
function startStub() {
  const received = []
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      received.push(body)
      const parsed = JSON.parse(body)
      const last = parsed.messages[parsed.messages.length - 1].content
      const text = 'You said: ' + (typeof last === 'string' ? last : last.map((b) => b.text || '').join(''))
      const message = {
        id: 'msg_1', type: 'message', role: 'assistant', model: parsed.model,
        content: [{ type: 'text', text }], stop_reason: 'end_turn', stop_sequence: null,
        usage: { input_tokens: 1, output_tokens: 1 },
      }
      if (!parsed.stream) {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify(message))
        return
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      let out = sse({ type: 'message_start', message: { ...message, content: [] } })
      out += sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })
      for (let i = 0; i < text.length; i += 3) {
        out += sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: text.slice(i, i + 3) } })
      }
      out += sse({ type: 'content_block_stop', index: 0 })
      out += sse({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } })
      out += sse({ type: 'message_stop' })
      // in pieces of 7 bytes: tokens split across network chunks
      const bytes = Buffer.from(out)
      for (let i = 0; i < bytes.length; i += 7) res.write(bytes.subarray(i, i + 7))
      res.end()
    })
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, received, url: `http://127.0.0.1:${server.address().port}` }))
  })
}

test('request and response bodies', async () => {
  const m = new Masker()
  const body = JSON.stringify({
    model: 'm', max_tokens: 1,
    messages: [{ role: 'user', content: QUESTION },
      { role: 'assistant', content: [{ type: 'thinking', thinking: 'i-0123456789abcdef0', signature: 's' }] }],
  })
  const masked = await m.maskRequestJson(body)
  const sent = JSON.parse(masked)
  for (const v of IDS) assert.ok(!sent.messages[0].content.includes(v))
  assert.equal(sent.messages[1].content[0].thinking, 'i-0123456789abcdef0')
  assert.equal(m.maskRequestJsonSync(body), masked)
  const answer = JSON.stringify({ content: [{ type: 'text', text: sent.messages[0].content }] })
  assert.equal(JSON.parse(await m.unmaskResponseJson(answer)).content[0].text, QUESTION)
  assert.equal(JSON.parse(m.unmaskResponseJsonSync(answer)).content[0].text, QUESTION)
  await assert.rejects(m.maskRequestJson('{"messages": ['), (err) => err.code === 'INVALID_INPUT')
})

test('the SSE unmasker restores tokens cut anywhere', () => {
  const m = new Masker()
  const token = m.maskSync('i-0123456789abcdef0')
  const stream = Buffer.from(
    sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'go ' + token.slice(0, 6) } }) +
      sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: token.slice(6) + '!' } }) +
      sse({ type: 'content_block_stop', index: 0 }),
  )
  const u = m.sseUnmasker()
  const parts = []
  for (let i = 0; i < stream.length; i += 4) parts.push(u.push(stream.subarray(i, i + 4)))
  parts.push(u.finish())
  const text = Buffer.concat(parts)
    .toString()
    .split('\n')
    .filter((l) => l.startsWith('data: ') && l.includes('text_delta'))
    .map((l) => JSON.parse(l.slice(6)).delta.text)
    .join('')
  assert.equal(text, 'go i-0123456789abcdef0!')
})

test('the official SDK through maskingFetch', async () => {
  const stub = await startStub()
  try {
    const client = new Anthropic({ apiKey: 'k', baseURL: stub.url, maxRetries: 0, fetch: maskingFetch(new Masker()) })
    const msg = await client.messages.create({ model: 'stub-model', max_tokens: 10, messages: [{ role: 'user', content: QUESTION }] })
    assert.equal(msg.content[0].text, 'You said: ' + QUESTION)
    const stream = client.messages.stream({ model: 'stub-model', max_tokens: 10, messages: [{ role: 'user', content: QUESTION }] })
    let text = ''
    stream.on('text', (t) => (text += t))
    await stream.finalMessage()
    assert.equal(text, 'You said: ' + QUESTION)
    assert.equal(stub.received.length, 2)
    for (const body of stub.received) {
      for (const v of IDS) assert.ok(!body.includes(v), `${v} reached the API`)
      assert.ok(body.includes('AWS_EC2_'))
    }
  } finally {
    stub.server.close()
  }
})

test('maskingFetch fails closed', async () => {
  let called = false
  const f = maskingFetch(new Masker(), async () => {
    called = true
    return new Response('{}')
  })
  await assert.rejects(
    f('http://127.0.0.1:9/v1/messages', { method: 'POST', body: '{"messages": [' }),
    (err) => err.code === 'INVALID_INPUT',
  )
  assert.equal(called, false)
  // other routes pass untouched
  const r = await f('http://127.0.0.1:9/v1/models')
  assert.equal(called, true)
  assert.equal(await r.text(), '{}')
})

test('maskingFetch refuses a body it would not mask, unless asked', async () => {
  const sent = []
  const base = async (input, init) => {
    const request = new Request(input, init)
    sent.push({ url: request.url, body: await request.text() })
    return new Response('{}', { headers: { 'content-type': 'application/json' } })
  }
  const batch = { requests: [{ custom_id: 'a', params: { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: QUESTION }] } }] }
  const f = maskingFetch(new Masker(), base)
  // Message Batches through the official SDK: its messages would leave unmasked
  const client = new Anthropic({ apiKey: 'k', baseURL: 'http://127.0.0.1:9', maxRetries: 0, fetch: f })
  // (the SDK wraps what its fetch throws)
  await assert.rejects(
    client.messages.batches.create(batch),
    (err) => err.cause && err.cause.code === 'INVALID_INPUT' && /would leave unmasked/.test(err.cause.message),
  )
  await assert.rejects(
    f('http://127.0.0.1:9/v1/files', { method: 'POST', body: QUESTION }),
    (err) => err.code === 'INVALID_INPUT' && !err.message.includes('i-0123456789abcdef0'),
  )
  assert.equal(sent.length, 0)
  // without a body (or with an empty one) a request passes
  await f('http://127.0.0.1:9/v1/messages/batches/b1/cancel', { method: 'POST' })
  await f('http://127.0.0.1:9/v1/messages/batches/b2/cancel', { method: 'POST', body: '' })
  assert.deepEqual(sent.map((s) => [new URL(s.url).pathname, s.body]), [
    ['/v1/messages/batches/b1/cancel', ''],
    ['/v1/messages/batches/b2/cancel', ''],
  ])
  // passUnmasked forwards such a body as it is
  const passing = maskingFetch(new Masker(), base, { passUnmasked: true })
  await passing('http://127.0.0.1:9/v1/messages/batches', { method: 'POST', body: JSON.stringify(batch) })
  assert.deepEqual(JSON.parse(sent[2].body), batch)
})

test('previous keys still unmask', () => {
  const fs = require('node:fs')
  const os = require('node:os')
  const path = require('node:path')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'awsmask-'))
  const store = 'file:' + path.join(dir, 'vault.db')
  const [oldKey, newKey] = ['11'.repeat(32), '22'.repeat(32)]
  const masked = new Masker({ store, key: oldKey }).maskSync(QUESTION)
  const rotated = new Masker({ store, key: newKey, previousKeys: [oldKey] })
  assert.equal(rotated.unmaskSync(masked), QUESTION)
  assert.notEqual(rotated.maskSync(QUESTION), masked)
  assert.equal(new Masker({ store, key: newKey }).unmaskSync(masked), masked)
  assert.throws(() => new Masker({ previousKeys: ['nope'] }), (err) => err.code === 'INVALID_CONFIG')
})
