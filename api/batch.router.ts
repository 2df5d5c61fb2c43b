import { eventsIngested } from '../metrics/index.js';
import { authOf } from './auth/context.js';
import { Router } from 'express';
import {
  acceptMessages,
  routeInBackground,
  type EngineDeps,
  type IncomingMessage,
} from '../engine/index.js';
import { fromIdentify, fromPage, fromTrack } from './events.router.js';
import { HttpProblem, invalidInput, type ProblemItem } from './problem.js';
import { BatchSchema, IdentifySchema, PageSchema, TrackSchema } from './schemas/segment.schema.js';
import { attributeSchema } from '../engine/contacts/attribute-schema.js';
import { checkedWith } from './traits.js';
import { bodyValidator } from './validate-body.js';
import { workspaceOf } from './workspace.js';

const validateBatch = bodyValidator(BatchSchema);
const validateIdentify = bodyValidator(IdentifySchema);
const validateTrack = bodyValidator(TrackSchema);
const validatePage = bodyValidator(PageSchema);

export interface BatchRouterOptions {
  /** Test hook: exit right after answering, before routing (proves nothing accepted is lost). */
  readonly exitBeforeRouting?: boolean;
}

/**
 * Segment's `batch` (and `import`, its alias in stock clients): the good messages are stored and
 * deduplicated before the answer, the bad ones are listed one by one (index, JSON pointer,
 * reason). Scoring (engine/scorer.ts) and then routing follow the answer; the events are durable
 * by then, and score reads wait for the scorer, so a client reads what it wrote.
 */
export function batchRouter(engine: EngineDeps, options: BatchRouterOptions = {}): Router {
  const router = Router();
  router.post(['/v1/batch', '/v1/import'], async (req, res) => {
    const body = validateBatch(req.body);
    const receivedAt = new Date();
    const good: { index: number; message: IncomingMessage }[] = [];
    const errors: (ProblemItem & { index: number })[] = [];
    // Traits are checked against the workspace's declared attributes, message by message.
    const schema = await attributeSchema(engine.prisma, workspaceOf(req));
    body.batch.forEach((raw, index) => {
      try {
        const message = toMessage(raw);
        const traits =
          message.type === 'identify' ? checkedWith(schema, message.traits, '/traits') : null;
        good.push({ index, message: traits ? { ...message, traits } : message });
      } catch (error) {
        if (!(error instanceof HttpProblem)) throw error;
        for (const e of error.errors)
          errors.push({ ...e, index, pointer: `/batch/${index}${e.pointer}` });
      }
    });
    if (good.length === 0) {
      throw invalidInput(
        'No message in the batch could be accepted.',
        errors.map((e) => ({ pointer: e.pointer, code: e.code, message: e.detail })),
      );
    }
    const accepted = await acceptMessages(
      engine,
      workspaceOf(req),
      good.map((g) => g.message),
      receivedAt,
      'later',
    );
    // One counter update per type, not per message (a label lookup each).
    const stored = new Map<string, number>();
    good.forEach((g, i) => {
      if (accepted.messages[i]?.stored)
        stored.set(g.message.type, (stored.get(g.message.type) ?? 0) + 1);
    });
    for (const [type, n] of stored) eventsIngested.inc({ type, source: 'api' }, n);
    res.status(200).json({
      success: true,
      accepted: accepted.messages.filter((m) => m.stored).length,
      duplicates: accepted.messages.filter((m) => !m.stored).length,
      rejected: errors.length === 0 ? 0 : new Set(errors.map((e) => e.index)).size,
      ...(errors.length > 0 ? { errors } : {}),
      // Warnings name other people's data (an email someone holds): not for an ingest key.
      ...(authOf(req)?.scope === 'ingest' ? {} : warningsOf(accepted.messages, good)),
    });
    if (options.exitBeforeRouting) {
      res.once('finish', () => process.exit(137));
      return;
    }
    void routeInBackground(engine, accepted.newEventIds);
  });
  return router;
}

function toMessage(raw: { type: string }): IncomingMessage {
  switch (raw.type) {
    case 'identify':
      return fromIdentify(validateIdentify(raw));
    case 'track':
      return fromTrack(validateTrack(raw));
    case 'page':
    case 'screen':
      return fromPage(validatePage(raw), raw.type);
    default:
      throw invalidInput('Unsupported message type.', [
        {
          pointer: '/type',
          code: 'unsupported-type',
          message: `Messages of type \`${raw.type}\` are not accepted here; send identify, track, page or screen.`,
        },
      ]);
  }
}

function warningsOf(
  messages: readonly { warning: string | null }[],
  good: readonly { index: number }[],
): { warnings?: { index: number; code: string }[] } {
  const warnings = messages.flatMap((m, i) =>
    m.warning ? [{ index: good[i]?.index ?? i, code: m.warning }] : [],
  );
  return warnings.length > 0 ? { warnings } : {};
}
