import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { buildTimeline, type MrrTimeline, monthsEndingAt, type SubscriptionEventRecord } from './mrr-movements.ts';
import {
  type EmailBook,
  readEmailBook,
  readEmails,
  readEventsVersion,
  readInvoicesVersion,
  readSubscriptionEvents,
  readUsage,
  readUsageVersion,
} from './queries.ts';
import type { UsageRecord } from './usage-report.ts';

/**
 * The rows every report replays — the subscription event history and a month's usage — kept in
 * memory between requests and re-read only when the database's copy changed. Each request first
 * asks the database for a fingerprint of the rows (count, sums; answered from an index in a few
 * milliseconds) and reuses the cached rows when it matches. Events are only ever appended and usage
 * counters only grow, so any write changes the fingerprint; every server process keeps its own
 * cache and checks it against the shared database, so several servers stay consistent.
 *
 * CSV exports (every row: tens of thousands at 100,000 accounts, with an e-mail address looked up
 * for each) are kept the same way, against the fingerprints of everything a report can read.
 */

/** The length of a series when none is asked for (the dashboard's charts). */
export const SERIES_MONTHS = 12;
const KEPT_TIMELINES = 16;
const KEPT_USAGE_MONTHS = 4;
const KEPT_EXPORTS = 8;
const FEW_ACCOUNTS = 200;

export class ReportData {
  private events: {
    version: string;
    rows: Promise<SubscriptionEventRecord[]>;
    /** Promises, so the dashboard's five requests for one new month replay it once between them. */
    timelines: Map<string, Promise<MrrTimeline>>;
  } | null = null;
  private readonly usage = new Map<string, { version: string; rows: Promise<UsageRecord[]> }>();
  private readonly exports = new Map<string, { version: string; text: string }>();
  private emailBook: EmailBook | null = null;

  constructor(private readonly db: Kysely<Database>) {}

  /** Each account's MRR and tier at every boundary of `months` (consecutive, oldest first). */
  async timeline(months: readonly string[]): Promise<MrrTimeline> {
    const version = await readEventsVersion(this.db);
    if (this.events?.version !== version) {
      // Shared by concurrent requests; forgotten if the read fails so the next request retries.
      const rows = readSubscriptionEvents(this.db);
      const entry = { version, rows, timelines: new Map<string, Promise<MrrTimeline>>() };
      rows.catch(() => {
        if (this.events === entry) this.events = null;
      });
      this.events = entry;
    }
    const cache = this.events;
    const key = months.join(',');
    let timeline = cache.timelines.get(key);
    if (!timeline) {
      timeline = cache.rows.then((rows) => buildTimeline(rows, months));
      if (cache.timelines.size >= KEPT_TIMELINES) cache.timelines.clear();
      cache.timelines.set(key, timeline);
    }
    return timeline;
  }

  /**
   * The timeline of the series that ends with `month` (the dashboard's twelve months), and the
   * month's index in it: the summary, usage and LTV of a month share one replay with its chart.
   */
  async monthTimeline(month: string): Promise<{ timeline: MrrTimeline; index: number }> {
    const months = monthsEndingAt(month, SERIES_MONTHS);
    return { timeline: await this.timeline(months), index: months.length - 1 };
  }

  /** Reads what the first dashboard load and the first export of `month` need, ahead of them. */
  async warmUp(month: string): Promise<void> {
    await this.monthTimeline(month);
    this.emailBook ??= await readEmailBook(this.db);
  }

  /** The month's usage counters with any use. */
  async usageOf(month: string): Promise<UsageRecord[]> {
    const version = await readUsageVersion(this.db, month);
    const cached = this.usage.get(month);
    if (cached?.version === version) return cached.rows;
    const rows = readUsage(this.db, month);
    if (this.usage.size >= KEPT_USAGE_MONTHS) this.usage.clear();
    const entry = { version, rows };
    this.usage.set(month, entry);
    rows.catch(() => {
      if (this.usage.get(month) === entry) this.usage.delete(month);
    });
    return rows;
  }

  /**
   * E-mail addresses of accounts: looked up one by one for a page of a list; for a whole export
   * (tens of thousands) from an address book read once and then topped up with the accounts created
   * since. Addresses are never edited, so a book entry never goes stale; an account it lacks (one
   * created with an older timestamp by another server process) makes it read everything again.
   */
  async emailsOf(accountIds: readonly string[]): Promise<Map<string, string>> {
    if (accountIds.length <= FEW_ACCOUNTS) return readEmails(this.db, accountIds);
    const complete = (book: EmailBook) => accountIds.every((id) => book.emails.has(id));
    let book = this.emailBook ?? (await readEmailBook(this.db));
    if (!complete(book)) book = await readEmailBook(this.db, book);
    if (!complete(book)) book = await readEmailBook(this.db);
    this.emailBook = book;
    return book.emails;
  }

  /** An export of `month`, built by `build` unless the same one was built from the same data. */
  async export(key: string, month: string, build: () => Promise<string>): Promise<string> {
    // Accounts are not fingerprinted: an export lists an account only for its events, invoices or
    // usage, and its e-mail address never changes.
    const versions = await Promise.all([
      readEventsVersion(this.db),
      readUsageVersion(this.db, month),
      readInvoicesVersion(this.db),
    ]);
    const version = versions.join('|');
    const cached = this.exports.get(key);
    if (cached?.version === version) return cached.text;
    const text = await build();
    if (this.exports.size >= KEPT_EXPORTS) this.exports.clear();
    this.exports.set(key, { version, text });
    return text;
  }
}
