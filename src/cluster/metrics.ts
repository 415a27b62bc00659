// /metrics for the whole process group under `serve --workers N`. Each worker counts in its own
// prom-client registry and the shared port hands a scrape to any one of them, so a worker asks the
// primary over IPC; the primary collects every serving worker's metrics as JSON and merges them with
// prom-client's aggregators: counters and histograms summed, gauges summed unless the metric names
// another aggregator (a value every worker measures alike, such as the usage stream length, says
// `max`). A single process, or a worker without a primary, answers from its own registry.
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, Gauge, type Registry } from 'prom-client';

type ScrapeMessage =
  | { type: 'tollgate:scrape' }
  | { type: 'tollgate:collect'; id: number }
  | { type: 'tollgate:collected'; id: number; metrics: object[] }
  | { type: 'tollgate:collect-failed'; id: number; error: string }
  | { type: 'tollgate:scraped'; text: string }
  | { type: 'tollgate:scrape-failed'; error: string };

const isScrapeMessage = (message: unknown): message is ScrapeMessage =>
  typeof message === 'object' && message !== null && String((message as { type?: unknown }).type).startsWith('tollgate:');

// A worker that has not answered by then fails the scrape: partial counters would look to
// Prometheus like a counter reset. The worker's own bound is longer, so the primary's answer wins.
const collectTimeoutMs = 2_000;
const scrapeTimeoutMs = collectTimeoutMs + 1_000;

export type Scrape = () => Promise<string>;

// The text for GET /metrics. Installs the worker's answer to the primary's collect requests, so
// call it once per registry at start-up, before the worker serves.
export function createScrape(registry: Registry): Scrape {
  if (!cluster.isWorker) return () => registry.metrics();
  let inFlight: { resolve(text: string): void; reject(error: Error): void } | undefined;
  let shared: Promise<string> | undefined;

  process.on('message', (message: unknown) => {
    if (!isScrapeMessage(message)) return;
    if (message.type === 'tollgate:collect') {
      const { id } = message;
      registry.getMetricsAsJSON().then(
        (metrics) => process.send?.({ type: 'tollgate:collected', id, metrics } satisfies ScrapeMessage),
        (error: unknown) => process.send?.({ type: 'tollgate:collect-failed', id, error: String(error) } satisfies ScrapeMessage),
      );
    } else if (message.type === 'tollgate:scraped') {
      inFlight?.resolve(message.text);
    } else if (message.type === 'tollgate:scrape-failed') {
      inFlight?.reject(new Error(`metrics scrape failed: ${message.error}`));
    }
  });

  // Concurrent scrapes of one worker share one request to the primary: at most one is in flight.
  return () =>
    (shared ??= new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => inFlight?.reject(new Error(`the primary did not answer a metrics scrape within ${scrapeTimeoutMs} ms`)), scrapeTimeoutMs);
      const settle = () => {
        clearTimeout(timer);
        inFlight = undefined;
        shared = undefined;
      };
      inFlight = {
        resolve: (text) => (settle(), resolve(text)),
        reject: (error) => (settle(), reject(error)),
      };
      process.send?.({ type: 'tollgate:scrape' } satisfies ScrapeMessage);
    }));
}

interface Collection {
  id: number;
  pending: Set<Worker>;
  responses: object[][];
  waiting: Set<Worker>;
  timer: NodeJS.Timeout | undefined;
}

// In the primary: answers workers' scrapes. One collection runs at a time; a scrape that arrives
// meanwhile is answered with it, so the waiting set is bounded by the number of workers.
export function serveScrapes(isServing: (worker: Worker) => boolean): void {
  let nextId = 0;
  let collection: Collection | undefined;

  // Answers the collection's waiting workers once; a late timer or result for it does nothing.
  const answer = (current: Collection, message: ScrapeMessage) => {
    if (collection !== current) return;
    clearTimeout(current.timer);
    collection = undefined;
    for (const worker of current.waiting) if (worker.isConnected()) worker.send(message);
  };

  const finishIfComplete = async () => {
    const current = collection;
    if (!current || current.pending.size > 0) return;
    try {
      const merged = AggregatorRegistry.aggregate(current.responses);
      new Gauge({ name: 'tollgate_workers_scraped', help: 'Worker processes whose metrics are merged into this scrape.', registers: [merged] }).set(current.responses.length);
      answer(current, { type: 'tollgate:scraped', text: await merged.metrics() });
    } catch (error) {
      answer(current, { type: 'tollgate:scrape-failed', error: (error as Error).message });
    }
  };

  const collect = (requester: Worker) => {
    if (collection) {
      collection.waiting.add(requester);
      return;
    }
    const id = nextId++;
    const targets = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected() && isServing(w));
    const current: Collection = { id, pending: new Set(targets), responses: [], waiting: new Set([requester]), timer: undefined };
    current.timer = setTimeout(() => answer(current, { type: 'tollgate:scrape-failed', error: `${current.pending.size} worker(s) did not report within ${collectTimeoutMs} ms` }), collectTimeoutMs);
    collection = current;
    for (const worker of targets) worker.send({ type: 'tollgate:collect', id } satisfies ScrapeMessage);
    void finishIfComplete();
  };

  cluster.on('message', (worker, message: unknown) => {
    if (!isScrapeMessage(message)) return;
    if (message.type === 'tollgate:scrape') collect(worker);
    else if (message.type === 'tollgate:collected' && collection?.id === message.id && collection.pending.delete(worker)) {
      collection.responses.push(message.metrics);
      void finishIfComplete();
    } else if (message.type === 'tollgate:collect-failed' && collection?.id === message.id) {
      answer(collection, { type: 'tollgate:scrape-failed', error: `worker ${worker.id}: ${message.error}` });
    }
  });

  // A worker that exits mid-collection takes its counters with it; the others still answer.
  cluster.on('exit', (worker) => {
    if (collection?.pending.delete(worker)) void finishIfComplete();
    collection?.waiting.delete(worker);
  });
}
