import { randomUUID } from 'node:crypto';
import { Router, type Request } from 'express';
import { authOf } from './auth/context.js';
import { ingest, type EngineDeps, type IncomingMessage } from '../engine/index.js';
import { WEBHOOK_SOURCE_PROPERTY } from '../engine/journeys.js';
import {
  IdentifySchema,
  PageSchema,
  TrackSchema,
  type IdentifyBody,
  type PageBody,
  type TrackBody,
} from './schemas/segment.schema.js';
import { invalidInput } from './problem.js';
import { checkedTraits } from './traits.js';
import { bodyValidator } from './validate-body.js';
import { workspaceOf } from './workspace.js';

const validateIdentify = bodyValidator(IdentifySchema);
const validateTrack = bodyValidator(TrackSchema);
const validatePage = bodyValidator(PageSchema);

/** Segment-compatible ingestion: `identify` and `track`. Answers 200 once the event is stored. */
export function eventsRouter(engine: EngineDeps): Router {
  const router = Router();

  router.post('/v1/identify', async (req, res) => {
    const body = validateIdentify(req.body);
    const workspaceId = workspaceOf(req);
    const message = fromIdentify(body);
    const traits = await checkedTraits(engine.prisma, workspaceId, message.traits, '/traits');
    const result = await ingest(engine, workspaceId, { ...message, traits });
    res.status(200).json(answer(req, result));
  });

  router.post('/v1/track', async (req, res) => {
    const body = validateTrack(req.body);
    const result = await ingest(engine, workspaceOf(req), fromTrack(body));
    res.status(200).json(answer(req, result));
  });

  // Page and screen views, stored as the tracks `page_viewed` and `screen_viewed`.
  for (const type of ['page', 'screen'] as const)
    router.post(`/v1/${type}`, async (req, res) => {
      const body = validatePage(req.body);
      const result = await ingest(engine, workspaceOf(req), fromPage(body, type));
      res.status(200).json(answer(req, result));
    });

  // Calls Segment's libraries can make that Drumbeat has no model for: a clear refusal that
  // clients do not retry, rather than a 404 that reads like a wrong address.
  const unsupported = {
    group: 'Send the company as traits of an identify call (`traits.company`).',
    alias: 'Send an identify call with both `userId` and `anonymousId`: it links the two.',
  };
  for (const [type, instead] of Object.entries(unsupported))
    router.post(`/v1/${type}`, () => {
      throw invalidInput(`Drumbeat does not take \`${type}\` calls.`, [
        { pointer: '', code: 'unsupported-type', message: instead },
      ]);
    });

  return router;
}

/**
 * What an ingest call answers. An `ingest` key (shipped in web pages, readable by anyone) gets
 * only what it sent back: the stored event's id and whether it was new. The contact's id, the
 * journeys it entered and warnings such as `email-taken` would tell a visitor whether someone's
 * address is in the CRM, or that a user was erased.
 */
function answer(req: Request, result: Awaited<ReturnType<typeof ingest>>): Record<string, unknown> {
  if (authOf(req)?.scope === 'ingest')
    return { success: true, eventId: result.eventId, stored: result.stored };
  return { success: true, ...result };
}

export function fromIdentify(body: IdentifyBody): IncomingMessage {
  const { messageId, userId, anonymousId, timestamp } = common(body);
  return {
    messageId,
    userId,
    anonymousId,
    timestamp,
    type: 'identify',
    event: null,
    traits: body.traits ?? {},
    properties: {},
  };
}

export function fromTrack(body: TrackBody): IncomingMessage {
  const { messageId, userId, anonymousId, timestamp } = common(body);
  return {
    messageId,
    userId,
    anonymousId,
    timestamp,
    type: 'track',
    event: body.event,
    traits: {},
    properties: withoutReserved(body.properties ?? {}),
  };
}

/**
 * The properties a client sent, less the one only inbound webhook calls may set
 * ({@link WEBHOOK_SOURCE_PROPERTY}): a track naming a source would start its webhook journeys.
 */
export function withoutReserved(
  properties: Readonly<Record<string, unknown>>,
): Readonly<Record<string, unknown>> {
  if (!Object.hasOwn(properties, WEBHOOK_SOURCE_PROPERTY)) return properties;
  const { [WEBHOOK_SOURCE_PROPERTY]: _reserved, ...rest } = properties;
  return rest;
}

/**
 * What every message has. Its callers copy the fields out by name: spreading the returned
 * object (`{ ...common(body), … }`) took V8 about 3.5 µs a message, ten times the rest of the
 * conversion, and `batch` converts a hundred of them a request.
 */
export function common(body: IdentifyBody | TrackBody) {
  const userId = body.userId ?? null;
  const anonymousId = body.anonymousId ?? null;
  if (userId === null && anonymousId === null) {
    throw invalidInput('Say who this is about.', [
      {
        pointer: '/userId',
        code: 'required',
        message: 'Either `userId` or `anonymousId` is required.',
      },
    ]);
  }
  return {
    messageId: body.messageId ?? randomUUID(),
    userId,
    anonymousId,
    timestamp: body.timestamp ? new Date(body.timestamp) : new Date(),
  };
}

/** A page or screen view: the track `page_viewed` / `screen_viewed`, its name a property. */
export function fromPage(body: PageBody, type: 'page' | 'screen'): IncomingMessage {
  return fromTrack({
    ...body,
    event: type === 'page' ? 'page_viewed' : 'screen_viewed',
    properties: { ...(body.name ? { name: body.name } : {}), ...(body.properties ?? {}) },
  });
}
