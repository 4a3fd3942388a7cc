import { describe, expect, it } from 'vitest';
import { KeyedQueue } from '../../../src-server/payments/keyed-queue.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('KeyedQueue (one customer’s webhook events at a time)', () => {
  it('runs work for one key in arrival order, never overlapping', async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    let running = 0;
    const job = (name: string) => async () => {
      running += 1;
      expect(running).toBe(1);
      log.push(`start ${name}`);
      await tick();
      log.push(`end ${name}`);
      running -= 1;
      return name;
    };
    const results = await Promise.all([
      queue.run('cus_1', job('a')),
      queue.run('cus_1', job('b')),
      queue.run('cus_1', job('c')),
    ]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('lets different keys run side by side', async () => {
    const queue = new KeyedQueue();
    let release: () => void = () => {};
    const blocked = queue.run('cus_1', () => new Promise<string>((resolve) => (release = () => resolve('slow'))));
    await expect(queue.run('cus_2', async () => 'fast')).resolves.toBe('fast');
    release();
    await expect(blocked).resolves.toBe('slow');
  });

  it('a failure is reported to its caller and does not stop the next job', async () => {
    const queue = new KeyedQueue();
    const failing = queue.run('cus_1', async () => {
      throw new Error('stripe down');
    });
    const next = queue.run('cus_1', async () => 'applied');
    await expect(failing).rejects.toThrow('stripe down');
    await expect(next).resolves.toBe('applied');
  });
});
