/** A source's allowance: `perSecond` sustained, `burst` at once. */
export interface Rate {
  perSecond: number;
  burst: number;
}

/**
 * Token buckets keyed by source. `take` answers how many seconds to wait when the bucket is
 * empty (the `Retry-After` value), or 0 when the request may proceed.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  take(key: string, { perSecond, burst }: Rate): number {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond));
  }
}
