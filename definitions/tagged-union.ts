import {
  Type,
  type TLiteral,
  type TObject,
  type TProperties,
  type TSchema,
  type TUnion,
} from '@sinclair/typebox';

type Tagged = TObject<TProperties & { type: TLiteral<string> }>;

/**
 * A union of objects told apart by their `type` property. Emitted as `oneOf` with an OpenAPI
 * `discriminator`, so AJV reports the errors of the branch the author meant instead of every
 * branch's errors at once.
 *
 * Typed as TypeBox's own `TUnion` (whose JSON would say `anyOf`) so that `Static` resolves
 * through `Type.Recursive`: a `Type.Unsafe` here would make recursive members `never`.
 */
export function TaggedUnion<T extends Tagged[]>(
  branches: [...T],
  options: { title: string; description: string },
): TUnion<T> {
  const union: TSchema = Type.Union(branches, options);
  const schema: Record<string, unknown> = Object.assign({}, union);
  delete schema.anyOf;
  Object.assign(schema, {
    type: 'object',
    required: ['type'],
    properties: { type: { type: 'string', enum: branches.map((b) => b.properties.type.const) } },
    discriminator: { propertyName: 'type' },
    oneOf: branches,
  });
  return schema as unknown as TUnion<T>;
}
