import { Type, type Static, type TLiteral, type TObject, type TProperties } from '@sinclair/typebox';

type Tagged = TObject<TProperties & { type: TLiteral<string> }>;

/**
 * A union of objects told apart by their `type` property. Emitted as `oneOf` with an OpenAPI
 * `discriminator`, so AJV reports the errors of the branch the author meant instead of every
 * branch's errors at once.
 */
export function TaggedUnion<T extends Tagged[]>(branches: [...T], options: { title: string; description: string }) {
  return Type.Unsafe<Static<T[number]>>({
    ...options,
    type: 'object',
    required: ['type'],
    properties: { type: { type: 'string', enum: branches.map((b) => b.properties.type.const) } },
    discriminator: { propertyName: 'type' },
    oneOf: branches,
  });
}
