import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config/index.js';

describe('API configuration', () => {
  it('reports every bad API variable at once and refuses to start', () => {
    let error: unknown;
    try {
      loadConfig({
        LOG_LEVEL: 'chatty',
        RATE_LIMIT_PER_SECOND: '-1',
        RATE_LIMIT_BURST: 'lots',
        BODY_LIMIT_KB: '0',
        METRICS_TOKEN: 'short',
        PUBLIC_URL: 'ftp://example.com',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of [
      'LOG_LEVEL',
      'RATE_LIMIT_PER_SECOND',
      'RATE_LIMIT_BURST',
      'BODY_LIMIT_KB',
      'METRICS_TOKEN',
      'PUBLIC_URL',
    ])
      expect(problems).toContain(name);
  });

  it('has defaults that need nothing set', () => {
    const config = loadConfig({ SECRET_KEY: 'k'.repeat(40) });
    expect(config).toMatchObject({
      logLevel: 'info',
      metricsToken: null,
      rateLimit: { perSecond: 1000, burst: 2000 },
      bodyLimitKb: 512,
    });
  });
});
