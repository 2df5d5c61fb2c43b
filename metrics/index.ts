import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics for the whole process, served at `/metrics`. Other folders increment the
 * counters below; the names follow Prometheus conventions (`_total` for counters, base units).
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'drumbeat_process_' });

export const httpRequests = new Counter({
  name: 'drumbeat_http_requests_total',
  help: 'HTTP requests answered, by method, route pattern and status code.',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
});

export const httpRequestSeconds = new Histogram({
  name: 'drumbeat_http_request_duration_seconds',
  help: 'Time to answer HTTP requests, by method and route pattern.',
  labelNames: ['method', 'route'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

export const eventsIngested = new Counter({
  name: 'drumbeat_events_ingested_total',
  help: 'Events stored (duplicates by messageId not counted), by type and source (api, webhook).',
  labelNames: ['type', 'source'] as const,
  registers: [registry],
});

export const scoreLagSeconds = new Histogram({
  name: 'drumbeat_score_lag_seconds',
  help: 'Time from accepting a bulk-ingested event to its score being committed by the background scorer.',
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const enrollmentsByState = new Gauge({
  name: 'drumbeat_enrollments',
  help: 'Enrollments by state, read from the database when scraped.',
  labelNames: ['state'] as const,
  registers: [registry],
});

export const emailsSent = new Counter({
  name: 'drumbeat_emails_sent_total',
  help: 'Emails handed to the mail relay.',
  labelNames: ['template'] as const,
  registers: [registry],
});

export const deferrals = new Counter({
  name: 'drumbeat_deferrals_total',
  help: 'Sends deferred (quiet hours, send windows, frequency caps), by reason.',
  labelNames: ['reason'] as const,
  registers: [registry],
});

export const activityFailures = new Counter({
  name: 'drumbeat_activity_failures_total',
  help: 'Temporal activity attempts that failed, by activity type.',
  labelNames: ['activity'] as const,
  registers: [registry],
});

export const webhooksReceived = new Counter({
  name: 'drumbeat_webhooks_received_total',
  help: 'Inbound webhook requests, by outcome (accepted, duplicate, unverified, invalid).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const rateLimited = new Counter({
  name: 'drumbeat_rate_limited_total',
  help: 'Requests refused with 429, by what was limited (key, source).',
  labelNames: ['by'] as const,
  registers: [registry],
});

export const unreadableJourneys = new Counter({
  name: 'drumbeat_unreadable_journeys_total',
  help: 'Active journey versions left out of routing because their stored plan cannot be read (an older format, or damaged): once per version and process.',
  registers: [registry],
});
