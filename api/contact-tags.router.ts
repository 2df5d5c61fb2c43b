import { Router } from 'express';
import type { EngineDeps } from '../engine/index.js';
import { findContact } from '../engine/contacts/find.js';
import { changeTags } from '../engine/contacts/tags.js';
import { invalidInput, notFound } from './problem.js';
import { TagsSchema } from './schemas/contacts.schema.js';
import { bodyValidator } from './validate-body.js';
import { workspaceOf } from './workspace.js';

const readTags = bodyValidator(TagsSchema);

/** Tags of one contact: add several, remove one; each change is on the contact's timeline. */
export function contactTagsRouter(engine: EngineDeps): Router {
  const router = Router();

  router.post('/v1/contacts/:idOrUserId/tags', async (req, res) => {
    const workspaceId = workspaceOf(req);
    const key = req.params.idOrUserId;
    const contact = await findContact(engine.prisma, workspaceId, key, { writable: true });
    if (!contact) throw notFound(`Contact \`${key}\``);
    const { tags } = readTags(req.body);
    const add = tags.map((t) => t.trim());
    const blank = add.findIndex((t) => t === '');
    if (blank >= 0)
      throw invalidInput('A tag cannot be blank.', [
        { pointer: `/tags/${blank}`, code: 'blank', message: 'A tag needs at least one letter.' },
      ]);
    const outcome = await changeTags(engine, workspaceId, contact.id, { add, remove: [] }, 'api');
    if (outcome.kind === 'contact-not-found') throw notFound(`Contact \`${key}\``);
    res.json({ contactId: contact.id, tags: outcome.tags, changed: outcome.changed });
  });

  /** Removing a tag the contact does not have changes nothing and is not an error. */
  router.delete('/v1/contacts/:idOrUserId/tags/:tag', async (req, res) => {
    const workspaceId = workspaceOf(req);
    const key = req.params.idOrUserId;
    const contact = await findContact(engine.prisma, workspaceId, key, { writable: true });
    if (!contact) throw notFound(`Contact \`${key}\``);
    const outcome = await changeTags(
      engine,
      workspaceId,
      contact.id,
      { add: [], remove: [req.params.tag] },
      'api',
    );
    if (outcome.kind === 'contact-not-found') throw notFound(`Contact \`${key}\``);
    res.json({ contactId: contact.id, tags: outcome.tags, changed: outcome.changed });
  });

  return router;
}
