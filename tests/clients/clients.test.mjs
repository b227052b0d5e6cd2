// Real client libraries against the real streamcheck-mock binary: the official ollama-js
// (`ollama`) and openai-node (`openai`) packages must parse every byte the mock sends.
//
// Run: node --test tests/clients/clients.test.mjs   (mock from $STREAMCHECK_MOCK or argv; set
// STREAMCHECK_PROXY to a streamcheck-proxy binary to run every case through it)
// Install the pinned packages first: npm ci --prefix tests/clients
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { Ollama } from 'ollama';
import OpenAI from 'openai';

// The binary: $STREAMCHECK_MOCK, else the first argv entry that names an existing file.
const mockPath =
  process.env.STREAMCHECK_MOCK ||
  process.argv.slice(2).find((a) => !a.startsWith('-') && existsSync(a) && !a.endsWith('.mjs'));

// The mock's token text (mock_upstream/ollama_api.cc, seed 0): 22 tokens include " &", which Go
// escapes as \u0026 on the wire, so decoding is exercised too.
const TOKENS = 22;
const EXPECTED =
  'The sky is blue because of Rayleigh scattering, which scatters shorter (blue) wavelengths' +
  " more than longer red ones & that's why";
// Quick timelines: 20 ms to the first token, 2 ms between tokens.
const knobs = (id) => ({ id, first_token_ms: 20, gap_ms: 2, tokens: TOKENS });

const STARTUP_DEADLINE_MS = 10_000;
const TEST_TIMEOUT_MS = 20_000;

// ollama-js logs unparsable NDJSON lines with console.warn("invalid json: ", line) and carries on;
// any such warning is a failure here.
const warnings = [];
const originalWarn = console.warn;
console.warn = (...args) => {
  warnings.push(args.map(String).join(' '));
  originalWarn(...args);
};

const mocks = []; // every process started, mocks and proxies

// Optional: streamcheck-proxy, placed in front of every mock.
const proxyPath = process.env.STREAMCHECK_PROXY;

// Starts one server binary with --port-file, waits (with a deadline) for the port, returns
// {port, child}.
async function startServer(path, label, args) {
  assert.ok(existsSync(path), `no ${label} binary at ${path}`);
  const dir = mkdtempSync(join(tmpdir(), 'streamcheck-clients-'));
  const portFile = join(dir, 'port');
  const child = spawn(path, ['--listen', '127.0.0.1:0', '--port-file', portFile, '--threads', '1', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  let exited = null;
  child.on('exit', (code, signal) => (exited = { code, signal }));
  const entry = { child, dir };
  mocks.push(entry);

  const deadline = Date.now() + STARTUP_DEADLINE_MS;
  for (;;) {
    if (exited) throw new Error(`${label} exited early (${JSON.stringify(exited)}): ${stderr}`);
    if (existsSync(portFile)) {
      const text = readFileSync(portFile, 'utf8').trim();
      const port = Number.parseInt(text, 10);
      if (port > 0 && port < 65536) return { port, child };
    }
    if (Date.now() > deadline) throw new Error(`${label} wrote no port file within ${STARTUP_DEADLINE_MS} ms: ${stderr}`);
    await sleep(20);
  }
}

// Starts one mock; with $STREAMCHECK_PROXY set, also a streamcheck-proxy in front of it, and
// returns the proxy's port: every case below then runs through the proxy.
async function startMock(extraArgs = []) {
  assert.ok(mockPath, 'set STREAMCHECK_MOCK to the streamcheck-mock binary (or pass it as an argument)');
  const mock = await startServer(mockPath, 'mock', extraArgs);
  if (!proxyPath) return mock;
  return startServer(proxyPath, 'proxy', ['--upstream', `http://127.0.0.1:${mock.port}`, '--log-format', 'off']);
}

async function stopMock({ child, dir }) {
  if (child.exitCode === null && child.signalCode === null) {
    const gone = new Promise((resolve) => child.once('exit', resolve));
    process.kill(child.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
    }, 3000);
    await gone;
    clearTimeout(timer);
  }
  rmSync(dir, { recursive: true, force: true });
}

after(async () => {
  await Promise.all(mocks.map(stopMock));
  console.warn = originalWarn;
});

// Every streamed event carries "streamcheck":{"seq":N,"t_us":T}; clients keep unknown fields.
function checkStamps(parts) {
  parts.forEach((p, i) => {
    assert.ok(p.streamcheck, `part ${i} has no streamcheck stamp: ${JSON.stringify(p)}`);
    assert.equal(p.streamcheck.seq, i, `part ${i} seq`);
    assert.ok(Number.isInteger(p.streamcheck.t_us) && p.streamcheck.t_us >= 0, `part ${i} t_us`);
    if (i > 0) assert.ok(p.streamcheck.t_us >= parts[i - 1].streamcheck.t_us, `part ${i} t_us order`);
  });
}

describe('ollama-js against streamcheck-mock', () => {
  let ollama;
  before(async () => {
    const { port } = await startMock(['--profile', 'ollama']);
    ollama = new Ollama({ host: `http://127.0.0.1:${port}` });
  });

  test('chat streaming', { timeout: TEST_TIMEOUT_MS }, async () => {
    const stream = await ollama.chat({
      model: 'llama3.2',
      messages: [{ role: 'user', content: 'Why is the sky blue?' }],
      stream: true,
      streamcheck: knobs('js-chat'),
    });
    const parts = [];
    for await (const part of stream) parts.push(part);
    assert.equal(parts.length, TOKENS + 1);
    assert.equal(parts.map((p) => p.message.content).join(''), EXPECTED);
    for (const p of parts.slice(0, -1)) {
      assert.equal(p.done, false);
      assert.equal(p.model, 'llama3.2');
      assert.equal(p.message.role, 'assistant');
      assert.ok(!Number.isNaN(Date.parse(p.created_at)), `created_at ${p.created_at}`);
    }
    const last = parts.at(-1);
    assert.equal(last.done, true);
    assert.equal(last.done_reason, 'stop');
    assert.equal(last.eval_count, TOKENS);
    assert.ok(last.total_duration > 0);
    checkStamps(parts);
    assert.deepEqual(warnings, []);
  });

  test('chat non-streamed', { timeout: TEST_TIMEOUT_MS }, async () => {
    const res = await ollama.chat({
      model: 'llama3.2',
      messages: [{ role: 'user', content: 'hi' }],
      stream: false,
      streamcheck: knobs('js-chat-whole'),
    });
    assert.equal(res.message.content, EXPECTED);
    assert.equal(res.done, true);
    assert.equal(res.eval_count, TOKENS);
  });

  test('generate streaming', { timeout: TEST_TIMEOUT_MS }, async () => {
    const stream = await ollama.generate({
      model: 'llama3.2',
      prompt: 'Why is the sky blue?',
      stream: true,
      streamcheck: knobs('js-generate'),
    });
    const parts = [];
    for await (const part of stream) parts.push(part);
    assert.equal(parts.length, TOKENS + 1);
    assert.equal(parts.map((p) => p.response).join(''), EXPECTED);
    const last = parts.at(-1);
    assert.equal(last.done, true);
    assert.equal(last.done_reason, 'stop');
    assert.equal(last.eval_count, TOKENS);
    assert.ok(Array.isArray(last.context));
    checkStamps(parts);
    assert.deepEqual(warnings, []);
  });

  test('list', { timeout: TEST_TIMEOUT_MS }, async () => {
    const res = await ollama.list();
    assert.ok(Array.isArray(res.models));
    const names = res.models.map((m) => m.name);
    assert.ok(names.includes('llama3.2:latest'), `models: ${names.join(', ')}`);
    for (const m of res.models) {
      assert.equal(m.model, m.name);
      assert.match(m.digest, /^[0-9a-f]{64}$/);
      assert.equal(typeof m.size, 'number');
      assert.equal(m.details.format, 'gguf');
    }
  });

  test('embed', { timeout: TEST_TIMEOUT_MS }, async () => {
    const res = await ollama.embed({ model: 'llama3.2', input: ['why is the sky blue?', 'hello'] });
    assert.equal(res.model, 'llama3.2');
    assert.equal(res.embeddings.length, 2);
    for (const v of res.embeddings) {
      assert.ok(v.length > 0);
      const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
      assert.ok(Math.abs(norm - 1) < 1e-3, `L2 norm ${norm}`);
    }
    assert.notDeepEqual(res.embeddings[0], res.embeddings[1]);
  });

  test('version and show', { timeout: TEST_TIMEOUT_MS }, async () => {
    const v = await ollama.version();
    assert.match(v.version, /^\d+\.\d+\.\d+/);
    const show = await ollama.show({ model: 'llama3.2' });
    assert.equal(show.details.family, 'llama');
    assert.ok(show.model_info);
  });

  test('unknown model is a 404 ResponseError', { timeout: TEST_TIMEOUT_MS }, async () => {
    await assert.rejects(
      ollama.chat({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }], stream: true }),
      (err) => err.status_code === 404 && /not found/.test(err.error ?? err.message),
    );
  });
});

// OpenAI chunk layouts: current (Ollama >= v0.32.6) and legacy (<= v0.32.5).
for (const layout of ['current', 'legacy']) {
  describe(`openai-node against streamcheck-mock (${layout} chunks)`, () => {
    let openai;
    before(async () => {
      const args = ['--profile', 'ollama'];
      if (layout === 'legacy') args.push('--openai-chunks', 'legacy');
      const { port } = await startMock(args);
      openai = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'x', maxRetries: 0, timeout: 15_000 });
    });

    test('streamed chat completion', { timeout: TEST_TIMEOUT_MS }, async () => {
      const stream = await openai.chat.completions.create({
        model: 'llama3.2',
        messages: [{ role: 'user', content: 'Why is the sky blue?' }],
        stream: true,
        streamcheck: knobs(`oai-stream-${layout}`),
      });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      assert.equal(chunks.length, TOKENS + 1);
      let text = '';
      for (const c of chunks) {
        assert.equal(c.object, 'chat.completion.chunk');
        assert.match(c.id, /^chatcmpl-/);
        assert.equal(c.model, 'llama3.2');
        assert.equal(c.choices.length, 1);
        text += c.choices[0].delta.content ?? '';
      }
      assert.equal(text, EXPECTED);
      const last = chunks.at(-1);
      assert.equal(last.choices[0].finish_reason, 'stop');
      for (const c of chunks.slice(0, -1)) assert.equal(c.choices[0].finish_reason, null);
      if (layout === 'legacy') {
        for (const c of chunks) assert.equal(c.choices[0].delta.role, 'assistant');
        assert.equal(last.choices[0].delta.content, '');
      } else {
        assert.equal(chunks[0].choices[0].delta.role, 'assistant');
        for (const c of chunks.slice(1)) assert.equal(c.choices[0].delta.role, undefined);
        assert.deepEqual(last.choices[0].delta, {});
        assert.ok(chunks.every((c) => c.created === chunks[0].created));
      }
      checkStamps(chunks);
    });

    test('streamed chat completion with include_usage', { timeout: TEST_TIMEOUT_MS }, async () => {
      const stream = await openai.chat.completions.create({
        model: 'llama3.2',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
        stream_options: { include_usage: true },
        streamcheck: knobs(`oai-usage-${layout}`),
      });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      const usage = chunks.at(-1);
      assert.deepEqual(usage.choices, []);
      assert.equal(usage.usage.completion_tokens, TOKENS);
      assert.equal(chunks.at(-2).choices[0].finish_reason, 'stop');
      assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), EXPECTED);
    });

    test('non-streamed chat completion', { timeout: TEST_TIMEOUT_MS }, async () => {
      const res = await openai.chat.completions.create({
        model: 'llama3.2',
        messages: [{ role: 'user', content: 'Why is the sky blue?' }],
        streamcheck: knobs(`oai-whole-${layout}`),
      });
      assert.equal(res.object, 'chat.completion');
      assert.equal(res.choices[0].message.role, 'assistant');
      assert.equal(res.choices[0].message.content, EXPECTED);
      assert.equal(res.choices[0].finish_reason, 'stop');
      assert.equal(res.usage.completion_tokens, TOKENS);
    });

    test('models.list', { timeout: TEST_TIMEOUT_MS }, async () => {
      const ids = [];
      for await (const m of openai.models.list()) {
        assert.equal(m.object, 'model');
        ids.push(m.id);
      }
      assert.ok(ids.includes('llama3.2:latest'), `models: ${ids.join(', ')}`);
      const one = await openai.models.retrieve('llama3.2:latest');
      assert.equal(one.id, 'llama3.2:latest');
    });

    // The SDK asks for base64 by default and decodes it as float32: plain floats sent back
    // would decode to zero vectors of the wrong length, silently.
    test('embeddings.create (base64 by default, and float)', { timeout: TEST_TIMEOUT_MS }, async () => {
      const input = ['why is the sky blue?', 'hello'];
      const packed = await openai.embeddings.create({ model: 'llama3.2', input });
      const plain = await openai.embeddings.create({ model: 'llama3.2', input, encoding_format: 'float' });
      assert.equal(packed.data.length, 2);
      for (const [i, d] of packed.data.entries()) {
        assert.equal(d.embedding.length, plain.data[i].embedding.length);
        const norm = Math.sqrt(d.embedding.reduce((s, x) => s + x * x, 0));
        assert.ok(Math.abs(norm - 1) < 1e-3, `L2 norm ${norm}`);
        d.embedding.forEach((x, k) => assert.ok(Math.abs(x - plain.data[i].embedding[k]) < 1e-6));
      }
      await assert.rejects(
        openai.embeddings.create({ model: 'llama3.2', input, encoding_format: 'hex' }),
        (err) => err instanceof OpenAI.BadRequestError && err.status === 400,
      );
    });

    test('unknown model is a NotFoundError', { timeout: TEST_TIMEOUT_MS }, async () => {
      await assert.rejects(
        openai.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }], stream: true }),
        (err) => err instanceof OpenAI.NotFoundError && err.status === 404,
      );
    });
  });
}
