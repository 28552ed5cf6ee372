import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { LineBatcher, type BatchSink } from './line-batcher.ts';

class RecordingSink implements BatchSink {
  readonly calls: string[] = [];
  write(text: string): void {
    this.calls.push(`write:${text}`);
  }
  flush(cb?: (err?: Error) => void): void {
    this.calls.push('flush');
    cb?.();
  }
  flushSync(): void {
    this.calls.push('flushSync');
  }
}

describe('LineBatcher', () => {
  it('hands lines over as one batch, in order, once they reach the batch size', () => {
    const sink = new RecordingSink();
    const batcher = new LineBatcher(sink, 10);
    batcher.write('aaaa\n');
    batcher.write('bbb\n');
    expect(sink.calls).toEqual([]);
    expect(batcher.pending).toBe(9);
    batcher.write('c\n');
    expect(sink.calls).toEqual(['write:aaaa\nbbb\nc\n']);
    expect(batcher.pending).toBe(0);
  });

  it('flush hands over what waits and starts the write; flushSync writes it before returning', () => {
    const sink = new RecordingSink();
    const batcher = new LineBatcher(sink, 100);
    batcher.write('x\n');
    batcher.flush();
    batcher.flush();
    batcher.write('y\n');
    batcher.flushSync();
    expect(sink.calls).toEqual(['write:x\n', 'flush', 'flush', 'write:y\n', 'flushSync']);
  });

  it('calls back a flush (logger.flush(cb) in pino) once the sink has the lines', () => {
    const sink = new RecordingSink();
    const batcher = new LineBatcher(sink, 100);
    batcher.write('x\n');
    let called = false;
    batcher.flush(() => (called = true));
    expect(sink.calls).toEqual(['write:x\n', 'flush']);
    expect(called).toBe(true);
  });

  it('keeps memory bounded when stdout stops taking lines: past the cap they are dropped', async () => {
    // 200 000 lines of ~500 bytes (~100 MB) into a pipe nobody reads until the child is done.
    const script = `
      import { createLogger } from '@llmgw/observability';
      const log = createLogger();
      const pad = 'x'.repeat(450);
      for (let i = 0; i < 200000; i++) log.info({ i, pad }, 'line');
      process.stderr.write(String(process.memoryUsage().rss));
      process.exit(0);
    `;
    const child = spawn(process.execPath, ['--conditions=source', '--input-type=module', '-e', script], { cwd: new URL('..', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pause();
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    // The child reports its RSS once every line is logged, before it exits (its exit flush
    // waits for the pipe to be read).
    let stderr = '';
    const reported = new Promise<number>((resolve) => child.stderr.on('data', (d: Buffer) => /^\d+$/.test((stderr += d.toString()).trim()) && resolve(Number(stderr.trim()))));
    const rss = await reported;
    child.stdout.resume();
    await exited;
    expect(rss / 1024 / 1024).toBeLessThan(200);
  }, 40_000);

  it('keeps the order of lines when the process exits after flushLogs while the thread pool is busy', async () => {
    // One pool thread, held by a key derivation: a batch's write waits in the queue. Without the
    // awaited flush, the exit's synchronous flush wrote the last lines first.
    const script = `
      import { pbkdf2 } from 'node:crypto';
      import { createLogger, flushLogs } from '@llmgw/observability';
      const log = createLogger();
      pbkdf2('p', 's', 300000, 32, 'sha256', () => {});
      for (let i = 0; i < 201; i++) log.info({ i, pad: 'x'.repeat(200) }, 'line');
      await flushLogs(log, 10000);
      process.exit(0);
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--conditions=source', '--input-type=module', '-e', script], {
      cwd: new URL('..', import.meta.url).pathname,
      env: { ...process.env, UV_THREADPOOL_SIZE: '1' },
    });
    const seen = stdout.trim().split('\n').map((line) => (JSON.parse(line) as { i: number }).i);
    expect(seen).toEqual(Array.from({ length: 201 }, (_, i) => i));
  });

  it('loses no line of a process that logs under load and exits at once (stdout, the default destination)', async () => {
    const script = `
      import { createLogger } from '@llmgw/observability';
      const log = createLogger();
      for (let i = 0; i < 5000; i++) log.info({ i, pad: 'x'.repeat(i % 300) }, 'line');
      process.exit(0);
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--conditions=source', '--input-type=module', '-e', script], {
      cwd: new URL('..', import.meta.url).pathname,
      maxBuffer: 64 * 1024 * 1024,
    });
    const seen = stdout.trim().split('\n').map((line) => (JSON.parse(line) as { i: number }).i);
    expect(seen).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  });
});
