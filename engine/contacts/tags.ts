import type { EngineDeps } from '../deps.js';
import { isRecord } from '../contact-view.js';
import { journeyInterest } from '../journeys.js';
import { toJson } from '../json.js';
import { routeChanges } from '../route-stored.js';
import { storeChangeEvent } from './change-event.js';
import { lockContact, recordChange } from './changes.js';

export type TagsOutcome =
  | { readonly kind: 'changed'; readonly tags: readonly string[]; readonly changed: boolean }
  | { readonly kind: 'contact-not-found' };

/**
 * Adds and removes tags under a lock on the contact, so concurrent changes all land, and
 * records the change for the timeline. Tags stay in `attributes.tags`, where conditions
 * (`tags`), scoring and templates read them. `alongside` sets attributes in the same write
 * (undefined removes one): a reader never sees the tag without them. A change is announced to
 * journeys (`$contact_changed`, routed once it commits) unless `announce` is false: a caller that
 * records an event of its own for it (an unsubscribe), which journeys hear instead.
 */
export async function changeTags(
  deps: EngineDeps,
  workspaceId: string,
  contactId: string,
  change: { readonly add: readonly string[]; readonly remove: readonly string[] },
  source: string,
  alongside: Readonly<Record<string, unknown>> = {},
  { announce = true }: { readonly announce?: boolean } = {},
): Promise<TagsOutcome> {
  const interest = announce ? await journeyInterest(deps, workspaceId) : null;
  const outcome = await deps.prisma.$transaction(async (tx) => {
    await lockContact(tx, contactId);
    const contact = await tx.contact.findFirst({ where: { id: contactId, workspaceId } });
    if (!contact) return { kind: 'contact-not-found' } as const;
    const attributes = isRecord(contact.attributes) ? { ...contact.attributes } : {};
    const before = tagsOf(attributes.tags);
    const after = [
      ...new Set([...before.filter((t) => !change.remove.includes(t)), ...change.add]),
    ];
    const changed = await recordChange(tx, {
      workspaceId,
      contactId,
      attribute: 'tags',
      before,
      after,
      source,
    });
    const next: Record<string, unknown> = { ...attributes, tags: after };
    for (const [key, value] of Object.entries(alongside))
      if (value === undefined) delete next[key];
      else next[key] = value;
    const alsoChanged = Object.keys(alongside).filter((key) => attributes[key] !== alongside[key]);
    if (!changed && alsoChanged.length === 0)
      return { kind: 'changed', tags: after, changed, event: null } as const;
    await tx.contact.update({
      where: { id: contactId },
      data: { attributes: toJson(next) },
    });
    const event = announce
      ? await storeChangeEvent(
          tx,
          {
            workspaceId,
            contactId,
            attributes: [...(changed ? ['tags'] : []), ...alsoChanged],
            source,
          },
          interest,
        )
      : null;
    return { kind: 'changed', tags: after, changed, event } as const;
  });
  if (outcome.kind !== 'changed') return outcome;
  if (outcome.event) await routeChanges(deps, [outcome.event]);
  return { kind: 'changed', tags: outcome.tags, changed: outcome.changed };
}

export function tagsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((t): t is string => typeof t === 'string') : [];
}
