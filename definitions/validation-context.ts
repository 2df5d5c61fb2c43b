/**
 * What validation may know about the world outside the document. Every part is optional: a
 * check whose knowledge is missing is skipped, so a definition can be validated offline.
 */
export type AttributeType = 'string' | 'number' | 'boolean' | 'date' | 'list';

export interface ValidationContext {
  readonly templateExists?: (name: string) => boolean;
  /** Variables a template uses, such as `contact.firstName`; undefined when unknown. */
  readonly templateVariables?: (name: string) => readonly string[] | undefined;
  readonly journeyExists?: (id: string) => boolean;
  /** True for a journey that exists but is archived: no one can be enrolled in it. */
  readonly journeyArchived?: (id: string) => boolean;
  /**
   * True for a journey that exists only as a draft: no one can be enrolled in it until it is
   * published. Left out when a draft is saved, since drafts may name each other.
   */
  readonly journeyUnpublished?: (id: string) => boolean;
  readonly teamExists?: (id: string) => boolean;
  readonly userExists?: (idOrEmail: string) => boolean;
  /** The contact attribute schema: name to type. Enables type and variable checks. */
  readonly contactAttributes?: Readonly<Record<string, AttributeType>>;
  /**
   * Whether contacts hold only the attributes above (`reject`, the default) or may hold others
   * too (`store`, a workspace that stores undeclared traits): then a name not declared is no
   * problem, and only declared ones are checked for their type.
   */
  readonly unknownAttributes?: 'reject' | 'store';
}

/** Fields every contact has, whatever its custom attributes (see `engine/contact-view.ts`). */
export const BUILT_IN_ATTRIBUTES: Readonly<Record<string, AttributeType>> = {
  id: 'string',
  userId: 'string',
  email: 'string',
  firstName: 'string',
  lastName: 'string',
  first_name: 'string',
  last_name: 'string',
  name: 'string',
  lifecycleStage: 'string',
  tags: 'list',
  timezone: 'string',
  locale: 'string',
  createdAt: 'date',
  updatedAt: 'date',
};

export function attributeType(context: ValidationContext, name: string): AttributeType | undefined {
  if (Object.hasOwn(BUILT_IN_ATTRIBUTES, name)) return BUILT_IN_ATTRIBUTES[name];
  const attrs = context.contactAttributes;
  return attrs && Object.hasOwn(attrs, name) ? attrs[name] : undefined;
}

/** A contact attribute the schema knows contacts cannot have (never, without a schema). */
export function isUnknownAttribute(context: ValidationContext, name: string): boolean {
  return (
    context.contactAttributes !== undefined &&
    context.unknownAttributes !== 'store' &&
    attributeType(context, name) === undefined
  );
}
