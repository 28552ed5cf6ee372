type Obj = Record<string, unknown>;

/**
 * OpenAPI says a `discriminator` without `mapping` uses the *schema names* as values
 * (`type: "ResponseFormatText"`), which openapi-typescript follows faithfully. The contract's
 * members each pin the property with `const` (`type: const: text`), which is what goes on the
 * wire, so we add the mapping those consts imply. Returns the names of the schemas it completed;
 * a member without a const leaves its discriminator untouched.
 */
export function addConstDiscriminatorMappings(doc: Obj): string[] {
  const schemas = ((doc.components as Obj | undefined)?.schemas ?? {}) as Record<string, Obj>;
  const completed: string[] = [];
  for (const [name, schema] of Object.entries(schemas)) {
    const discriminator = schema.discriminator as { propertyName?: string; mapping?: Record<string, string> } | undefined;
    const members = (schema.oneOf ?? schema.anyOf) as { $ref?: string }[] | undefined;
    if (!discriminator?.propertyName || discriminator.mapping || !Array.isArray(members)) continue;
    const mapping: Record<string, string> = {};
    for (const member of members) {
      const target = member.$ref ? schemas[member.$ref.split('/').pop()!] : undefined;
      const prop = (target?.properties as Record<string, Obj> | undefined)?.[discriminator.propertyName];
      if (!member.$ref || typeof prop?.const !== 'string') {
        Object.keys(mapping).forEach((k) => delete mapping[k]);
        break;
      }
      mapping[prop.const] = member.$ref;
    }
    if (Object.keys(mapping).length === members.length) {
      discriminator.mapping = mapping;
      completed.push(name);
    }
  }
  return completed;
}
