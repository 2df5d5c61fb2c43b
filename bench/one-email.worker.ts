import { fileURLToPath } from 'node:url';
import { NativeConnection, Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import nodemailer from 'nodemailer';

/**
 * The execution bench's second baseline, run as its own process like Drumbeat's worker: a
 * Temporal worker for `oneEmailWorkflow`, whose local activity sends one fixed email through a
 * pooled Nodemailer transport. Reads TEMPORAL_ADDRESS, TASK_QUEUE and SMTP_URL; prints `ready`.
 */
const HTML = `<html><body><h1>Welcome</h1>${'<p>Thanks for signing up. Here is what to do next.</p>'.repeat(30)}</body></html>`;

export interface OneEmailActivities {
  sendOne(to: string): Promise<void>;
}

const transport = nodemailer.createTransport({ url: process.env.SMTP_URL ?? '', pool: true });
const activities: OneEmailActivities = {
  async sendOne(to) {
    await transport.sendMail({
      from: 'Bench <bench@localhost>',
      to,
      subject: 'Welcome',
      html: HTML,
      text: 'Thanks for signing up.',
    });
  },
};

Runtime.install({ logger: new DefaultLogger('WARN') });
const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '' });
const worker = await Worker.create({
  connection,
  taskQueue: process.env.TASK_QUEUE ?? 'bench-one-email',
  workflowsPath: fileURLToPath(new URL('./one-email.workflow.ts', import.meta.url)),
  activities,
  maxCachedWorkflows: 500,
});
process.once('SIGTERM', () => worker.shutdown());
console.log('ready');
await worker.run();
transport.close();
await connection.close();
