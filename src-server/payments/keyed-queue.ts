/**
 * Runs async work one at a time per key, in arrival order. Webhook events about one customer are
 * applied in sequence, so a slower read of Stripe's state can never be written after a newer one.
 * (Across several server processes the re-read on every event still converges on Stripe's state.)
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
