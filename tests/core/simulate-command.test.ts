import { afterEach, describe, expect, it, vi } from 'vitest';
import { simulateCommand } from '../../bin/simulate.command.js';
import { loadConfig } from '../../config/index.js';

/** `drumbeat simulate` runs as many contacts as it accepts (up to a million). */
describe('drumbeat simulate', () => {
  afterEach(() => vi.restoreAllMocks());

  it('reports a run whose actions outnumber what a function call can take as arguments', async () => {
    const printed: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      printed.push(args.join(' '));
    });
    // Two emails each: 300,000 actions (Math.max(...actions) threw a RangeError).
    const code = await simulateCommand(loadConfig({}), 'examples/welcome-series.json', {
      contacts: '150000',
    });
    expect(code).toBe(0);
    expect(printed.join('\n')).toContain('welcome (sendEmail): 150000, tips (sendEmail): 150000');
  });
});
